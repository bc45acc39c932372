import Foundation
import NIOSSL

/// Which certificates a Fleet client trusts: the system store, or only the PEM bundle named by
/// `FLEET_CA_FILE` (a private CA). Loaded once at start-up so an unreadable bundle is a
/// configuration error, not a failure on every connection.
public struct TrustSettings: Sendable {
    /// The bundle's path, when one is set.
    public let caFile: String?
    private let certificates: [NIOSSLCertificate]

    /// The system trust store only.
    public static let system = TrustSettings(caFile: nil, certificates: [])

    private init(caFile: String?, certificates: [NIOSSLCertificate]) {
        self.caFile = caFile
        self.certificates = certificates
    }

    /// From `FLEET_CA_FILE` when set and not empty; the system store otherwise.
    public static func fromEnvironment(_ environment: [String: String]) throws(TrustError) -> TrustSettings {
        guard let path = environment["FLEET_CA_FILE"], !path.isEmpty else { return .system }
        return try load(caFile: path)
    }

    /// Reads every certificate of the PEM bundle at `path`.
    public static func load(caFile path: String) throws(TrustError) -> TrustSettings {
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw .unreadableBundle(path: path, reason: "no such file, or not readable by this user")
        }
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(path)
        } catch {
            throw .unreadableBundle(path: path, reason: "\(error)")
        }
        guard !certificates.isEmpty else { throw .unreadableBundle(path: path, reason: "no PEM certificate in it") }
        return TrustSettings(caFile: path, certificates: certificates)
    }

    /// For agent-svc: the bundle alone when set, so a private CA is the only one that can
    /// vouch for the server (a public CA's certificate for the same name is refused).
    public var forFleetServer: TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if !certificates.isEmpty { configuration.trustRoots = .certificates(certificates) }
        return configuration
    }

    /// For anywhere else (an artifact URL an operator named): the system store and the
    /// bundle, since such a host may carry a public certificate or one of the private CA.
    public var forOtherHosts: TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if !certificates.isEmpty { configuration.additionalTrustRoots = [.certificates(certificates)] }
        return configuration
    }
}

/// A trust bundle that cannot be used.
public enum TrustError: Error, Equatable, CustomStringConvertible {
    case unreadableBundle(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadableBundle(let path, let reason): "FLEET_CA_FILE \(path) cannot be used: \(reason)"
        }
    }
}
