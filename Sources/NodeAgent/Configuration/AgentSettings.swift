import FleetTLS
import Foundation

/// What the command line said; nil means "not given", so the environment decides.
public struct AgentSettings: Sendable {
    public var serverURL: String?
    public var enrollmentToken: String?
    public var nodeId: String?
    public var nodeAttrs: String?
    public var stateDirectory: String?
    public var parallelism: Int?
    public var bufferCap: String?
    public var updateHealthTimeout: Int?
    public var logLevel: String?

    public init() {}
}

extension AgentConfiguration {
    /// The configuration from flags over the environment (`AGENT_SVC_URL`, `ENROLLMENT_TOKEN`,
    /// `NODE_ID`, `NODE_ATTRS`, `STATE_DIR`, `AGENT_PARALLELISM`, `AGENT_BUFFER_CAP`,
    /// `AGENT_UPDATE_HEALTH_TIMEOUT`, `AGENT_UPLOAD_FORMAT`, `FLEET_CA_FILE`, `ALLOW_INSECURE_HTTP`), validated; a registered node remembers its server URL.
    public static func resolve(_ flags: AgentSettings, environment: [String: String]) throws(AgentError) -> AgentConfiguration {
        func value(_ flag: String?, _ name: String) -> String? {
            (flag ?? environment[name]).flatMap { $0.isEmpty ? nil : $0 }
        }
        guard let stateDirectory = value(flags.stateDirectory, "STATE_DIR") else {
            throw .invalidConfiguration("STATE_DIR (or --state-dir) is required")
        }
        // A registered node remembers its server; the flag or variable still wins.
        let remembered = try? IdentityFile(stateDirectory: stateDirectory).load()?.serverURL
        guard let serverURL = value(flags.serverURL, "AGENT_SVC_URL") ?? remembered else {
            throw .invalidConfiguration("AGENT_SVC_URL (or --agent-svc-url) is required")
        }
        var configuration = AgentConfiguration(
            serverURL: serverURL, enrollmentToken: value(flags.enrollmentToken, "ENROLLMENT_TOKEN"),
            nodeId: value(flags.nodeId, "NODE_ID"),
            nodeAttrs: try parseAttributes(value(flags.nodeAttrs, "NODE_ATTRS") ?? ""),
            stateDirectory: stateDirectory)
        if let text = value(flags.parallelism.map(String.init), "AGENT_PARALLELISM") {
            guard let number = Int(text) else { throw .invalidConfiguration("parallelism '\(text)' is not a number") }
            configuration.parallelism = number
        }
        if let text = value(flags.updateHealthTimeout.map(String.init), "AGENT_UPDATE_HEALTH_TIMEOUT") {
            guard let seconds = Int(text), seconds > 0 else {
                throw .invalidConfiguration("update health timeout '\(text)' is not a positive number of seconds")
            }
            configuration.updateHealthTimeout = .seconds(seconds)
        }
        if let text = value(flags.bufferCap, "AGENT_BUFFER_CAP") {
            configuration.bufferCapBytes = try parseByteSize(text)
        }
        if let text = value(nil, "AGENT_UPLOAD_FORMAT") {
            guard let format = UploadFormat(rawValue: text) else {
                throw .invalidConfiguration("AGENT_UPLOAD_FORMAT '\(text.prefix(40))' must be binary or json")
            }
            configuration.uploadFormat = format
        }
        do {
            configuration.trust = try TrustSettings.fromEnvironment(environment)
        } catch {
            throw .invalidConfiguration(error.description)
        }
        configuration.allowInsecureHTTP = PlainHTTPPolicy.allowsInsecure(environment)
        try configuration.validate()
        return configuration
    }
}
