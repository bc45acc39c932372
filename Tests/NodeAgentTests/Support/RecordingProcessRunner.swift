import FleetProtocol
import Foundation
import NodeAgent
import Synchronization

/// A ``ProcessRunner`` that spawns nothing: it records every spec and answers from a script.
final class RecordingProcessRunner: ProcessRunner {
    /// What one fake process prints and how it ends.
    struct Reply: Sendable {
        var termination: Termination = .exited(0)
        var stdout = ""
        var stderr = ""
        /// Set to play a process that was stopped (the runner also requests it on the stop signal).
        var stopReason: StopReason?
        /// Time the fake process takes.
        var duration: Duration = .zero
    }

    private let recorded = Mutex<[ProcessSpec]>([])
    private let reply: @Sendable (ProcessSpec) -> Reply

    init(reply: @escaping @Sendable (ProcessSpec) -> Reply = { _ in Reply() }) {
        self.reply = reply
    }

    /// Every spec run so far, in order.
    var specs: [ProcessSpec] { recorded.withLock { $0 } }

    /// The argv (program first) of every spec run so far.
    var argvs: [[String]] { specs.map { [$0.executable] + $0.arguments } }

    func run(
        _ spec: ProcessSpec, stop: StopSignal, onStart: @escaping @Sendable (Int32) async -> Void,
        output: @escaping OutputHandler
    ) async throws -> ProcessOutcome {
        recorded.withLock { $0.append(spec) }
        let answer = reply(spec)
        if answer.duration > .zero { try await Task.sleep(for: answer.duration) }
        if !answer.stdout.isEmpty { try await output(.stdout, Array(answer.stdout.utf8)) }
        if !answer.stderr.isEmpty { try await output(.stderr, Array(answer.stderr.utf8)) }
        if let reason = answer.stopReason { stop.request(reason) }
        return ProcessOutcome(termination: answer.termination, stopReason: answer.stopReason)
    }
}
