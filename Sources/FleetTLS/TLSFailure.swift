import NIOSSL

/// A TLS handshake that failed, told in one line naming the host and the reason, instead of
/// BoringSSL's error stack.
public struct TLSFailure: Error, Equatable, CustomStringConvertible {
    public let host: String
    public let reason: String

    public init(host: String, reason: String) {
        self.host = host
        self.reason = reason
    }

    public var description: String { "TLS: the certificate of \(host) did not verify: \(reason)" }

    /// The failure `error` stands for, or nil when it is not about TLS.
    public static func classify(_ error: any Error, host: String) -> TLSFailure? {
        if let extra = error as? NIOSSLExtraError, extra == .failedToValidateHostname {
            return TLSFailure(host: host, reason: "it is not issued for \(host)")
        }
        guard let ssl = error as? NIOSSLError else { return nil }
        switch ssl {
        case .handshakeFailed(let detail):
            return TLSFailure(host: host, reason: reason(for: "\(detail)"))
        case .noCertificateToValidate, .unableToValidateCertificate:
            return TLSFailure(host: host, reason: "the server sent no certificate that could be checked")
        default:
            return nil
        }
    }

    static func reason(for detail: String) -> String {
        if detail.contains("CERTIFICATE_VERIFY_FAILED") {
            return "not signed by a trusted CA, expired or not yet valid "
                + "(a private CA's PEM bundle goes in FLEET_CA_FILE)"
        }
        if detail.contains("WRONG_VERSION_NUMBER") || detail.contains("HTTP_REQUEST") {
            return "the server does not speak TLS on this port (is it plain http?)"
        }
        if detail.contains("UNSUPPORTED_PROTOCOL") || detail.contains("NO_SHARED_CIPHER") {
            return "no TLS version or cipher in common (TLS 1.2 or newer is required)"
        }
        return "handshake failed: \(detail.prefix(160))"
    }
}
