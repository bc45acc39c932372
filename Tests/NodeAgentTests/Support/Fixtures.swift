import FleetProtocol
import Foundation
import Logging
import NodeAgent

enum Fixtures {
    static func assignment(
        _ cmd: String, id: UUID = UUID(), timeout: Int? = nil, env: [String: String]? = nil, cwd: String? = nil
    )
        -> Assignment
    {
        Assignment(
            commandId: id, payload: .runCommand(RunCommandPayload(cmd: cmd, timeoutSec: timeout, env: env, cwd: cwd)),
            leaseExpiresAt: Date() + 60, deliveryCount: 1)
    }

    static func configuration(_ directory: String, cap: Int64 = 64 * 1024 * 1024) -> AgentConfiguration {
        AgentConfiguration(
            serverURL: "http://127.0.0.1:1", enrollmentToken: "enroll-secret", nodeId: "test-node", stateDirectory: directory,
            parallelism: 2, bufferCapBytes: cap, pollWaitSeconds: 1, killGracePeriod: .seconds(2),
            flushInterval: .milliseconds(50), chunkSize: 64 * 1024, shutdownFlushTimeout: .seconds(5))
    }

    static var logger: Logger {
        var logger = Logger(label: "node-agent-tests")
        logger.logLevel = .warning
        return logger
    }

    /// Polls `condition` every 20 ms until true or `timeout` elapses.
    static func eventually(timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async rethrows -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return try await condition()
    }
}
