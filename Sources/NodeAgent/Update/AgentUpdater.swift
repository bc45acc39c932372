import FleetProtocol
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `UpdateAgent` up to the restart: download beside the binary, verify the digest, check that
/// the new binary runs and reports the expected version, keep the old one as a backup, record
/// the pending update, swap atomically, and ask for a restart into the new binary.
///
/// Every failure before the rename leaves the running binary as it was.
public struct AgentUpdater: Sendable {
    let store: AgentStore
    let downloader: any ArtifactDownloading
    /// The node's current token (for artifacts stored on agent-svc).
    let token: @Sendable () async throws -> String
    /// The binary to replace; the running executable unless a test says otherwise.
    let binary: @Sendable () throws(UpdateError) -> AgentBinary
    let restart: RestartCoordinator
    let stateDirectory: String
    /// How long the new binary has to reach the server before the watchdog rolls it back.
    let healthTimeout: Duration
    let logger: Logger

    public init(
        store: AgentStore, downloader: any ArtifactDownloading, token: @escaping @Sendable () async throws -> String,
        binary: @escaping @Sendable () throws(UpdateError) -> AgentBinary = { () throws(UpdateError) in try AgentBinary.current() },
        restart: RestartCoordinator, stateDirectory: String, healthTimeout: Duration, logger: Logger
    ) {
        self.store = store
        self.downloader = downloader
        self.token = token
        self.binary = binary
        self.restart = restart
        self.stateDirectory = stateDirectory
        self.healthTimeout = healthTimeout
        self.logger = logger
    }

    /// Runs the update; a final outcome when it ends here, nil when the restart is under way.
    public func update(_ payload: UpdateAgentPayload, id: UUID, stop: StopSignal) async throws -> FinalOutcome? {
        let current = NodeAgentVersion.current
        if payload.version == current {
            try await store.appendOutputLine(id, "node-agent is already running version \(current); nothing to do")
            return FinalOutcome(state: .succeeded, exitCode: 0, reason: "already at version \(current)", result: .init(agentVersion: current))
        }
        let binary: AgentBinary
        do { binary = try self.binary() } catch { return failure(error, current: current) }
        let download = binary.downloadPath(for: id)
        defer { unlink(download) }
        let verified: Result<DownloadedFile, UpdateError>
        switch await Self.untilStopped(
            stop, timeout: payload.timeoutSec.map { .seconds($0) },
            {
                try await prepare(payload, id: id, binary: binary, download: download)
            })
        {
        case .finished(let result): verified = result
        case .stopped(.timedOut):
            return FinalOutcome(state: .timedOut, reason: "timed out after \(payload.timeoutSec ?? 0) s; nothing was replaced")
        case .stopped(.cancelled): return FinalOutcome(state: .cancelled, reason: "cancelled by operator; nothing was replaced")
        case .stopped(.shutdown): return FinalOutcome(state: .lost, reason: "node-agent was stopped during the update; nothing was replaced")
        }
        let file: DownloadedFile
        switch verified {
        case .failure(let error): return failure(error, current: current)
        case .success(let value): file = value
        }
        try await store.appendOutputLine(id, "downloaded \(file.bytes) bytes, sha256 \(file.sha256) verified")
        try await store.appendOutputLine(id, "new binary answers --version with \(payload.version)")

        // The backup is a hard link: no copy, and the running binary's inode stays as it is.
        unlink(binary.backupPath)
        if link(binary.path, binary.backupPath) != 0 {
            return failure(.cannotReplace("cannot keep a backup at \(binary.backupPath): \(String(cString: strerror(errno)))"), current: current)
        }
        let record = AgentUpdateRecord(
            commandId: id, fromVersion: current, toVersion: payload.version, binaryPath: binary.path,
            backupPath: binary.backupPath, phase: .swapped,
            deadline: Date().addingTimeInterval(Double(healthTimeout.components.seconds)), reason: nil)
        try await store.recordAgentUpdate(record)
        guard rename(download, binary.path) == 0 else {
            let reason = "rename onto \(binary.path) failed: \(String(cString: strerror(errno)))"
            try await store.setAgentUpdatePhase(id, to: .rolledBack, reason: reason)
            return failure(.cannotReplace(reason), current: current)
        }
        try await store.appendOutputLine(
            id, "swapped \(binary.path) (previous binary kept at \(binary.backupPath)); restarting into \(payload.version)")
        logger.notice(
            "agent binary replaced; restarting into the new version",
            metadata: ["command_id": "\(id)", "from": "\(current)", "to": "\(payload.version)"])
        await restart.request(
            RestartPlan(
                commandId: id, binary: binary, backupPath: binary.backupPath, stateDirectory: stateDirectory,
                healthTimeout: healthTimeout))
        return nil
    }

    /// Download, digest and `--version`: the steps that need no change to the installed binary.
    private func prepare(
        _ payload: UpdateAgentPayload, id: UUID, binary: AgentBinary, download: String
    ) async throws -> DownloadedFile {
        guard access(binary.directory, W_OK) == 0 else {
            throw UpdateError.cannotReplace("\(binary.directory) is not writable by the agent")
        }
        let source: ArtifactSource = payload.artifactId.map { .artifact(id: $0) } ?? .url(payload.url ?? "")
        try await store.appendOutputLine(id, "downloading \(payload.artifactId.map { "artifact \($0)" } ?? payload.url ?? "")")
        let file = try await downloader.download(source, to: download, token: try await token())
        guard file.sha256 == payload.sha256.lowercased() else {
            throw UpdateError.digestMismatch(expected: payload.sha256.lowercased(), actual: file.sha256)
        }
        let reported = try await AgentBinary.reportedVersion(of: download)
        guard reported == payload.version else { throw UpdateError.versionMismatch(expected: payload.version, reported: reported) }
        return file
    }

    private func failure(_ error: UpdateError, current: String) -> FinalOutcome {
        logger.error("agent update failed", metadata: ["error": "\(error)"])
        return FinalOutcome(state: .failed, reason: error.description, result: .init(agentVersion: current))
    }

    enum Race<T: Sendable>: Sendable {
        case finished(T)
        case stopped(StopReason)
    }

    /// Runs `work` until it finishes, the operator cancels, the agent stops, or `timeout` passes.
    static func untilStopped<T: Sendable>(
        _ stop: StopSignal, timeout: Duration?, _ work: @escaping @Sendable () async throws -> T
    ) async -> Race<Result<T, UpdateError>> {
        await withTaskGroup(of: Race<Result<T, UpdateError>>?.self) { group in
            group.addTask {
                do { return .finished(.success(try await work())) } catch let error as UpdateError {
                    return .finished(.failure(error))
                } catch {
                    return Task.isCancelled ? nil : .finished(.failure(.download("\(error)")))
                }
            }
            group.addTask { await stop.wait().map { .stopped($0) } }
            if let timeout {
                group.addTask {
                    try? await Task.sleep(for: timeout)
                    return Task.isCancelled ? nil : .stopped(.timedOut)
                }
            }
            defer { group.cancelAll() }
            while let next = await group.next() {
                if let next { return next }
            }
            return .stopped(.shutdown)
        }
    }
}
