// glibc's defaults suit a server with many busy threads, not an agent that should stay small:
// up to 8 arenas per core, each keeping what it once held, and a dynamic mmap threshold that
// climbs after the first large free so later big buffers land in (and stay in) the arenas.
// Streaming 270 MB left ~74 MB of heap behind in 8 arenas; two arenas, a fixed 256 KiB mmap
// threshold and a 1 MiB trim threshold leave ~24 MB. This runs as a load-time constructor
// because arenas are created by the first threads, before any Swift code runs.
#include "malloc_tuning.h"

#include <stdlib.h>

#if defined(__GLIBC__)
#include <malloc.h>

static int applied = 0;

__attribute__((constructor)) static void fleet_tune_malloc(void) {
    // An operator's own setting wins.
    if (getenv("MALLOC_ARENA_MAX") != NULL || getenv("GLIBC_TUNABLES") != NULL) return;
    applied = mallopt(M_ARENA_MAX, 2) == 1 && mallopt(M_MMAP_THRESHOLD, 256 * 1024) == 1
        && mallopt(M_TRIM_THRESHOLD, 1024 * 1024) == 1;
}

int fleet_malloc_tuning_applied(void) { return applied; }

int fleet_malloc_release_free(void) { return malloc_trim(0); }

#else

int fleet_malloc_tuning_applied(void) { return 0; }

int fleet_malloc_release_free(void) { return 0; }

#endif
