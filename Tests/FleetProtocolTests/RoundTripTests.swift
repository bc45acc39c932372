import FleetProtocol
import Foundation
import Testing

/// Every public Codable type of the DTO module survives encode → decode with the shared coders,
/// and puts the snake_case keys of the API on the wire.
@Suite("Codable round trips")
struct RoundTripTests {
    @Test("every invocation state round-trips", arguments: InvocationState.allCases)
    func invocationState(state: InvocationState) throws {
        try expectRoundTrip(state)
        try expectRoundTrip(StatusResponse(commandId: Fixtures.commandId, state: state, cancelRequested: state == .cancelled))
    }

    @Test("every enum case round-trips under its wire name")
    func simpleEnums() throws {
        func wire(_ value: some Encodable) throws -> String { String(decoding: try FleetJSON.makeEncoder().encode(value), as: UTF8.self) }
        #expect(
            try wire(InvocationState.allCases) == #"["queued","delivered","running","succeeded","failed","timed_out","cancelled","expired","lost"]"#)
        #expect(try wire(CommandType.allCases) == #"["RunCommand","UpdateAgent","UpdatePackage"]"#)
        #expect(try wire(PackageAction.allCases) == #"["install","remove","upgrade"]"#)
        #expect(try wire(PackageManagerKind.allCases) == #"["apt","dnf","yum","apk","zypper"]"#)
        #expect(try wire(NodeStatus.allCases) == #"["active","revoked"]"#)
        #expect(try wire(LogStream.allCases) == #"["stdout","stderr"]"#)
        #expect(try wire(ChunkEncoding.allCases) == #"["utf8","base64"]"#)
        #expect(try wire([ChunkOutcome.stored, .duplicate]) == #"["stored","duplicate"]"#)
        for value in CommandType.allCases { try expectRoundTrip(value) }
        for value in PackageAction.allCases { try expectRoundTrip(value) }
        for value in PackageManagerKind.allCases { try expectRoundTrip(value) }
        for value in NodeStatus.allCases { try expectRoundTrip(value) }
        for value in LogStream.allCases { try expectRoundTrip(value) }
        for value in ChunkEncoding.allCases { try expectRoundTrip(value) }
        for value in [ChunkOutcome.stored, .duplicate] { try expectRoundTrip(value) }
    }

    @Test("submit requests of every command type round-trip with their command_type")
    func submitRequests() throws {
        for payload in Fixtures.payloads {
            // act
            let json = try expectRoundTrip(SubmitCommandRequest(targets: ["edge-1", "edge-2"], payload: payload))
            // check
            #expect(json.contains(#""command_type":"\#(payload.commandType.rawValue)""#))
            #expect(json.contains(#""timeout_sec":"#))
        }
        let agent = try expectRoundTrip(SubmitCommandRequest(targets: ["edge-1"], payload: Fixtures.updateAgent))
        #expect(agent.contains(#""sha256":"\#(Fixtures.sha256)""#))
        let byArtifact = try expectRoundTrip(
            SubmitCommandRequest(
                targets: ["edge-1"],
                payload: .updateAgent(UpdateAgentPayload(version: "0.4.0", sha256: Fixtures.sha256, artifactId: "node-agent-0.4.0"))))
        #expect(byArtifact.contains(#""artifact_id":"node-agent-0.4.0""#))
    }

    @Test("payload bodies are stored without their type and rebuilt from it")
    func payloadBodies() throws {
        for payload in Fixtures.payloads {
            let body = try payload.bodyJSON()
            #expect(!String(decoding: body, as: UTF8.self).contains("command_type"))
            #expect(try CommandPayload(type: payload.commandType, bodyJSON: body) == payload)
        }
    }

    @Test("absent optionals are left out of the JSON, never sent as null")
    func optionalsOmitted() throws {
        let json = try expectRoundTrip(SubmitCommandRequest(targets: ["edge-1"], payload: .runCommand(RunCommandPayload(cmd: "uptime"))))
        #expect(json == #"{"command_type":"RunCommand","payload":{"cmd":"uptime"},"targets":["edge-1"]}"#)
        #expect(!json.contains("null"))
    }

    @Test("command history types round-trip")
    func history() throws {
        var counts = StateCounts()
        counts.add(.succeeded, 2)
        counts.add(.timedOut)
        counts.add(.running)
        #expect(counts.total == 4)
        #expect(counts.pending == 1)
        let countsJSON = try expectRoundTrip(counts)
        #expect(countsJSON.contains(#""timed_out":1"#))

        let submitted = SubmitCommandResponse(
            commandId: Fixtures.commandId, commandType: .runCommand, targets: ["edge-1", "edge-2"], createdAt: Instants.created)
        let submittedJSON = try expectRoundTrip(submitted)
        #expect(submittedJSON.lowercased().contains(#""command_id":"6f1c2a9e-3b7d-4c1e-9a55-0d2f4b8e7c10""#))
        #expect(submittedJSON.contains(#""created_at":"#))
        #expect(submitted.state == .queued)

        for payload in Fixtures.payloads {
            let summary = CommandSummary(
                commandId: Fixtures.commandId, payload: payload, createdBy: "alice", createdAt: Instants.created,
                targetCount: 3, counts: counts)
            let summaryJSON = try expectRoundTrip(summary)
            for key in ["command_id", "command_type", "created_by", "created_at", "target_count", "counts"] {
                #expect(summaryJSON.contains(#""\#(key)":"#), "CommandSummary lacks \(key)")
            }
            try expectRoundTrip(CommandListResponse(commands: [summary], nextCursor: "1042"))
        }
        let list = try expectRoundTrip(CommandListResponse(commands: [], nextCursor: "17"))
        #expect(list.contains(#""next_cursor":"17""#))
        try expectRoundTrip(CommandListResponse(commands: [], nextCursor: nil))

        let finished = InvocationInfo(
            nodeId: "edge-1", state: .succeeded, exitCode: 0, deliveryCount: 1, createdAt: Instants.created,
            deliveredAt: Instants.delivered, startedAt: Instants.started, finishedAt: Instants.finished,
            stdoutBytes: 6, stderrBytes: 0, stdoutTotal: 6, stderrTotal: 0)
        let killed = InvocationInfo(
            nodeId: "edge-2", state: .timedOut, signal: 9, reason: "timed out after 30 s", deliveryCount: 2,
            cancelRequested: true, createdAt: Instants.created)
        let infoJSON = try expectRoundTrip(finished)
        for key in [
            "node_id", "exit_code", "delivery_count", "cancel_requested", "delivered_at", "started_at",
            "finished_at", "stdout_bytes", "stderr_bytes", "stdout_total", "stderr_total",
        ] {
            #expect(infoJSON.contains(#""\#(key)":"#), "InvocationInfo lacks \(key)")
        }
        try expectRoundTrip(killed)
        let summary = CommandSummary(
            commandId: Fixtures.commandId, payload: Fixtures.run, createdBy: "alice", createdAt: Instants.created,
            targetCount: 2, counts: counts)
        try expectRoundTrip(CommandDetail(command: summary, invocations: [finished, killed]))
        let cancel = try expectRoundTrip(CancelResponse(commandId: Fixtures.commandId, cancelled: 3, cancelling: 1))
        #expect(cancel.contains(#""cancelling":1"#))
    }

    @Test("node registry types round-trip")
    func nodes() throws {
        try expectRoundTrip(RegisterRequest(nodeId: "edge-1", attrs: ["os": "linux", "region": "eu-west"]))
        try expectRoundTrip(RegisterRequest(nodeId: "edge-1"))
        let token = try expectRoundTrip(NodeTokenResponse(nodeId: "edge-1", token: "eyJhbGciOiJIUzI1NiJ9.e30.sig", expiresAt: Instants.finished))
        #expect(token.contains(#""expires_at":"#))
        let seen = NodeInfo(
            nodeId: "edge-1", attrs: ["os": "linux"], status: .active, online: true, agentVersion: "0.3.0",
            registeredAt: Instants.created, lastSeenAt: Instants.finished)
        let never = NodeInfo(
            nodeId: "edge-2", attrs: [:], status: .revoked, online: false, agentVersion: nil, registeredAt: Instants.created,
            lastSeenAt: nil)
        let infoJSON = try expectRoundTrip(seen)
        for key in ["node_id", "agent_version", "registered_at", "last_seen_at"] {
            #expect(infoJSON.contains(#""\#(key)":"#), "NodeInfo lacks \(key)")
        }
        try expectRoundTrip(never)
        let list = try expectRoundTrip(NodeListResponse(nodes: [seen, never], nextCursor: "edge-2"))
        #expect(list.contains(#""next_cursor":"edge-2""#))
        try expectRoundTrip(NodeListResponse(nodes: [], nextCursor: nil))
        let revoke = try expectRoundTrip(RevokeResponse(nodeId: "edge-1", revokedAt: Instants.finished))
        #expect(revoke.contains(#""revoked_at":"#))
    }

    @Test("node-agent wire types round-trip")
    func agentWire() throws {
        let poll = try expectRoundTrip(PollRequest(waitSec: 25, active: [Fixtures.commandId], agentVersion: "0.3.0"))
        #expect(poll.contains(#""wait_sec":25"#))
        #expect(poll.contains(#""agent_version":"0.3.0""#))
        #expect(try expectRoundTrip(PollRequest()) == "{}")

        for payload in Fixtures.payloads {
            let assignment = Assignment(commandId: Fixtures.commandId, payload: payload, leaseExpiresAt: Instants.leaseEnds, deliveryCount: 2)
            let json = try expectRoundTrip(assignment)
            #expect(json.contains(#""command_type":"\#(payload.commandType.rawValue)""#))
            #expect(json.contains(#""lease_expires_at":"#))
            #expect(json.contains(#""delivery_count":2"#))
            try expectRoundTrip(PollResponse(assignments: [assignment], cancel: [Fixtures.otherId]))
        }
        try expectRoundTrip(PollResponse(assignments: [], cancel: []))

        let report = try expectRoundTrip(
            StatusReport(
                commandId: Fixtures.commandId, state: .timedOut, exitCode: nil, signal: 15, reason: "timeout after 30 s",
                stdoutBytes: 1_048_576, stderrBytes: 12))
        for key in ["command_id", "stdout_bytes", "stderr_bytes"] {
            #expect(report.contains(#""\#(key)":"#), "StatusReport lacks \(key)")
        }
        #expect(report.contains(#""state":"timed_out""#))
        try expectRoundTrip(StatusReport(commandId: Fixtures.commandId, state: .succeeded, exitCode: 0, stdoutBytes: 6, stderrBytes: 0))
        let response = try expectRoundTrip(StatusResponse(commandId: Fixtures.commandId, state: .running, cancelRequested: true))
        #expect(response.contains(#""cancel_requested":true"#))
    }

    @Test("log types round-trip")
    func logs() throws {
        let chunks = [
            LogChunk(offset: 0, stream: .stdout, data: "hello\n"),
            LogChunk(offset: 6, stream: .stdout, bytes: [0xff, 0xfe, 0x00, 0x80]),
            LogChunk(offset: 0, stream: .stderr, data: "warn: ünïcödé 🚀\n", nodeId: "edge-2"),
        ]
        let upload = try expectRoundTrip(UploadLogsRequest(commandId: Fixtures.commandId, chunks: chunks))
        #expect(upload.contains(#""command_id":"#))
        let receipts = [
            ChunkReceipt(stream: .stdout, offset: 0, length: 6, outcome: .stored),
            ChunkReceipt(stream: .stdout, offset: 6, length: 4, outcome: .duplicate),
        ]
        let uploaded = try expectRoundTrip(
            UploadLogsResponse(commandId: Fixtures.commandId, receipts: receipts, stdoutBytes: 10, stderrBytes: 0))
        #expect(uploaded.contains(#""stdout_bytes":10"#))
        #expect(uploaded.contains(#""outcome":"duplicate""#))
        let page = try expectRoundTrip(
            LogPage(commandId: Fixtures.commandId, nodeId: nil, chunks: chunks, nextCursor: "edge-1:42,edge-2:43", complete: true))
        #expect(page.contains(#""next_cursor":"edge-1:42,edge-2:43""#))
        #expect(page.contains(#""complete":true"#))
        let onePage = try expectRoundTrip(
            LogPage(commandId: Fixtures.commandId, nodeId: "edge-1", chunks: [], nextCursor: "", complete: false))
        #expect(onePage.contains(#""node_id":"edge-1""#))
    }

    @Test("error and health bodies round-trip in their documented shape")
    func errorsAndHealth() throws {
        let error = try expectRoundTrip(ErrorResponse(code: "invalid_payload", message: "payload.cmd must not be empty"))
        #expect(error == #"{"error":{"code":"invalid_payload","message":"payload.cmd must not be empty"}}"#)
        try expectRoundTrip(ErrorResponse.Detail(code: "not_found", message: "no node 'edge-9'"))
        #expect(try expectRoundTrip(HealthResponse(status: "ok")) == #"{"status":"ok"}"#)
        try expectRoundTrip(HealthResponse(status: "unavailable", detail: "migrations pending"))
    }

    @Test("an unknown command_type is a decoding error that names the accepted types")
    func unknownCommandType() throws {
        let bodies = [
            #"{"command_type":"Reboot","targets":["edge-1"],"payload":{"cmd":"reboot"}}"#,
            #"{"command_type":"runcommand","targets":["edge-1"],"payload":{"cmd":"uptime"}}"#,
        ]
        for body in bodies {
            // act
            let error = try #require(throws: DecodingError.self) { try decode(SubmitCommandRequest.self, body) }
            // check
            guard case .dataCorrupted(let context) = error else {
                Issue.record("expected dataCorrupted, got \(error)")
                continue
            }
            #expect(context.codingPath.map(\.stringValue) == ["command_type"])
            #expect(context.debugDescription.contains("RunCommand, UpdateAgent, UpdatePackage"))
            #expect(String(describing: error).contains("RunCommand, UpdateAgent, UpdatePackage"))
        }
    }

    @Test("a payload that does not fit its command_type is a decoding error")
    func mismatchedPayload() {
        #expect(throws: DecodingError.self) {
            try decode(SubmitCommandRequest.self, #"{"command_type":"UpdatePackage","targets":["edge-1"],"payload":{"cmd":"uptime"}}"#)
        }
        #expect(throws: DecodingError.self) {
            try decode(SubmitCommandRequest.self, #"{"command_type":"RunCommand","targets":["edge-1"],"payload":{"cmd":"x","timeout_sec":"30"}}"#)
        }
        #expect(throws: DecodingError.self) {
            try decode(SubmitCommandRequest.self, #"{"targets":["edge-1"],"payload":{"cmd":"uptime"}}"#)
        }
        #expect(throws: DecodingError.self) {
            try decode(UpdatePackagePayload.self, #"{"action":"purge","packages":["vim"]}"#)
        }
    }
}
