import FleetProtocol
import Foundation

/// The end of a followed command: one line per final state, and the exit status.
enum Summary {
    /// Node ids listed per state at most; the rest are counted.
    static let namesShown = 10

    /// `succeeded  2  edge-1, edge-2` / `failed  1  edge-3 (exit 3)`, in lifecycle order.
    static func lines(_ invocations: [InvocationInfo], colour: Bool) -> [String] {
        let order: [InvocationState] = [.succeeded, .failed, .timedOut, .cancelled, .lost, .expired, .running, .delivered, .queued]
        let grouped = Dictionary(grouping: invocations, by: \.state)
        let width = order.filter { grouped[$0] != nil }.map(\.rawValue.count).max() ?? 0
        var lines: [String] = []
        for state in order {
            guard let group = grouped[state] else { continue }
            let names = group.prefix(namesShown).map { invocation -> String in
                var name = invocation.nodeId
                if state != .succeeded, let code = invocation.exitCode { name += " (exit \(code))" }
                if let signal = invocation.signal { name += " (signal \(signal))" }
                return name
            }
            var text = names.joined(separator: ", ")
            if group.count > namesShown { text += " and \(group.count - namesShown) more" }
            let label = state.rawValue.padding(toLength: width, withPad: " ", startingAt: 0)
            let painted = colour ? "\u{1B}[\(state == .succeeded ? "32" : "31")m\(label)\u{1B}[0m" : label
            lines.append("\(painted)  \(group.count)  \(text)")
        }
        return lines
    }

    /// 0 when every invocation succeeded; with one target, its exit code (1 when it has none);
    /// otherwise 1.
    static func exitStatus(_ invocations: [InvocationInfo]) -> Int32 {
        if !invocations.isEmpty, invocations.allSatisfy({ $0.state == .succeeded }) { return ExitStatus.success }
        if invocations.count == 1, let code = invocations[0].exitCode, code != 0 {
            // A shell sees exit codes modulo 256; one that wraps to 0 must still read as a failure.
            let status = Int32(truncatingIfNeeded: code & 0xFF)
            return status == 0 ? ExitStatus.failure : status
        }
        return ExitStatus.failure
    }
}

/// JSON the way the API writes it (snake_case keys, ISO-8601 dates), pretty-printed for people and jq.
enum JSONOutput {
    static func encode(_ value: some Encodable) throws(CLIError) -> String {
        let encoder = FleetJSON.makeEncoder()
        encoder.outputFormatting.insert(.prettyPrinted)
        do {
            return String(decoding: try encoder.encode(value), as: UTF8.self)
        } catch {
            throw .refused("cannot encode the answer as JSON: \(error)")
        }
    }
}
