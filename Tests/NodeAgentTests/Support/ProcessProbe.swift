import Foundation

/// Finds live (non-zombie) processes whose environment holds `FLEET_TEST_MARKER=<marker>`.
enum ProcessProbe {
    static func processes(withMarker marker: String) -> [Int32] {
        let needle = Data("FLEET_TEST_MARKER=\(marker)".utf8)
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { entry -> Int32? in
            guard let pid = Int32(entry),
                let environ = FileManager.default.contents(atPath: "/proc/\(pid)/environ"),
                environ.range(of: needle) != nil,
                let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
                !status.contains("State:\tZ")
            else { return nil }
            return pid
        }
    }

    static var baseEnvironment: [String: String] {
        ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
    }
}
