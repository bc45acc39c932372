import Foundation

/// Plain `http://` is for loopback (and Kong's private network): a token sent in clear to any
/// other host can be read by everything on the path. Crossing a network in clear takes an
/// explicit `ALLOW_INSECURE_HTTP=1`.
public enum PlainHTTPPolicy {
    /// `ALLOW_INSECURE_HTTP=1` in `environment`: the operator's opt-in.
    public static func allowsInsecure(_ environment: [String: String]) -> Bool {
        environment["ALLOW_INSECURE_HTTP"] == "1"
    }

    /// Why `url` (read from `variable`) must not be used, or nil when it may.
    public static func refusal(url: String, variable: String, allowInsecure: Bool) -> String? {
        guard let parsed = URL(string: url), parsed.scheme?.lowercased() == "http", let host = parsed.host else { return nil }
        if allowInsecure || isLoopback(host) { return nil }
        return "\(variable) \(url.prefix(200)) is plain http to \(host), which is not loopback: tokens would cross "
            + "the network in clear. Use https:// (agent-svc's TLS_CERT_FILE/TLS_KEY_FILE, or Kong on 8443), "
            + "or set ALLOW_INSECURE_HTTP=1 on a network you trust"
    }

    /// `localhost`, 127.0.0.0/8 and ::1.
    public static func isLoopback(_ host: String) -> Bool {
        var name = host.lowercased()
        if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        if name == "localhost" || name.hasSuffix(".localhost") || name == "::1" { return true }
        let octets = name.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, octets.allSatisfy({ UInt8($0) != nil }) else { return false }
        return octets[0] == "127"
    }
}
