import FleetProtocol
import Foundation
import HummingbirdTesting
import Testing

@testable import AgentService

private func upload(_ client: any TestClientProtocol, _ node: String, _ id: UUID, _ chunks: [LogChunk]) async throws -> TestResponse {
    try await client.send(.post, "/v1/commands/logs", token: node, json: UploadLogsRequest(commandId: id, chunks: chunks))
}

@Suite("Log chunks")
struct LogTests {
    @Test("chunk upload is idempotent: the same bytes again are acknowledged as duplicates")
    func replayIsIdempotent() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            let (id, node, _) = try await fleet.deliveredRun(client)
            let chunks = [
                LogChunk(offset: 0, stream: .stdout, bytes: Array("hello ".utf8)),
                LogChunk(offset: 0, stream: .stderr, bytes: Array("warn\n".utf8)),
                LogChunk(offset: 6, stream: .stdout, bytes: Array("world\n".utf8)),
            ]
            let first = try await upload(client, node, id, chunks)
            #expect(first.status == .ok)
            let receipts = try first.decode(UploadLogsResponse.self)
            #expect(receipts.receipts.map(\.outcome) == [.stored, .stored, .stored])
            #expect(receipts.stdoutBytes == 12 && receipts.stderrBytes == 5)
            let again = try await upload(client, node, id, chunks)
            #expect(again.status == .ok)
            #expect(try again.decode(UploadLogsResponse.self).receipts.map(\.outcome) == [.duplicate, .duplicate, .duplicate])
            let stored = try await fleet.sql("SELECT count(*)::int FROM log_chunks").first?.decode(Int.self)
            #expect(stored == 3)
        }
    }

    @Test("different bytes at a stored offset, a gap, or an overlap are 409 and store nothing")
    func conflicts() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            let (id, node, _) = try await fleet.deliveredRun(client)
            _ = try await upload(client, node, id, [LogChunk(offset: 0, stream: .stdout, bytes: Array("abcdef".utf8))])
            let different = try await upload(
                client, node, id,
                [LogChunk(offset: 6, stream: .stdout, bytes: Array("ok".utf8)), LogChunk(offset: 0, stream: .stdout, bytes: Array("ABCDEF".utf8))])
            #expect(different.status == .conflict)
            #expect(different.errorCode == "chunk_conflict")
            let gap = try await upload(client, node, id, [LogChunk(offset: 100, stream: .stdout, bytes: Array("x".utf8))])
            #expect(gap.status == .conflict)
            #expect(gap.errorCode == "offset_gap")
            let overlap = try await upload(client, node, id, [LogChunk(offset: 3, stream: .stdout, bytes: Array("defghi".utf8))])
            #expect(overlap.status == .conflict)
            // the batch with a conflict was all-or-nothing: "ok" at offset 6 was not kept
            let chunkCount = try await fleet.sql("SELECT count(*)::int FROM log_chunks").first?.decode(Int.self)
            let stored = try await fleet.sql("SELECT stdout_stored FROM invocations").first?.decode(Int64.self)
            #expect(chunkCount == 1 && stored == 6)
        }
    }

    @Test("non-UTF-8 output survives byte-exact")
    func binaryIsByteExact() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            let (id, node, op) = try await fleet.deliveredRun(client)
            var generator = SystemRandomNumberGenerator()
            let bytes = (0..<200_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
            var chunks: [LogChunk] = []
            var offset = 0
            while offset < bytes.count {
                let end = min(offset + 65_536, bytes.count)
                chunks.append(LogChunk(offset: Int64(offset), stream: .stdout, bytes: bytes[offset..<end]))
                offset = end
            }
            #expect(try await upload(client, node, id, chunks).status == .ok)
            let page = try await client.send(.get, "/v1/commands/\(id)/logs?node_id=edge-1", token: op).decode(LogPage.self)
            let read = page.chunks.flatMap { $0.decodedBytes() ?? [] }
            #expect(read == bytes)
        }
    }

    @Test("a reader paging with a cursor while output arrives sees every byte once, in order")
    func cursorHasNoGapsOrDuplicates() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            let (id, node, op) = try await fleet.deliveredRun(client)
            var expectedOut = ""
            var expectedErr = ""
            var read: [LogChunk] = []
            var cursor = ""
            for batch in 0..<12 {
                var chunks: [LogChunk] = []
                for line in 0..<5 {
                    let text = "b\(batch)l\(line)\n"
                    let isErr = line == 2
                    let offset = Int64(isErr ? expectedErr.utf8.count : expectedOut.utf8.count)
                    chunks.append(LogChunk(offset: offset, stream: isErr ? .stderr : .stdout, data: text))
                    if isErr { expectedErr += text } else { expectedOut += text }
                }
                #expect(try await upload(client, node, id, chunks).status == .ok)
                // read a little after each upload, three chunks a page
                for _ in 0..<2 {
                    let page = try await client.send(
                        .get, "/v1/commands/\(id)/logs?node_id=edge-1&limit=3&cursor=\(cursor)", token: op
                    ).decode(LogPage.self)
                    read += page.chunks
                    cursor = page.nextCursor
                }
            }
            while true {
                let page = try await client.send(.get, "/v1/commands/\(id)/logs?node_id=edge-1&limit=3&cursor=\(cursor)", token: op)
                    .decode(LogPage.self)
                if page.chunks.isEmpty { break }
                read += page.chunks
                cursor = page.nextCursor
            }
            #expect(read.filter { $0.stream == .stdout }.map(\.data).joined() == expectedOut)
            #expect(read.filter { $0.stream == .stderr }.map(\.data).joined() == expectedErr)
            // production order across streams is kept: the interleaving matches the upload order
            #expect(read.map(\.data).joined().hasPrefix("b0l0\nb0l1\nb0l2\nb0l3\n"))
        }
    }

    @Test("a page holds at most 4 MiB: the chunk that would pass it starts the next page")
    func pageByteLimit() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            // setup: six chunks of 1 MiB, two per upload, then the final report
            let (id, node, op) = try await fleet.deliveredRun(client)
            let mebibyte = 1024 * 1024
            for pair in 0..<3 {
                let chunks = (0..<2).map { index in
                    let number = pair * 2 + index
                    return LogChunk(
                        offset: Int64(number * mebibyte), stream: .stdout,
                        data: String(repeating: String(number), count: mebibyte))
                }
                #expect(try await upload(client, node, id, chunks).status == .ok)
            }
            let report = StatusReport(
                commandId: id, state: .succeeded, exitCode: 0, stdoutBytes: Int64(6 * mebibyte), stderrBytes: 0)
            #expect(try await client.send(.post, "/v1/agents/status", token: node, json: report).status == .ok)
            // act
            let uri = "/v1/commands/\(id)/logs?node_id=edge-1&limit=1000"
            let first = try await client.send(.get, uri, token: op).decode(LogPage.self)
            let second = try await client.send(.get, uri + "&cursor=\(first.nextCursor)", token: op).decode(LogPage.self)
            let one = try await client.send(.get, "/v1/commands/\(id)/logs?node_id=edge-1&limit=1", token: op).decode(LogPage.self)
            // check
            #expect(first.chunks.map(\.offset) == (0..<4).map { Int64($0 * mebibyte) })
            #expect(!first.complete)
            #expect(second.chunks.map(\.offset) == [Int64(4 * mebibyte), Int64(5 * mebibyte)])
            #expect(second.chunks.map { $0.data.first } == ["4", "5"])
            #expect(second.complete)
            #expect(one.chunks.count == 1 && !one.complete)
        }
    }

    @Test("complete only once the invocation is terminal and every reported byte is stored")
    func completeness() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            let (id, node, op) = try await fleet.deliveredRun(client)
            let uri = "/v1/commands/\(id)/logs?node_id=edge-1"
            _ = try await upload(client, node, id, [LogChunk(offset: 0, stream: .stdout, data: "part1\n")])
            #expect(try await client.send(.get, uri, token: op).decode(LogPage.self).complete == false)
            // the agent finished, reporting 12 bytes, but only 6 are in so far
            let report = StatusReport(commandId: id, state: .succeeded, exitCode: 0, stdoutBytes: 12, stderrBytes: 0)
            #expect(try await client.send(.post, "/v1/agents/status", token: node, json: report).status == .ok)
            #expect(try await client.send(.get, uri, token: op).decode(LogPage.self).complete == false)
            _ = try await upload(client, node, id, [LogChunk(offset: 6, stream: .stdout, data: "part2\n")])
            let page = try await client.send(.get, uri, token: op).decode(LogPage.self)
            #expect(page.complete)
            #expect(page.chunks.map(\.data).joined() == "part1\npart2\n")
        }
    }

    @Test("a waiting reader is woken by new output")
    func waitingReaderWakes() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client, parts in
            let (id, node, op) = try await fleet.deliveredRun(client)
            try await eventually("the change listener is up") { await parts.notifier.isListening }
            async let waiting = client.send(.get, "/v1/commands/\(id)/logs?node_id=edge-1&wait=20", token: op)
            try await eventually("the reader is held") { await parts.notifier.parked == 1 }
            let start = ContinuousClock.now
            _ = try await upload(client, node, id, [LogChunk(offset: 0, stream: .stdout, data: "late\n")])
            let page = try await waiting.decode(LogPage.self)
            #expect(page.chunks.map(\.data) == ["late\n"])
            // Woken by the upload's NOTIFY, not by the 20 s wait.
            #expect(ContinuousClock.now - start < .seconds(10))
        }
    }

    @Test("all targets at once: chunks carry their node, and each node's stream is complete")
    func allTargets() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            let op = try await fleet.operatorToken()
            let a = try await client.register("edge-a")
            let b = try await client.register("edge-b")
            let id = try await client.submit("hostname", to: ["edge-a", "edge-b"], token: op)
            _ = try await client.poll(token: a)
            _ = try await client.poll(token: b)
            _ = try await upload(client, a, id, [LogChunk(offset: 0, stream: .stdout, data: "from a\n")])
            _ = try await upload(client, b, id, [LogChunk(offset: 0, stream: .stdout, data: "from b\n")])
            _ = try await upload(client, a, id, [LogChunk(offset: 7, stream: .stdout, data: "more a\n")])
            let page = try await client.send(.get, "/v1/commands/\(id)/logs?limit=2", token: op).decode(LogPage.self)
            #expect(page.chunks.map(\.nodeId) == ["edge-a", "edge-b"])
            let rest = try await client.send(.get, "/v1/commands/\(id)/logs?cursor=\(page.nextCursor)", token: op).decode(LogPage.self)
            #expect(rest.chunks.map(\.data) == ["more a\n"])
            #expect(rest.complete == false)
        }
    }

    @Test("a node cannot push output for another node's invocation")
    func otherNodesInvocation() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            let (id, _, _) = try await fleet.deliveredRun(client)
            let intruder = try await client.register("edge-9")
            let response = try await upload(client, intruder, id, [LogChunk(offset: 0, stream: .stdout, data: "spoof")])
            #expect(response.status == .forbidden)
            let unknown = try await upload(client, intruder, UUID(), [LogChunk(offset: 0, stream: .stdout, data: "x")])
            #expect(unknown.status == .notFound)
            let status = try await client.send(
                .post, "/v1/agents/status", token: intruder, json: StatusReport(commandId: id, state: .running))
            #expect(status.status == .forbidden)
        }
    }
}

@Suite("Log readers are woken")
struct LogWakeTests {
    @Test("a notification's command id wakes its readers whether Postgres or Swift spelled it")
    func keyIgnoresCase() {
        let id = UUID()
        #expect(ChangeNotifier.logsKey(payload: id.uuidString.lowercased()) == "logs:\(id.uuidString)")
        #expect(ChangeNotifier.logsKey(payload: id.uuidString) == "logs:\(id.uuidString)")
    }

    @Test("a reader holding a page is answered by the final report, not by its wait running out")
    func finalReportWakesReader() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run(.live) { client, parts in
            let (id, _, op) = try await fleet.deliveredRun(client, cmd: "true")
            let started = ContinuousClock.now
            async let page = client.send(.get, "/v1/commands/\(id)/logs?node_id=edge-1&wait=30", token: op)
            try await eventually("the reader is held") { await parts.notifier.parked == 1 }
            // The test client has one connection, which the reader holds: the report goes to the store.
            let queue = CommandQueue(
                database: parts.database, leaseSeconds: fleet.configuration.leaseSeconds,
                deliveryTimeoutSeconds: fleet.configuration.deliveryTimeoutSeconds)
            let report = StatusReport(commandId: id, state: .succeeded, exitCode: 0, stdoutBytes: 0, stderrBytes: 0)
            _ = try await queue.report(nodeId: "edge-1", tokenVersion: 1, report)
            let answer = try await page.decode(LogPage.self)
            #expect(answer.complete)
            // Woken by the report's NOTIFY, not by the 30 s wait (latency itself is measured by the benchmarks).
            #expect(ContinuousClock.now - started < .seconds(15))
        }
    }
}
