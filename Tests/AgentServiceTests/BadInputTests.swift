import FleetProtocol
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite("Bad input")
struct BadInputTests {
    @Test("malformed bodies get a 4xx JSON error naming the problem, never a 500")
    func malformedBodies() async throws {
        let fleet = try await TestFleet.make { $0.maxBodyBytes = 256 * 1024 }
        try await fleet.run { client in
            let op = try await fleet.operatorToken()
            let node = try await client.register("edge-1")
            let cases: [(String, String?, String, HTTPResponse.Status, String)] = [
                ("/v1/commands/submit", op, "{not json", .badRequest, "not valid JSON"),
                ("/v1/commands/submit", op, "", .badRequest, "empty"),
                ("/v1/commands/submit", op, #"{"command_type":"RunCommand","targets":"edge-1","payload":{"cmd":"x"}}"#, .badRequest, "targets"),
                ("/v1/commands/submit", op, #"{"command_type":"Reboot","targets":["edge-1"],"payload":{}}"#, .badRequest, "unknown command_type"),
                ("/v1/commands/submit", op, #"{"command_type":"RunCommand","targets":["edge-1"],"payload":{"cmd":42}}"#, .badRequest, "payload.cmd"),
                ("/v1/commands/submit", op, #"{"command_type":"RunCommand","targets":["edge-1"]}"#, .badRequest, "payload"),
                (
                    "/v1/commands/submit", op, #"{"command_type":"RunCommand","targets":["edge-1"],"payload":{"cmd":""}}"#, .badRequest,
                    "cmd must not be empty"
                ),
                (
                    "/v1/commands/submit", op, #"{"command_type":"RunCommand","targets":["edge-1"],"payload":{"cmd":"x","timeout_sec":-5}}"#,
                    .badRequest, "timeout_sec"
                ),
                ("/v1/commands/submit", op, #"{"command_type":"RunCommand","targets":[],"payload":{"cmd":"x"}}"#, .badRequest, "targets"),
                (
                    "/v1/commands/submit", op,
                    #"{"command_type":"UpdatePackage","targets":["edge-1"],"payload":{"action":"install","packages":["vim; rm -rf /"]}}"#,
                    .badRequest, "not a valid package name"
                ),
                (
                    "/v1/commands/submit", op,
                    #"{"command_type":"UpdatePackage","targets":["edge-1"],"payload":{"action":"install","packages":["-o APT::Get::Foo=1"]}}"#,
                    .badRequest, "not a valid package name"
                ),
                (
                    "/v1/commands/submit", op, #"{"command_type":"UpdateAgent","targets":["edge-1"],"payload":{"version":"2","sha256":"zz"}}"#,
                    .badRequest, "sha256"
                ),
                (
                    "/v1/commands/logs", node,
                    #"{"command_id":"00000000-0000-0000-0000-000000000001","chunks":[{"offset":-1,"stream":"stdout","data":"x"}]}"#, .badRequest,
                    "offset must not be negative"
                ),
                (
                    "/v1/commands/logs", node,
                    #"{"command_id":"00000000-0000-0000-0000-000000000001","chunks":[{"offset":99999999999999999999,"stream":"stdout","data":"x"}]}"#,
                    .badRequest, "number 99999999999999999999 is out of range"
                ),  // beyond Int64: no field can hold it, and the message says so
                (
                    "/v1/commands/logs", node,
                    #"{"command_id":"00000000-0000-0000-0000-000000000001","chunks":[{"offset":0,"stream":"stdin","data":"x"}]}"#, .badRequest,
                    "stream"
                ),
                (
                    "/v1/commands/logs", node,
                    #"{"command_id":"00000000-0000-0000-0000-000000000001","chunks":[{"offset":0,"stream":"stdout","data":"%%%","encoding":"base64"}]}"#,
                    .badRequest, "not valid base64"
                ),
                ("/v1/commands/logs", node, #"{"command_id":"not-a-uuid","chunks":[]}"#, .badRequest, "command_id"),
                ("/v1/agents/status", node, #"{"command_id":"00000000-0000-0000-0000-000000000001","state":"exploded"}"#, .badRequest, "state"),
                ("/v1/agents/poll", node, #"{"wait_sec":"soon"}"#, .badRequest, "wait_sec"),
            ]
            for (path, token, body, status, fragment) in cases {
                let response = try await client.send(.post, path, token: token, raw: body)
                #expect(response.status == status, "\(path) \(body.prefix(80)): got \(response.status) \(response.text)")
                let error = try? response.decode(ErrorResponse.self)
                #expect(error != nil, "\(path): body is not the JSON error shape: \(response.text)")
                #expect(error?.error.message.contains(fragment) == true, "\(path): '\(error?.error.message ?? "")' lacks '\(fragment)'")
            }
            let count = try await fleet.sql("SELECT count(*)::int FROM commands").first?.decode(Int.self)
            #expect(count == 0)
        }
    }

    @Test("oversize bodies and chunks are 413")
    func oversize() async throws {
        let fleet = try await TestFleet.make {
            $0.maxBodyBytes = 256 * 1024
            $0.maxChunkBytes = 64 * 1024
        }
        try await fleet.run { client in
            let op = try await fleet.operatorToken()
            let node = try await client.register("edge-1")
            let id = try await client.submit("true", to: ["edge-1"], token: op)
            _ = try await client.poll(token: node)
            let big = String(repeating: "a", count: 300 * 1024)
            let body = try await client.send(
                .post, "/v1/commands/logs", token: node,
                json: UploadLogsRequest(commandId: id, chunks: [LogChunk(offset: 0, stream: .stdout, data: big)]))
            #expect(body.status == .contentTooLarge)
            #expect(body.errorCode == "payload_too_large")
            let chunk = try await client.send(
                .post, "/v1/commands/logs", token: node,
                json: UploadLogsRequest(commandId: id, chunks: [LogChunk(offset: 0, stream: .stdout, data: String(repeating: "b", count: 65 * 1024))])
            )
            #expect(chunk.status == .contentTooLarge)
            let stored = try await fleet.sql("SELECT count(*)::int FROM log_chunks").first?.decode(Int.self)
            #expect(stored == 0)
        }
    }

    @Test("SQL metacharacters are data everywhere: stored verbatim or rejected, never executed")
    func sqlMetacharacters() async throws {
        let fleet = try await TestFleet.make()
        let hostile = #"x'); DROP TABLE nodes; -- \" $1 %s ;"#
        try await fleet.run { client in
            let op = try await fleet.operatorToken(hostile)
            // node ids are validated: hostile ones are refused
            let badId = try await client.send(
                .post, "/v1/agents/register", headers: [enrollmentHeader: TestFleet.enrollment],
                json: RegisterRequest(nodeId: hostile, attrs: [:]))
            #expect(badId.status == .badRequest)
            // attrs, command text, env values, cwd and operator names are stored as they are
            let node = try await client.register("edge-1", attrs: [hostile: hostile])
            let payload = RunCommandPayload(cmd: hostile, timeoutSec: 5, env: ["HOSTILE": hostile], cwd: "/tmp/\(hostile)")
            let submitted = try await client.send(
                .post, "/v1/commands/submit", token: op, json: SubmitCommandRequest(targets: ["edge-1"], payload: .runCommand(payload)))
            #expect(submitted.status == .created)
            let id = try submitted.decode(SubmitCommandResponse.self).commandId
            let poll = try await client.poll(token: node)
            #expect(poll.assignments.first?.payload == .runCommand(payload))
            let status = try await client.send(
                .post, "/v1/agents/status", token: node, json: StatusReport(commandId: id, state: .failed, exitCode: 1, reason: hostile))
            #expect(status.status == .ok)
            let detail = try await client.send(.get, "/v1/commands/\(id)", token: op).decode(CommandDetail.self)
            #expect(detail.invocations.first?.reason == hostile)
            #expect(detail.command.createdBy == hostile)
            let nodes = try await client.send(.get, "/v1/agents", token: op).decode(NodeListResponse.self)
            #expect(nodes.nodes.first?.attrs == [hostile: hostile])
            // hostile path and query parameters
            let path = try await client.send(.get, "/v1/agents/x'%3B%20DROP%20TABLE%20nodes", token: op)
            #expect(path.status == .badRequest)
            let query = try await client.send(.get, "/v1/commands/\(id)/logs?node_id=x'%3BDROP&cursor=1;DROP", token: op)
            #expect(query.status == .badRequest)
            let cursor = try await client.send(.get, "/v1/commands?cursor=1%20OR%201=1", token: op)
            #expect(cursor.status == .badRequest)
            let tables = try await fleet.sql("SELECT count(*)::int FROM nodes").first?.decode(Int.self)
            #expect(tables == 1)
        }
    }

    @Test("unknown routes and ids answer with JSON 404s")
    func notFound() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            let op = try await fleet.operatorToken()
            let route = try await client.send(.get, "/v1/nope", token: op)
            #expect(route.status == .notFound && route.errorCode == "not_found")
            let command = try await client.send(.get, "/v1/commands/\(UUID())", token: op)
            #expect(command.status == .notFound && command.errorCode == "not_found")
            let badId = try await client.send(.get, "/v1/commands/123", token: op)
            #expect(badId.status == .badRequest)
            let node = try await client.send(.get, "/v1/agents/ghost", token: op)
            #expect(node.status == .notFound)
            let revoke = try await client.send(.post, "/v1/agents/ghost/revoke", token: op)
            #expect(revoke.status == .notFound)
            let cancel = try await client.send(.post, "/v1/commands/\(UUID())/cancel", token: op)
            #expect(cancel.status == .notFound)
        }
    }

    @Test("values Postgres cannot store are the client's mistake: 400 naming the problem, never a 503")
    func unstorableValues() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            let op = try await fleet.operatorToken()
            // a NUL in an attribute: Postgres refuses it in text and jsonb (SQLSTATE class 22)
            let register = try await client.send(
                .post, "/v1/agents/register", headers: [enrollmentHeader: TestFleet.enrollment],
                raw: #"{"node_id":"edge-nul","attrs":{"os":"li\u0000nux"}}"#)
            #expect(register.status == .badRequest, "\(register.text)")
            #expect(register.errorCode == "invalid_value")
            let none = try await fleet.sql("SELECT count(*)::int FROM nodes WHERE node_id = 'edge-nul'").first?.decode(Int.self)
            #expect(none == 0, "nothing half-written")
            // numbers out of the columns' range at a status report name their field
            let node = try await client.register("edge-1")
            let id = try await client.submit("true", to: ["edge-1"], token: op)
            _ = try await client.poll(token: node)
            for (body, field) in [
                (#"{"command_id":"\#(id)","state":"failed","exit_code":2147483648}"#, "exit_code"),
                (#"{"command_id":"\#(id)","state":"failed","exit_code":-5388608414}"#, "exit_code"),
                (#"{"command_id":"\#(id)","state":"failed","signal":1099511627776}"#, "signal"),
                (#"{"command_id":"\#(id)","state":"failed","signal":0}"#, "signal"),
            ] {
                let response = try await client.send(.post, "/v1/agents/status", token: node, raw: body)
                #expect(response.status == .badRequest, "\(body): \(response.text)")
                #expect(response.text.contains(field), "\(response.text)")
            }
            let state = try await fleet.sql("SELECT state FROM invocations WHERE command_id = \(id)").first?.decode(String.self)
            #expect(state == "delivered", "no refused report changed the invocation")
        }
    }

    @Test("ambiguous input is refused: duplicate keys, other encodings, repeated or empty limits")
    func ambiguousInput() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            let op = try await fleet.operatorToken()
            let node = try await client.register("edge-1")
            let duplicate = try await client.send(
                .post, FleetPaths.submit, token: op,
                raw: #"{"command_type":"RunCommand","targets":["edge-1"],"payload":{"cmd":"echo first","cmd":"echo second"}}"#)
            #expect(duplicate.status == .badRequest && duplicate.text.contains("duplicate key 'cmd'"), "\(duplicate.text)")
            let queued = try await fleet.sql("SELECT count(*)::int FROM commands").first?.decode(Int.self)
            #expect(queued == 0)
            let wide = try await client.send(.post, "/v1/agents/poll", token: node, raw: #"{"wait_sec": 17500686229317330944}"#)
            #expect(wide.status == .badRequest && wide.text.contains("out of range"), "\(wide.text)")
            for query in ["limit=", "limit=1&limit=2"] {
                let response = try await client.send(.get, "/v1/commands?\(query)", token: op)
                #expect(response.status == .badRequest, "\(query): \(response.text)")
            }
            let escaped = try await client.send(.get, "/v1/agents/edge%2D1", token: op)
            #expect(escaped.status == .ok, "a percent-encoded id is the same id: \(escaped.text)")
        }
    }
}
