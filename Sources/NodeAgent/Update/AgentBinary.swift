import Foundation
import Subprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The agent's own executable on disk and the files an update puts beside it.
public struct AgentBinary: Sendable, Hashable {
    /// The path the agent runs from (and is restarted from).
    public var path: String

    public init(path: String) { self.path = path }

    /// The running executable, resolved through `/proc/self/exe` so a relative argv[0] or a
    /// symlink still names the real file that an update replaces.
    public static func current() throws(UpdateError) -> AgentBinary {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { throw .cannotReplace("cannot resolve /proc/self/exe: \(String(cString: strerror(errno)))") }
        return AgentBinary(path: String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    /// The directory the binary lives in; temp and backup files go here so renames stay on one filesystem.
    public var directory: String { (path as NSString).deletingLastPathComponent }

    /// The previous binary, kept after a swap so the watchdog (and an operator) can go back.
    public var backupPath: String { path + ".previous" }

    /// Where the download for `commandId` lands before it is verified.
    public func downloadPath(for commandId: UUID) -> String {
        (directory as NSString).appendingPathComponent(
            ".\((path as NSString).lastPathComponent).update-\(commandId.uuidString.prefix(8).lowercased())")
    }

    /// Runs `path --version` and returns what it printed (trimmed); a binary that does not run,
    /// hangs past `timeout` or exits non-zero is an error.
    public static func reportedVersion(of path: String, timeout: Duration = .seconds(15)) async throws(UpdateError) -> String {
        do {
            return try await withThrowingTaskGroup(of: String?.self) { group in
                group.addTask {
                    let result = try await Subprocess.run(
                        .path(FilePath(path)), arguments: ["--version"], output: .string(limit: 4096), error: .discarded)
                    guard case .exited(0) = result.terminationStatus else {
                        throw UpdateError.versionCheckFailed("\(path) --version ended with \(result.terminationStatus)")
                    }
                    return result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let version = first else {
                    throw UpdateError.versionCheckFailed("\(path) --version did not answer within \(timeout)")
                }
                return version
            }
        } catch let error as UpdateError {
            throw error
        } catch {
            throw .versionCheckFailed("\(path) --version could not run: \(error)")
        }
    }
}

/// Why an update did not happen; every case leaves the running binary untouched.
public enum UpdateError: Error, Sendable, CustomStringConvertible {
    case download(String)
    case digestMismatch(expected: String, actual: String)
    case versionCheckFailed(String)
    case versionMismatch(expected: String, reported: String)
    case cannotReplace(String)

    public var description: String {
        switch self {
        case .download(let message): "download failed: \(message)"
        case .digestMismatch(let expected, let actual):
            "sha256 mismatch: expected \(expected), downloaded file has \(actual); nothing was replaced"
        case .versionCheckFailed(let message): "the new binary does not run: \(message); nothing was replaced"
        case .versionMismatch(let expected, let reported):
            "the new binary reports version '\(reported.prefix(80))', expected '\(expected)'; nothing was replaced"
        case .cannotReplace(let message): "cannot replace the agent binary: \(message)"
        }
    }
}
