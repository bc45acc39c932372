#ifndef FLEET_AGENT_VERSION_STAMP_H
#define FLEET_AGENT_VERSION_STAMP_H

/// The agent's version: the NUL-terminated text after the stamp's marker.
const char *fleet_agent_version(void);

#endif
