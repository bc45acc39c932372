#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Finds programs by name in a list of directories, as a shell does with `PATH`; tests give it a
/// fake directory list and file check.
public struct ExecutableLocator: Sendable {
    /// Directories searched, in order.
    public var directories: [String]
    /// Whether a path names an executable regular file.
    public var isExecutable: @Sendable (String) -> Bool

    /// A locator over `directories`, asking `isExecutable` about each candidate path.
    public init(directories: [String], isExecutable: @escaping @Sendable (String) -> Bool) {
        self.directories = directories
        self.isExecutable = isExecutable
    }

    /// Standard system directories, searched after `PATH`.
    static let systemDirectories = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]

    /// The directories of `path` (a `PATH` value), then the standard system ones it lacks: an agent
    /// started by a service manager or an unprivileged shell may miss `/sbin`, where apk lives.
    public static func system(path: String?) -> ExecutableLocator {
        // Relative entries would depend on the agent's working directory: never search them.
        var directories = (path ?? "").split(separator: ":").map(String.init).filter { $0.hasPrefix("/") }
        for directory in systemDirectories where !directories.contains(directory) { directories.append(directory) }
        return ExecutableLocator(directories: directories, isExecutable: Self.isExecutableFile)
    }

    /// The absolute path of the first executable called `name`, or nil.
    public func find(_ name: String) -> String? {
        for directory in directories {
            let candidate = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            if isExecutable(candidate) { return candidate }
        }
        return nil
    }

    /// A regular file (after symlinks) that this process may execute.
    @Sendable static func isExecutableFile(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return false }
        return access(path, X_OK) == 0
    }
}
