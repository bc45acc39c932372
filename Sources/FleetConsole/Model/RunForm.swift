import FleetProtocol
import Foundation

/// The Run form: what to run, where, and for how long.
public struct RunForm: Sendable {
    /// The form's fields, top to bottom.
    public enum Field: Int, CaseIterable, Sendable {
        case type, targets, command, timeout

        public var label: String {
            switch self {
            case .type: "Type"
            case .targets: "Targets"
            case .command: "Command"
            case .timeout: "Timeout (s)"
            }
        }
    }

    public var commandType = CommandType.runCommand
    public var targets: TextInput
    public var command = TextInput()
    public var timeout = TextInput("60")
    public var focus = Field.command

    /// Targets start from the selection: node ids, comma-separated.
    public init(targets: [String]) {
        self.targets = TextInput(targets.joined(separator: ","))
        self.focus = targets.isEmpty ? .targets : .command
    }

    public mutating func nextField() { focus = Field(rawValue: (focus.rawValue + 1) % Field.allCases.count) ?? .type }
    public mutating func previousField() {
        focus = Field(rawValue: (focus.rawValue + Field.allCases.count - 1) % Field.allCases.count) ?? .type
    }

    /// Routes an editing key to the focused field.
    public mutating func edit(_ key: Key) -> Bool {
        switch focus {
        case .type:
            // Only RunCommand has a form; the others are for scripts and curl.
            return false
        case .targets: return targets.handle(key)
        case .command: return command.handle(key)
        case .timeout:
            if case .char(let c) = key, !c.isNumber { return true }
            return timeout.handle(key)
        }
    }

    /// The node ids the targets field names, resolved against the known nodes.
    ///
    /// `k=v` terms (comma or space separated) select active nodes whose attributes all match;
    /// `all` or `*` selects every active node; anything else is a list of node ids.
    public func resolveTargets(in nodes: [NodeInfo]) -> [String] {
        let terms = targets.text.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
        guard !terms.isEmpty else { return [] }
        if terms == ["all"] || terms == ["*"] {
            return nodes.filter { $0.status == .active }.map(\.nodeId)
        }
        if terms.allSatisfy({ $0.contains("=") }) {
            let pairs = terms.map { term -> (String, String) in
                let parts = term.split(separator: "=", maxSplits: 1).map(String.init)
                return (parts.first ?? "", parts.count > 1 ? parts[1] : "")
            }
            return nodes.filter { node in
                node.status == .active && pairs.allSatisfy { node.attrs[$0.0] == $0.1 }
            }.map(\.nodeId)
        }
        var seen = Set<String>()
        return terms.filter { seen.insert($0).inserted }
    }

    /// The request to send, or why the form is not ready.
    public func request(nodes: [NodeInfo]) -> Result<SubmitCommandRequest, FormError> {
        let ids = resolveTargets(in: nodes)
        guard !ids.isEmpty else { return .failure(FormError("no targets: mark nodes, or type ids or k=v")) }
        let cmd = command.text.trimmingCharacters(in: .whitespaces)
        guard !cmd.isEmpty else { return .failure(FormError("the command is empty")) }
        guard let seconds = Int(timeout.text), seconds > 0 else { return .failure(FormError("timeout must be > 0 seconds")) }
        return .success(SubmitCommandRequest(targets: ids, payload: .runCommand(RunCommandPayload(cmd: cmd, timeoutSec: seconds))))
    }
}

/// A form the console cannot send, with the reason.
public struct FormError: Error, Hashable, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
}
