import AgentService
import AsyncHTTPClient
import FleetTLS
import Foundation
import HummingbirdTesting
import NIOCore
import Testing

/// agent-svc over HTTPS: a client trusting the private CA gets through, one trusting only the
/// system store is told why not, and a reloaded certificate is what the next connection sees.
@Suite("HTTPS", .serialized)
struct TLSTests {
    @Test func aClientTrustingTheCAIsServedAndOthersAreToldWhy() async throws {
        let certificates = try TestCertificates.make(names: ["localhost"])
        defer { certificates.remove() }
        let fleet = try await TestFleet.make()
        let certificate = try ServerCertificate(
            files: TLSFiles(certificate: certificates.serverCertificate, key: certificates.serverKey))
        try await fleet.run(.live, certificate: certificate) { client, _ in
            let port = try #require(client.port)
            let url = "https://localhost:\(port)/healthz"
            let trusted = try TrustSettings.load(caFile: certificates.caCertificate)
            #expect(try await Self.status(url, trust: trusted) == 200)
            let failure = try await Self.failure(url, trust: .system)
            #expect(failure?.description.hasPrefix("TLS: the certificate of localhost did not verify") == true)
            #expect(failure?.reason.contains("FLEET_CA_FILE") == true)
            // A name the certificate does not carry is refused even under the right CA.
            let wrongName = try await Self.failure("https://127.0.0.1:\(port)/healthz", trust: trusted)
            #expect(wrongName?.reason == "it is not issued for 127.0.0.1")
        }
    }

    @Test func aReloadedCertificateServesNewConnectionsAndABadOneIsRefused() async throws {
        let first = try TestCertificates.make()
        let second = try TestCertificates.make()
        defer {
            first.remove()
            second.remove()
        }
        let live = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-live-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: live, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: live) }
        let files = TLSFiles(certificate: live.appendingPathComponent("cert.pem").path, key: live.appendingPathComponent("key.pem").path)
        try Self.install(first, as: files)
        let certificate = try ServerCertificate(files: files)
        let fleet = try await TestFleet.make()
        try await fleet.run(.live, certificate: certificate) { client, _ in
            let url = "https://127.0.0.1:\(try #require(client.port))/healthz"
            let firstCA = try TrustSettings.load(caFile: first.caCertificate)
            let secondCA = try TrustSettings.load(caFile: second.caCertificate)
            #expect(try await Self.status(url, trust: firstCA) == 200)
            #expect(try await Self.failure(url, trust: secondCA) != nil)

            try Self.install(second, as: files)
            try certificate.reload()
            #expect(try await Self.status(url, trust: secondCA) == 200)
            #expect(try await Self.failure(url, trust: firstCA) != nil)

            // A half-written rotation: refused, and the certificate in use stays.
            try Data("-----BEGIN CERTIFICATE-----\ngarbage\n".utf8).write(to: URL(fileURLWithPath: files.certificate))
            #expect(throws: ServerCertificateError.self) { try certificate.reload() }
            #expect(try await Self.status(url, trust: secondCA) == 200)
        }
    }

    @Test func aKeyThatDoesNotMatchIsAStartupErrorNamingTheFile() throws {
        let first = try TestCertificates.make()
        let second = try TestCertificates.make()
        defer {
            first.remove()
            second.remove()
        }
        #expect {
            try ServerCertificate(files: TLSFiles(certificate: first.serverCertificate, key: second.serverKey))
        } throws: { error in
            "\(error)".contains("TLS_KEY_FILE \(second.serverKey) cannot be used")
        }
        #expect {
            try ServerCertificate(files: TLSFiles(certificate: "/nonexistent.pem", key: first.serverKey))
        } throws: { error in
            "\(error)".hasPrefix("TLS_CERT_FILE /nonexistent.pem cannot be used")
        }
    }

    @Test func bothFilesOrNeither() throws {
        let base = ["JWT_SIGNING_SECRET": String(repeating: "s", count: 32)]
        #expect(try ServiceConfiguration.fromEnvironment(base).tls == nil)
        let both = try ServiceConfiguration.fromEnvironment(base.merging(["TLS_CERT_FILE": "/c", "TLS_KEY_FILE": "/k"]) { $1 })
        #expect(both.tls == TLSFiles(certificate: "/c", key: "/k"))
        #expect(throws: ConfigurationError.self) { try ServiceConfiguration.fromEnvironment(base.merging(["TLS_CERT_FILE": "/c"]) { $1 }) }
        #expect(throws: ConfigurationError.self) { try ServiceConfiguration.fromEnvironment(base.merging(["TLS_KEY_FILE": "/k"]) { $1 }) }
    }

    // MARK: - Helpers

    static func install(_ certificates: TestCertificates, as files: TLSFiles) throws {
        for (source, target) in [(certificates.serverCertificate, files.certificate), (certificates.serverKey, files.key)] {
            try? FileManager.default.removeItem(atPath: target)
            try FileManager.default.copyItem(atPath: source, toPath: target)
        }
    }

    /// A fresh client per call, so each call is a new connection and a new handshake.
    static func withClient<T>(trust: TrustSettings, _ body: (HTTPClient) async throws -> T) async throws -> T {
        var configuration = HTTPClient.Configuration(tlsConfiguration: trust.forFleetServer)
        configuration.connectionPool.retryConnectionEstablishment = false
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            let result = try await body(client)
            try await client.shutdown()
            return result
        } catch {
            try await client.shutdown()
            throw error
        }
    }

    static func status(_ url: String, trust: TrustSettings) async throws -> UInt {
        try await withClient(trust: trust) { client in
            let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
            _ = try await response.body.collect(upTo: 1 << 20)
            return response.status.code
        }
    }

    /// The TLS failure a call met, or nil when it got through.
    static func failure(_ url: String, trust: TrustSettings) async throws -> TLSFailure? {
        try await withClient(trust: trust) { client in
            do {
                _ = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
                return nil
            } catch {
                let host = URL(string: url)?.host ?? url
                guard let failure = TLSFailure.classify(error, host: host) else {
                    throw TestSetupError("not a TLS failure: \(error)")
                }
                return failure
            }
        }
    }
}
