#ifndef FLEET_AGENT_VERSION_STAMP_H
#define FLEET_AGENT_VERSION_STAMP_H

/// The marker that precedes the version inside the stamp; scripts/stamp-agent-version.py looks for it.
#define FLEET_AGENT_VERSION_MARKER "FLEET_AGENT_VERSION_STAMP:"

/// The stamp: marker, then the NUL-terminated version, in a fixed 96-byte field.
const char *fleet_agent_version_stamp(void);

#endif
