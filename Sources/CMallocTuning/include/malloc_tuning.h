#ifndef FLEET_MALLOC_TUNING_H
#define FLEET_MALLOC_TUNING_H

/// 1 when the agent's malloc settings were applied at load time; 0 when the environment
/// (MALLOC_ARENA_MAX or GLIBC_TUNABLES) chose its own, or this is not glibc.
int fleet_malloc_tuning_applied(void);

/// Returns free heap pages of every arena to the system (glibc's malloc_trim); 0 elsewhere.
int fleet_malloc_release_free(void);

#endif
