import FleetProtocol
import Foundation
import Logging

/// Executes one recorded invocation end to end: marks it started, runs it, stores its output
/// as chunks, and records its final state. Reporting and uploading happen elsewhere.
public struct InvocationExecutor: Sendable {
    /// Variables never passed on to commands: the agent's own secrets.
    static let secretVariables: Set<String> = ["ENROLLMENT_TOKEN", "FLEET_TOKEN", "JWT_SIGNING_SECRET"]

    let store: AgentStore
    let runner: any ProcessRunner
    let configuration: AgentConfiguration
    let logger: Logger
    /// Called whenever there is something new to upload or report.
    let onProgress: @Sendable () -> Void
    /// Carries out `UpdateAgent`; nil where the agent cannot replace itself (in-process tests).
    let updater: AgentUpdater?

    public init(
        store: AgentStore, runner: any ProcessRunner, configuration: AgentConfiguration, logger: Logger,
        onProgress: @escaping @Sendable () -> Void = {}, updater: AgentUpdater? = nil
    ) {
        self.store = store
        self.runner = runner
        self.configuration = configuration
        self.logger = logger
        self.onProgress = onProgress
        self.updater = updater
    }

    /// Runs `invocation` if it is still `received`; returns its outcome, or nil when it was not run.
    @discardableResult
    public func execute(_ invocation: LocalInvocation, stop: StopSignal) async throws -> FinalOutcome? {
        let id = invocation.commandId
        var logger = logger
        logger[metadataKey: "command_id"] = "\(id)"
        // Shutting down before the start: leave it `received`, it runs after the restart.
        if stop.reason == .shutdown { return nil }
        guard try await store.markStarted(id) else { return nil }
        onProgress()

        let outcome: FinalOutcome
        if let reason = stop.reason {
            // Stopped between dequeue and start: nothing was spawned.
            outcome = Self.outcome(
                of: .success(ProcessOutcome(termination: .exited(0), stopReason: reason)), timeout: nil, started: false)
            try await store.finish(id, outcome: outcome)
            onProgress()
            return outcome
        }
        // The agent checks every payload again: it trusts nothing it did not validate itself.
        let problems = invocation.payload.problems()
        if !problems.isEmpty {
            outcome = FinalOutcome(state: .failed, reason: "invalid payload: " + problems.joined(separator: "; "))
        } else {
            switch invocation.payload {
            case .runCommand(let payload):
                outcome = try await run(payload, id: id, stop: stop, logger: logger)
            case .updatePackage(let payload):
                outcome = try await updatePackages(payload, id: id, stop: stop, logger: logger)
            case .updateAgent(let payload):
                // nil: the new binary is in place and the agent restarts into it; the invocation
                // stays `running` and the next agent process finishes it.
                guard let updated = try await updateAgent(payload, id: id, stop: stop, logger: logger) else { return nil }
                outcome = updated
            }
        }
        try await store.finish(id, outcome: outcome)
        logger.info(
            "invocation finished",
            metadata: ["state": "\(outcome.state.rawValue)", "exit_code": "\(outcome.exitCode.map(String.init) ?? "-")"])
        onProgress()
        return outcome
    }

    private func run(_ payload: RunCommandPayload, id: UUID, stop: StopSignal, logger: Logger) async throws -> FinalOutcome {
        let spec = ProcessSpec(
            command: payload.cmd, environment: environment(for: payload, id: id), workingDirectory: payload.cwd,
            timeout: payload.timeoutSec.map { .seconds($0) }, gracePeriod: configuration.killGracePeriod)
        logger.info("invocation started")
        return await recordingOutput(of: id, stop: stop, logger: logger) { recorder in
            Self.outcome(of: await runProcess(spec, id: id, stop: stop, output: recorder.handler), timeout: payload.timeoutSec)
        }
    }

    /// Runs `body` with a recorder that cuts the invocation's output into stored chunks, and
    /// returns its outcome once every byte is stored (or a failure when storing failed). A
    /// timeout that struck while the state dir was full is that failure, not a slow command.
    func recordingOutput(
        of id: UUID, stop: StopSignal? = nil, logger: Logger, _ body: (OutputRecorder) async -> FinalOutcome
    ) async -> FinalOutcome {
        let recorder = OutputRecorder(
            commandId: id, store: store, chunkSize: configuration.chunkSize, stop: stop,
            abandonAfter: configuration.killGracePeriod, logger: logger, onChunk: onProgress)
        let interval = configuration.flushInterval
        return await withTaskGroup(of: Void.self) { group in
            // Cut pending output at least every flush interval while the process runs.
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    recorder.tick()
                }
            }
            async let written = recorder.runWriter()
            let outcome = await body(recorder)
            recorder.finishInput()
            group.cancelAll()
            let summary: OutputRecorder.Summary
            do {
                summary = try await written
            } catch {
                logger.error("could not store output", metadata: ["error": "\(error)"])
                return FinalOutcome(state: .failed, reason: "node-agent could not store the output: \(error)")
            }
            if let free = summary.stateDirectoryFull, outcome.state == .timedOut {
                return FinalOutcome(
                    state: .failed, exitCode: outcome.exitCode, signal: outcome.signal, reason: "state dir full (\(free) bytes free)")
            }
            return outcome
        }
    }

    /// Runs one process of invocation `id`, remembering its process group for crash recovery.
    func runProcess(
        _ spec: ProcessSpec, id: UUID, stop: StopSignal, output: @escaping OutputHandler
    ) async -> Result<ProcessOutcome, any Error> {
        do {
            return .success(
                try await runner.run(
                    spec, stop: stop,
                    onStart: { [store] pid in
                        // Remembered so that a restarted agent can kill what a crash left behind.
                        try? await store.recordProcess(id, pid: pid, startTime: LeftoverProcesses.startTime(of: pid))
                    },
                    output: output))
        } catch {
            return .failure(error)
        }
    }

    /// Maps how the process ended (or failed to start) to the state reported to the server.
    static func outcome(of result: Result<ProcessOutcome, any Error>, timeout: Int?, started: Bool = true) -> FinalOutcome {
        let process: ProcessOutcome
        switch result {
        case .failure(let error):
            return FinalOutcome(state: .failed, reason: "could not run the command: \(error)")
        case .success(let value):
            process = value
        }
        var exitCode: Int?
        var signal: Int?
        switch process.termination {
        case .exited(let code) where started: exitCode = Int(code)
        case .signaled(let number) where started: signal = Int(number)
        default: break
        }
        switch process.stopReason {
        case .timedOut:
            return FinalOutcome(state: .timedOut, exitCode: exitCode, signal: signal, reason: "timed out after \(timeout ?? 0) s")
        case .cancelled:
            return FinalOutcome(state: .cancelled, exitCode: exitCode, signal: signal, reason: "cancelled by operator")
        case .shutdown:
            return FinalOutcome(
                state: .lost, exitCode: exitCode, signal: signal, reason: "node-agent was stopped while the command ran")
        case nil:
            if exitCode == 0 { return FinalOutcome(state: .succeeded, exitCode: 0) }
            if let signal { return FinalOutcome(state: .failed, signal: signal, reason: "terminated by signal \(signal)") }
            return FinalOutcome(state: .failed, exitCode: exitCode)
        }
    }

    /// The agent's environment without its secrets, plus the payload's variables and the command id.
    func environment(for payload: RunCommandPayload, id: UUID) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !Self.secretVariables.contains($0.key) }
        environment["FLEET_COMMAND_ID"] = id.uuidString.lowercased()
        for (key, value) in payload.env ?? [:] { environment[key] = value }
        return environment
    }
}
