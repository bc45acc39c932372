import Foundation
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import Synchronization
import UnixSignals

/// The certificate agent-svc serves HTTPS with, replaceable while it runs: every new
/// connection takes the context current when it opened, so a rotated certificate needs
/// neither a restart nor a dropped connection.
public final class ServerCertificate: Sendable {
    public let files: TLSFiles
    private let context: Mutex<NIOSSLContext>

    /// Reads both files; a start-up with files that do not load fails here, naming them.
    public init(files: TLSFiles) throws(ServerCertificateError) {
        self.files = files
        context = Mutex(try Self.load(files))
    }

    /// The context new connections use.
    var current: NIOSSLContext { context.withLock { $0 } }

    /// Re-reads both files. On any failure the certificate in use stays, so a half-copied
    /// rotation never takes the service down.
    public func reload() throws(ServerCertificateError) {
        let fresh = try Self.load(files)
        context.withLock { $0 = fresh }
    }

    static func load(_ files: TLSFiles) throws(ServerCertificateError) -> NIOSSLContext {
        for (variable, path) in [("TLS_CERT_FILE", files.certificate), ("TLS_KEY_FILE", files.key)]
        where !FileManager.default.isReadableFile(atPath: path) {
            throw .unreadable(variable: variable, path: path, reason: "no such file, or not readable by this user")
        }
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(files.certificate)
        } catch {
            throw .unreadable(variable: "TLS_CERT_FILE", path: files.certificate, reason: "\(error)")
        }
        guard !chain.isEmpty else {
            throw .unreadable(variable: "TLS_CERT_FILE", path: files.certificate, reason: "no PEM certificate in it")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: files.key, format: .pem)
        } catch {
            throw .unreadable(variable: "TLS_KEY_FILE", path: files.key, reason: "\(error)")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            // BoringSSL checks that the key belongs to the certificate here.
            throw .unreadable(
                variable: "TLS_KEY_FILE", path: files.key, reason: "does not match the certificate in \(files.certificate) (\(error))")
        }
    }
}

/// A certificate or key that cannot be served.
public enum ServerCertificateError: Error, Equatable, CustomStringConvertible {
    case unreadable(variable: String, path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let variable, let path, let reason): "\(variable) \(path) cannot be used: \(reason)"
        }
    }
}

/// Re-reads the certificate on SIGHUP, logging what happened either way.
struct CertificateReloader: Service {
    let certificate: ServerCertificate
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            do {
                try certificate.reload()
                logger.notice("TLS certificate reloaded", metadata: ["file": "\(certificate.files.certificate)"])
            } catch {
                logger.error("TLS certificate not reloaded; the previous one stays in use", metadata: ["reason": "\(error)"])
            }
        }
    }
}
