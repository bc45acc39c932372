import CAgentVersionStamp

/// The version this agent reports at registration, in every poll and for `--version`.
public enum NodeAgentVersion {
    /// Semantic version of the agent build, read from the binary's version stamp (see
    /// `scripts/stamp-agent-version.py`), so a stamped copy reports its stamped version.
    public static let current = String(cString: fleet_agent_version())
}
