import Foundation

/// A CA and a server certificate it signed, made by the openssl command line in a temporary
/// directory, as an operator's private CA would be.
struct TestCertificates {
    let directory: URL
    var caCertificate: String { directory.appendingPathComponent("ca.pem").path }
    var serverCertificate: String { directory.appendingPathComponent("server.pem").path }
    var serverKey: String { directory.appendingPathComponent("server.key").path }

    /// A new CA and a server certificate for `names` (DNS names and IP addresses).
    static func make(names: [String] = ["localhost", "127.0.0.1"]) throws -> TestCertificates {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let certificates = TestCertificates(directory: directory)
        let san = names.map { $0.first?.isNumber == true ? "IP:\($0)" : "DNS:\($0)" }.joined(separator: ",")
        let extensions = directory.appendingPathComponent("server.ext")
        try Data("basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=\(san)\n".utf8).write(to: extensions)
        try openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
            "-subj", "/CN=fleet test CA", "-keyout", directory.appendingPathComponent("ca.key").path, "-out", certificates.caCertificate,
        ])
        let request = directory.appendingPathComponent("server.csr").path
        try openssl([
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=\(names[0])",
            "-keyout", certificates.serverKey, "-out", request,
        ])
        try openssl([
            "x509", "-req", "-in", request, "-CA", certificates.caCertificate, "-CAkey", directory.appendingPathComponent("ca.key").path,
            "-CAcreateserial", "-days", "2", "-extfile", extensions.path, "-out", certificates.serverCertificate,
        ])
        return certificates
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }

    private static func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let output = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestSetupError("openssl \(arguments[0]) failed: \(String(decoding: output, as: UTF8.self))")
        }
    }
}
