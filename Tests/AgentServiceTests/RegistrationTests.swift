import FleetProtocol
import Foundation
import HummingbirdTesting
import Testing

@Suite("Registration")
struct RegistrationTests {
    @Test("a node registers with the enrollment token and gets a node token")
    func registers() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            // act
            let response = try await client.send(
                .post, "/v1/agents/register", headers: [enrollmentHeader: TestFleet.enrollment],
                raw: #"{"node_id":"edge-1","attrs":{"os":"linux","arch":"x86_64"}}"#)
            // check
            #expect(response.status == .created)
            let body = try response.decode(NodeTokenResponse.self)
            #expect(body.nodeId == "edge-1")
            #expect(body.expiresAt > Date())
            let claims = try await fleet.tokens.verify(body.token)
            #expect(claims.subject == "edge-1")
            #expect(claims.role == .node)
            let nodes = try await client.send(.get, "/v1/agents", token: try await fleet.operatorToken()).decode(NodeListResponse.self)
            #expect(nodes.nodes.map(\.nodeId) == ["edge-1"])
            #expect(nodes.nodes.first?.attrs == ["os": "linux", "arch": "x86_64"])
        }
    }

    @Test("registration without or with a wrong enrollment token is refused and writes nothing")
    func enrollmentRequired() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            let missing = try await client.send(.post, "/v1/agents/register", raw: #"{"node_id":"edge-1"}"#)
            #expect(missing.status == .unauthorized)
            let wrong = try await client.send(
                .post, "/v1/agents/register", headers: [enrollmentHeader: "nope"], raw: #"{"node_id":"edge-1"}"#)
            #expect(wrong.status == .unauthorized)
            #expect(wrong.errorCode == "unauthorized")
            let count = try await fleet.sql("SELECT count(*)::int FROM nodes").first?.decode(Int.self)
            #expect(count == 0)
        }
    }

    @Test("an existing node id cannot be taken over; the node itself may re-register")
    func noTakeover() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            let token = try await client.register("edge-1")
            let takeover = try await client.send(
                .post, "/v1/agents/register", headers: [enrollmentHeader: TestFleet.enrollment],
                raw: #"{"node_id":"edge-1","attrs":{"os":"evil"}}"#)
            #expect(takeover.status == .conflict)
            #expect(takeover.errorCode == "node_exists")
            // another node's token does not prove identity either
            let other = try await client.register("edge-2")
            let withOther = try await client.send(
                .post, "/v1/agents/register", token: other, headers: [enrollmentHeader: TestFleet.enrollment],
                raw: #"{"node_id":"edge-1","attrs":{"os":"evil"}}"#)
            #expect(withOther.status == .conflict)
            let own = try await client.send(
                .post, "/v1/agents/register", token: token, headers: [enrollmentHeader: TestFleet.enrollment],
                raw: #"{"node_id":"edge-1","attrs":{"os":"linux","v":"2"}}"#)
            #expect(own.status == .ok)
            let node = try await client.send(.get, "/v1/agents/edge-1", token: try await fleet.operatorToken()).decode(NodeInfo.self)
            #expect(node.attrs == ["os": "linux", "v": "2"])
        }
    }

    @Test("token refresh gives a working token of the same node")
    func refresh() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            let token = try await client.register("edge-1")
            let response = try await client.send(.post, "/v1/agents/token", token: token)
            #expect(response.status == .ok)
            let fresh = try response.decode(NodeTokenResponse.self)
            #expect(fresh.token != token)
            _ = try await client.poll(token: fresh.token)
        }
    }
}
