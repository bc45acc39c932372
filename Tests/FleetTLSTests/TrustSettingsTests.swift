import Foundation
import NIOSSL
import Testing

@testable import FleetTLS

@Suite("Trust settings")
struct TrustSettingsTests {
    @Test func unsetOrEmptyMeansTheSystemStore() throws {
        #expect(try TrustSettings.fromEnvironment([:]).caFile == nil)
        #expect(try TrustSettings.fromEnvironment(["FLEET_CA_FILE": ""]).caFile == nil)
        #expect(TrustSettings.system.forFleetServer.trustRoots == .default)
    }

    @Test func aMissingBundleNamesThePath() {
        #expect {
            try TrustSettings.fromEnvironment(["FLEET_CA_FILE": "/nonexistent/ca.pem"])
        } throws: { error in
            "\(error)".contains("FLEET_CA_FILE /nonexistent/ca.pem cannot be used")
        }
    }

    @Test func aFileWithoutCertificatesIsRefused() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("not-a-ca-\(UUID().uuidString).pem").path
        try Data("hello\n".utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: TrustError.self) { try TrustSettings.load(caFile: path) }
    }

    @Test func handshakeFailuresReadAsOneLine() {
        let verify = TLSFailure.reason(for: "sslError([Error: 268435581 error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED])")
        #expect(verify.contains("FLEET_CA_FILE"))
        #expect(TLSFailure.reason(for: "error:100000f7:SSL routines:OPENSSL_internal:WRONG_VERSION_NUMBER").contains("plain http"))
        let failure = TLSFailure.classify(NIOSSLExtraError.failedToValidateHostname, host: "edge.example")
        #expect(failure?.description == "TLS: the certificate of edge.example did not verify: it is not issued for edge.example")
        #expect(TLSFailure.classify(CancellationError(), host: "x") == nil)
    }
}
