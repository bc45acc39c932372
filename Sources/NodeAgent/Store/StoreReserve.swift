import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Room kept back in the state directory so that a full disk never locks the agent out of its
/// own store. SQLite needs to append to its WAL even to delete, so deleting acknowledged chunks
/// (the one thing that frees space) would fail exactly when it matters. The reserve is a
/// pre-allocated spare file: on SQLITE_FULL it is released and the write tried again; it is
/// allocated again once the disk has room for it.
public final class StoreReserve: Sendable {
    /// Size of the spare file.
    public let size: Int64
    let path: String
    let directory: String
    private let held = Mutex(false)

    init(directory: String, size: Int64) {
        self.directory = directory
        self.path = (directory as NSString).appendingPathComponent("agent.reserve")
        self.size = size
        held.withLock { $0 = FileManager.default.fileExists(atPath: path) && Self.fileSize(path) >= size }
    }

    /// Whether the spare file is in place.
    public var isHeld: Bool { held.withLock { $0 } }

    /// Allocates the spare file if it is missing and the disk has room for it and `margin` more.
    @discardableResult
    func replenish(margin: Int64) -> Bool {
        if isHeld { return true }
        guard size > 0, let free = Self.freeBytes(directory), free >= size + margin else { return false }
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        // Real blocks, not a sparse file: the point is that the space is taken now.
        var ok = posix_fallocate(fd, 0, off_t(size)) == 0
        if !ok {
            let block = [UInt8](repeating: 0, count: 64 * 1024)
            var written: Int64 = 0
            ok = true
            while written < size {
                let n = block.withUnsafeBytes { write(fd, $0.baseAddress, min(block.count, Int(size - written))) }
                if n <= 0 {
                    ok = false
                    break
                }
                written += Int64(n)
            }
        }
        if !ok {
            unlink(path)
            return false
        }
        held.withLock { $0 = true }
        return true
    }

    /// Frees the spare file for a write that must succeed; false when it was already gone.
    func release() -> Bool {
        let wasHeld = held.withLock { held -> Bool in
            defer { held = false }
            return held
        }
        guard wasHeld else { return false }
        unlink(path)
        return true
    }

    /// Bytes available to an unprivileged writer on the filesystem holding `path`.
    public static func freeBytes(_ path: String) -> Int64? {
        var stats = statvfs()
        guard statvfs(path, &stats) == 0 else { return nil }
        return Int64(stats.f_bavail) * Int64(stats.f_frsize)
    }

    private static func fileSize(_ path: String) -> Int64 {
        var info = stat()
        guard stat(path, &info) == 0 else { return 0 }
        return Int64(info.st_blocks) * 512
    }
}

/// Bytes of free pages inside the database file: new chunks reuse them before the file grows,
/// so they count as room although the filesystem does not see them as free.
final class ReusablePages: Sendable {
    private let bytes = Mutex<Int64>(0)

    var value: Int64 { bytes.withLock { $0 } }

    func set(_ value: Int64) { bytes.withLock { $0 = value } }
}
