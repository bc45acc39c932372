/// The version this agent reports at registration and in every poll.
public enum NodeAgentVersion {
    /// Semantic version of the agent build.
    public static let current = "0.1.0"
}
