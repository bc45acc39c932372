#include "agent_version_stamp.h"

#ifndef FLEET_AGENT_VERSION
#define FLEET_AGENT_VERSION "0.1.0"
#endif

// Found by scripts/stamp-agent-version.py; must occur exactly once in the binary, so it is
// spelled out only here.
#define MARKER "FLEET_AGENT_VERSION_STAMP:"

// The version lives in a fixed-size data field rather than a Swift literal (which the compiler
// may inline into code) so that a release step can stamp a built binary with its version without
// recompiling: the stamp script rewrites the bytes after the marker. The function reads it at
// run time, so no caller sees a folded constant.
__attribute__((used)) static const char stamp[96] = MARKER FLEET_AGENT_VERSION;

const char *fleet_agent_version(void) {
    return stamp + sizeof(MARKER) - 1;
}
