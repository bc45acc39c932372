import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Facts about the host that the agent reports at registration.
public enum NodeAttributes {
    /// os, os_version, kernel, arch, hostname and agent_version, with `overrides` winning.
    public static func collect(merging overrides: [String: String] = [:]) -> [String: String] {
        var attrs: [String: String] = [
            "os": osName(),
            "os_version": osVersion(),
            "hostname": hostName(),
            "agent_version": NodeAgentVersion.current,
        ]
        let system = unameFields()
        attrs["kernel"] = system.release
        attrs["arch"] = system.machine
        return attrs.merging(overrides) { _, override in override }
    }

    /// The host name, as the default node id.
    public static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "unknown" }
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func osName() -> String {
        #if os(Linux)
        "linux"
        #elseif os(macOS)
        "macos"
        #else
        "unknown"
        #endif
    }

    /// `PRETTY_NAME` from os-release on Linux, the marketing version elsewhere.
    static func osVersion() -> String {
        for path in ["/etc/os-release", "/usr/lib/os-release"] {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
            var fields: [String: String] = [:]
            for line in text.split(separator: "\n") {
                guard let equals = line.firstIndex(of: "=") else { continue }
                let value = line[line.index(after: equals)...].trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
                fields[String(line[..<equals])] = value
            }
            if let pretty = fields["PRETTY_NAME"] ?? fields["VERSION_ID"] { return pretty }
        }
        return ProcessInfo.processInfo.operatingSystemVersionString
    }

    static func unameFields() -> (release: String, machine: String) {
        var info = utsname()
        guard uname(&info) == 0 else { return ("unknown", "unknown") }
        func text<T>(_ field: T) -> String {
            withUnsafeBytes(of: field) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
        }
        return (text(info.release), text(info.machine))
    }
}
