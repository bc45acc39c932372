import FleetProtocol
import Foundation
import Logging
import Synchronization

extension InvocationExecutor {
    /// `UpdatePackage`: drives the node's package manager with an argv (never a shell string).
    func updatePackages(
        _ payload: UpdatePackagePayload, id: UUID, stop: StopSignal, logger: Logger
    ) async throws -> FinalOutcome {
        let environment = packageEnvironment(id: id)
        return await updatePackages(
            payload, id: id, stop: stop, logger: logger, environment: environment, locator: .system(path: environment["PATH"]))
    }

    /// `UpdatePackage` with the programs that `locator` finds (the seam tests use for a fake PATH).
    func updatePackages(
        _ payload: UpdatePackagePayload, id: UUID, stop: StopSignal, logger: Logger, environment: [String: String],
        locator: ExecutableLocator
    ) async -> FinalOutcome {
        let manager: PackageManager
        let steps: [PackageStep]
        do {
            manager = try PackageManager.detect(payload.manager, locator: locator)
            steps = try manager.steps(for: payload.action, packages: payload.packages)
        } catch {
            logger.warning("package update refused", metadata: ["reason": "\(error)"])
            return FinalOutcome(state: .failed, reason: error.description)
        }
        logger.info("invocation started", metadata: ["manager": "\(manager.executable)", "action": "\(payload.action.rawValue)"])
        // One bound for all steps together: timeout_sec is the longest the operator waits.
        let deadline = payload.timeoutSec.map { ContinuousClock.now + .seconds($0) }
        return await recordingOutput(of: id, stop: stop, logger: logger) { recorder in
            let note: (String) async -> Void = { line in try? await recorder.handler(.stdout, Array(line.utf8)) }
            var result: Result<ProcessOutcome, any Error>?
            for step in steps {
                if stop.reason == nil, let deadline, deadline <= .now { stop.request(.timedOut) }
                if stop.reason != nil { break }
                let spec = ProcessSpec(
                    executable: step.executable, arguments: step.arguments,
                    environment: environment.merging(step.environment) { $1 },
                    timeout: deadline.map { $0 - .now }, gracePeriod: configuration.killGracePeriod)
                await note("fleet: running " + ([step.executable] + step.arguments).joined(separator: " ") + "\n")
                let stepResult = await runProcess(spec, id: id, stop: stop, output: recorder.handler)
                if step.isOptional {
                    // Reported, never fatal; when it was stopped, the next turn of the loop ends the run.
                    switch stepResult {
                    case .success(let process) where process.termination == .exited(0) || stop.reason != nil: break
                    case .success(let process):
                        await note("fleet: refreshing the package lists failed (\(process.termination)); \(Self.goingOn)")
                    case .failure(let error):
                        await note("fleet: refreshing the package lists could not start (\(error)); \(Self.goingOn)")
                    }
                    continue
                }
                result = stepResult
            }
            guard let result else {
                // Stopped before the package manager itself ran (a refresh may have).
                let process = ProcessOutcome(termination: .exited(0), stopReason: stop.reason ?? .timedOut)
                return Self.outcome(of: .success(process), timeout: payload.timeoutSec, started: false)
            }
            var outcome = Self.outcome(of: result, timeout: payload.timeoutSec)
            // Versions are worth asking for whenever the manager ran to its end, even after a failure.
            guard case .success(let process) = result, process.stopReason == nil else { return outcome }
            var packages: [PackageResult] = []
            for raw in payload.packages {
                let request = PackageRequest(raw)
                let state = await installedState(
                    of: request.queryName(for: manager.kind), manager: manager, locator: locator, environment: environment,
                    stop: stop)
                await note(state.summary(for: request.name))
                if let package = state.result(for: request.name) { packages.append(package) }
            }
            outcome.result = InvocationResult(packages: packages)
            return outcome
        }
    }

    private static var goingOn: String { "going on with the cached lists\n" }

    /// Asks the package database for the installed version of `name`.
    func installedState(
        of name: String, manager: PackageManager, locator: ExecutableLocator, environment: [String: String], stop: StopSignal
    ) async -> InstalledState {
        let query = manager.installedVersionQuery(for: name)
        guard let program = locator.find(query.program) else { return .unknown(reason: "\(query.program) not found") }
        var environment = environment
        environment["LC_ALL"] = "C"
        let spec = ProcessSpec(
            executable: program, arguments: query.arguments, environment: environment, timeout: .seconds(30),
            gracePeriod: .seconds(2))
        // A signal of its own, so the query's timeout does not mark the invocation timed out;
        // a cancel or shutdown of the invocation still stops it.
        let queryStop = StopSignal()
        let relay = Task {
            if let reason = await stop.wait() { queryStop.request(reason) }
        }
        defer { relay.cancel() }
        let captured = CapturedOutput(limit: 64 * 1024)
        do {
            let outcome = try await runner.run(spec, stop: queryStop, output: captured.handler)
            if let reason = outcome.stopReason { return .unknown(reason: "\(query.program) was stopped: \(reason.rawValue)") }
            return manager.parseInstalledVersion(of: name, termination: outcome.termination, output: captured.text)
        } catch {
            return .unknown(reason: "\(query.program) could not run: \(error)")
        }
    }

    /// The agent's environment without its secrets, plus the command id; a standard `PATH` if it has none.
    func packageEnvironment(id: UUID) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !Self.secretVariables.contains($0.key) }
        environment["FLEET_COMMAND_ID"] = id.uuidString.lowercased()
        if environment["PATH"]?.isEmpty ?? true {
            environment["PATH"] = ExecutableLocator.systemDirectories.joined(separator: ":")
        }
        return environment
    }
}

/// Keeps the first `limit` bytes of a query's stdout (its answer is one short line).
final class CapturedOutput: Sendable {
    private let bytes = Mutex<[UInt8]>([])
    let limit: Int

    init(limit: Int) { self.limit = limit }

    var handler: OutputHandler {
        { [self] stream, chunk in
            guard stream == .stdout else { return }
            bytes.withLock { $0 += chunk.prefix(max(0, limit - $0.count)) }
        }
    }

    var text: String { String(decoding: bytes.withLock { $0 }, as: UTF8.self) }
}
