import Foundation

extension CommandPayload {
    /// Longest command line accepted.
    public static let maxCommandBytes = 64 * 1024
    /// Longest execution bound accepted (one week).
    public static let maxTimeoutSec = 7 * 24 * 3600

    /// What is wrong with this payload, empty when it may be queued. Checked at submit and
    /// again by the agent before it runs anything.
    public func problems() -> [String] {
        var problems: [String] = []
        if let timeout = timeoutSec, !(1...Self.maxTimeoutSec).contains(timeout) {
            problems.append("payload.timeout_sec must be between 1 and \(Self.maxTimeoutSec)")
        }
        switch self {
        case .runCommand(let run):
            if run.cmd.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                problems.append("payload.cmd must not be empty")
            }
            if run.cmd.utf8.count > Self.maxCommandBytes {
                problems.append("payload.cmd is longer than \(Self.maxCommandBytes) bytes")
            }
            if run.cmd.utf8.contains(0) { problems.append("payload.cmd must not contain NUL") }
            for (key, value) in (run.env ?? [:]).sorted(by: { $0.key < $1.key }) {
                if !Self.isValidEnvName(key) { problems.append("payload.env key '\(key.prefix(64))' is not a valid variable name") }
                if value.utf8.contains(0) { problems.append("payload.env value of '\(key.prefix(64))' must not contain NUL") }
            }
            if let cwd = run.cwd, !cwd.hasPrefix("/") || cwd.utf8.contains(0) {
                problems.append("payload.cwd must be an absolute path")
            }
        case .updateAgent(let update):
            if !FleetValidation.isValidLabel(update.version) {
                problems.append("payload.version must be 1-64 characters of letters, digits, '.', '-', '+', '_'")
            }
            if !FleetValidation.isValidSHA256(update.sha256) {
                problems.append("payload.sha256 must be 64 hex digits")
            }
            switch (update.url, update.artifactId) {
            case (nil, nil), (.some, .some):
                problems.append("payload needs exactly one of url or artifact_id")
            case (let url?, nil):
                if !url.lowercased().hasPrefix("https://") || URL(string: url) == nil {
                    problems.append("payload.url must be an https URL")
                }
            case (nil, let artifact?):
                if !FleetValidation.isValidLabel(artifact) { problems.append("payload.artifact_id is not a valid artifact id") }
            }
        case .updatePackage(let update):
            if update.packages.isEmpty, update.action != .upgrade {
                problems.append("payload.packages must name at least one package to \(update.action.rawValue)")
            }
            if update.packages.count > 100 { problems.append("payload.packages names more than 100 packages") }
            for name in update.packages where !FleetValidation.isValidPackageName(name) {
                problems.append("payload.packages: '\(name.prefix(64))' is not a valid package name")
            }
        }
        return problems
    }

    static func isValidEnvName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.utf8.count <= 128 else { return false }
        let isStart = first == "_" || (first.isASCII && first.properties.isAlphabetic)
        return isStart && name.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
    }

    /// The payload body alone as JSON (what is stored; the type travels beside it).
    public func bodyJSON() throws -> Data {
        let encoder = FleetJSON.makeEncoder()
        switch self {
        case .runCommand(let payload): return try encoder.encode(payload)
        case .updateAgent(let payload): return try encoder.encode(payload)
        case .updatePackage(let payload): return try encoder.encode(payload)
        }
    }

    /// Rebuilds a payload from its type and stored body.
    public init(type: CommandType, bodyJSON: Data) throws {
        let decoder = FleetJSON.makeDecoder()
        switch type {
        case .runCommand: self = .runCommand(try decoder.decode(RunCommandPayload.self, from: bodyJSON))
        case .updateAgent: self = .updateAgent(try decoder.decode(UpdateAgentPayload.self, from: bodyJSON))
        case .updatePackage: self = .updatePackage(try decoder.decode(UpdatePackagePayload.self, from: bodyJSON))
        }
    }
}
