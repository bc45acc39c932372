import FleetConsole
import FleetProtocol
import Foundation
import Testing

@Suite struct BackPressureTests {
    @Test func theInboxCountsQueuedOutputAndRequeuedEventsKeepTheirPlace() {
        let inbox = EventInbox()
        let page = LogPage(commandId: uuid(1), nodeId: nil, chunks: [chunk("12345", at: 0)], nextCursor: "c", complete: false)
        inbox.post(.log(generation: 1, .page(page)))
        inbox.post(.reachable)
        #expect(inbox.pendingLogBytes == 5)
        let taken = inbox.drain()
        #expect(taken.count == 2)
        #expect(inbox.pendingLogBytes == 0)
        inbox.post(.reachable)
        inbox.requeueFront([taken[0]])
        #expect(inbox.pendingLogBytes == 5)
        guard case .log = inbox.drain().first else {
            Issue.record("the requeued page must come first")
            return
        }
    }

    @Test func aFastTailReachesTheEndThroughTheLoopWithoutLossOrDuplicates() async {
        // setup: 3 MiB of output in 4 KiB chunks, all in one page, as fast as the loop can take it
        let bytes: Int64 = 3 * 1024 * 1024
        let block = String(repeating: String(repeating: "x", count: 63) + "\n", count: 64)
        let chunks = stride(from: Int64(0), to: bytes, by: 4096).map { chunk(block, at: $0, node: "edge-1") }
        let api = FakeAPI()
        api.state.withLock {
            $0.pages[nil] = LogPage(commandId: uuid(3), nodeId: nil, chunks: chunks, nextCursor: String(bytes), complete: true)
        }
        let terminal = MemoryTerminal(size: TerminalSize(rows: 24, columns: 80))
        let app = ConsoleApp(terminal: terminal, api: api, serverURL: "http://fake", pollInterval: .seconds(3600))
        defer { app.shutdown() }
        // act: ticks back to back while output is queued, else as soon as the tail posts
        app.post(.submitted(SubmitCommandResponse(commandId: uuid(3), commandType: .runCommand, targets: ["edge-1"], createdAt: testNow)))
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(120)
        while app.state.logs?.complete != true, clock.now < deadline {
            app.step(key: nil)
            await app.waitForEvents(timeout: .seconds(1))
        }
        // check
        let logs = app.state.logs
        #expect(logs?.complete == true)
        #expect(logs?.bytesReceived == bytes)
        #expect(logs?.duplicateChunks == 0)
        #expect(terminal.text.contains("complete"))
    }
}
