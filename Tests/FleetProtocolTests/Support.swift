import FleetProtocol
import Foundation
import Testing

/// Encodes with the shared encoder and decodes the result with the shared decoder.
func roundTrip<T: Codable>(_ value: T) throws -> T {
    try FleetJSON.makeDecoder().decode(T.self, from: FleetJSON.makeEncoder().encode(value))
}

/// Checks that `value` survives encode → decode unchanged; returns the JSON text for further checks.
@discardableResult
func expectRoundTrip<T: Codable & Equatable>(_ value: T, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
    let data = try FleetJSON.makeEncoder().encode(value)
    let decoded = try FleetJSON.makeDecoder().decode(T.self, from: data)
    #expect(decoded == value, "\(T.self) changed in a round trip", sourceLocation: sourceLocation)
    return String(decoding: data, as: UTF8.self)
}

/// Decodes a JSON literal with the shared decoder.
func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
    try FleetJSON.makeDecoder().decode(type, from: Data(json.utf8))
}

/// Fixed instants on whole seconds, so a round trip through millisecond timestamps is exact.
enum Instants {
    static let created = Date(timeIntervalSince1970: 1_738_324_800)  // 2025-01-31T12:00:00Z
    static let delivered = created.addingTimeInterval(2)
    static let started = created.addingTimeInterval(3)
    static let finished = created.addingTimeInterval(65)
    static let leaseEnds = created.addingTimeInterval(62)
}

enum Fixtures {
    static let commandId = UUID(uuidString: "6f1c2a9e-3b7d-4c1e-9a55-0d2f4b8e7c10")!
    static let otherId = UUID(uuidString: "0b6a4f7e-1c2d-4e3f-8a9b-0c1d2e3f4a5b")!
    static let sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

    static let run = CommandPayload.runCommand(
        RunCommandPayload(cmd: "uptime && df -h /", timeoutSec: 30, env: ["LANG": "C.UTF-8"], cwd: "/var/tmp"))
    static let updateAgent = CommandPayload.updateAgent(
        UpdateAgentPayload(version: "0.4.0", sha256: sha256, url: "https://downloads.example.com/node-agent-0.4.0", timeoutSec: 600))
    static let updatePackage = CommandPayload.updatePackage(
        UpdatePackagePayload(action: .install, packages: ["nginx", "libssl3=3.0.11-1"], manager: .apt, timeoutSec: 900))
    static let payloads = [run, updateAgent, updatePackage]
}
