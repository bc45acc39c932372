import FleetClient
import FleetConsole
import FleetProtocol
import FleetSupport
import FleetTestSupport
import Foundation
import Synchronization
import Testing

@Suite struct LogTailModelTests {
    let id = uuid(7)

    func lines(_ model: LogTailModel) -> [String] { (0..<model.count).map { model[$0].text } }

    @Test func linesAreCutAcrossChunksAndPartialLinesWaitForTheirNewline() {
        var model = LogTailModel(commandId: id, nodeId: "edge-1")
        model.append(chunk("hel", at: 0))
        model.append(chunk("lo\nwor", at: 3))
        #expect(lines(model) == ["hello"])
        #expect(model.partialLines.map(\.text) == ["wor"])
        model.append(chunk("ld\n", at: 9))
        #expect(lines(model) == ["hello", "world"])
        #expect(model.partialLines.isEmpty)
    }

    @Test func aRepeatedChunkIsSkippedAndAnOverlapIsTrimmed() {
        var model = LogTailModel(commandId: id, nodeId: "edge-1")
        model.append(chunk("a\nb\n", at: 0))
        model.append(chunk("a\nb\n", at: 0))  // retried page
        model.append(chunk("b\nc\n", at: 2))  // overlaps by two bytes
        #expect(lines(model) == ["a", "b", "c"])
        #expect(model.duplicateChunks == 1)
        #expect(model.bytesReceived == 6)
    }

    @Test func aHoleIsShownNotHidden() {
        var model = LogTailModel(commandId: id, nodeId: "edge-1")
        model.append(chunk("a\n", at: 0))
        model.append(chunk("z\n", at: 10))
        #expect(lines(model) == ["a", "[8 bytes missing]", "z"])
        #expect(model[1].isNotice)
    }

    @Test func streamsAndNodesKeepTheirOwnOffsetsAndCompleteFlushesPartials() {
        var model = LogTailModel(commandId: id, nodeId: nil)
        model.targetCount = 2
        model.append(chunk("out\n", at: 0, .stdout, node: "edge-1"))
        model.append(chunk("err", at: 0, .stderr, node: "edge-1"))
        model.append(chunk("out\n", at: 0, .stdout, node: "edge-2"))
        model.apply(LogPage(commandId: id, nodeId: nil, chunks: [], nextCursor: "c", complete: true))
        #expect(lines(model) == ["out", "out", "err"])
        #expect(model[2].stream == .stderr)
        #expect(model[1].node == "edge-2")
        #expect(model.showsNodes)
        #expect(model.complete)
    }

    @Test func invalidUTF8AndControlBytesNeverReachTheScreen() {
        var model = LogTailModel(commandId: id, nodeId: "edge-1")
        model.append(LogChunk(offset: 0, stream: .stdout, bytes: [0x61, 0xFF, 0x1B, 0x5B, 0x33, 0x31, 0x6D, 0x62, 0x0A]))
        #expect(lines(model) == ["a\u{FFFD}b"])
    }

    @Test func scrollbackIsBoundedAndCountsWhatItDropped() {
        var model = LogTailModel(commandId: id, nodeId: "edge-1", capacity: 100)
        var offset: Int64 = 0
        for n in 0..<1_000 {
            let text = "line \(n)\n"
            model.append(chunk(text, at: offset))
            offset += Int64(text.utf8.count)
        }
        #expect(model.count == 100)
        #expect(model.droppedLines == 900)
        #expect(model[0].text == "line 900")
        #expect(model[99].text == "line 999")
    }

    @Test func scrollingUpPausesFollowAndReachingTheEndResumesIt() {
        var model = LogTailModel(commandId: id, nodeId: "edge-1")
        model.append(chunk((0..<50).map { "l\($0)\n" }.joined(), at: 0))
        #expect(model.follow)
        model.scrollUp(5, viewport: 10)
        #expect(!model.follow)
        #expect(model.firstShown == 35)
        model.scrollDown(3, viewport: 10)
        #expect(!model.follow)
        model.scrollDown(10, viewport: 10)
        #expect(model.follow)
        model.jumpToStart()
        #expect(model.firstShown == 0)
        model.jumpToEnd()
        #expect(model.follow)
    }

    @Test func searchJumpsBetweenMatchingLines() {
        var model = LogTailModel(commandId: id, nodeId: "edge-1")
        model.append(chunk((0..<30).map { $0 % 10 == 3 ? "ERROR \($0)\n" : "ok \($0)\n" }.joined(), at: 0))
        model.jumpToStart()
        model.setSearch("error", viewport: 5)
        #expect(model.firstShown == 3)
        var found = model.nextMatch(forward: true, viewport: 5)
        #expect(found)
        #expect(model.firstShown == 13)
        found = model.nextMatch(forward: true, viewport: 5)
        #expect(found && model.firstShown == 23)
        found = model.nextMatch(forward: true, viewport: 5)
        #expect(!found)
        found = model.nextMatch(forward: false, viewport: 5)
        #expect(found && model.firstShown == 13)
    }
}

@Suite struct LogTailerTests {
    let id = uuid(8)

    func page(_ chunks: [LogChunk], next: String, complete: Bool = false) -> LogPage {
        LogPage(commandId: id, nodeId: nil, chunks: chunks, nextCursor: next, complete: complete)
    }

    /// A tail on `clock` whose retry delays are the backoff's ceilings (1 s, 2 s, 4 s, 5 s, …).
    func tailer(_ api: any FleetAPI, on clock: ManualClock, node: String? = nil) -> LogTailer {
        var tailer = LogTailer(api: api, commandId: id, nodeId: node, clock: clock)
        tailer.backoff = Backoff(base: .seconds(1), cap: .seconds(5), random: { $0.upperBound })
        return tailer
    }

    /// Collects the tail's events and counts them by kind.
    final class Events: Sendable {
        let events = Mutex<[LogTailEvent]>([])
        func add(_ event: LogTailEvent) { events.withLock { $0.append(event) } }
        var all: [LogTailEvent] { events.withLock { $0 } }
        var failures: Int { all.filter { if case .failed = $0 { true } else { false } }.count }
    }

    @Test func followsTheCursorRetriesTheSameCursorAndStopsWhenComplete() async {
        // setup: three pages; the second request fails twice before it is answered
        let api = FakeAPI()
        api.state.withLock { state in
            state.pages[nil] = page([chunk("one\n", at: 0, node: "edge-1")], next: "c1")
            state.pages["c1"] = page([chunk("two\n", at: 4, node: "edge-1"), chunk("x\n", at: 0, .stderr, node: "edge-2")], next: "c2")
            state.pages["c2"] = page([], next: "c2")  // nothing new yet…
            state.failuresBefore["c1"] = 2
        }
        let clock = ManualClock()
        let events = Events()
        let tailer = tailer(api, on: clock)
        let task = Task { await tailer.run { events.add($0) } }
        // act: c1 fails, is retried after 1 s, fails again, is retried after 2 s…
        await clock.waitForSleepers()
        clock.advance(by: .seconds(1))
        await clock.waitForSleepers()
        clock.advance(by: .seconds(2))
        // …and answered; c2 is empty, so the tail pauses, and then the output completes
        await clock.waitForSleepers()
        api.state.withLock { $0.pages["c2"] = page([chunk("three", at: 8, node: "edge-1")], next: "c3", complete: true) }
        clock.advance(by: tailer.idleDelay)
        await task.value

        // check
        let cursors = api.state.withLock { $0.logCursors }
        #expect(cursors.first == .some(nil))
        #expect(Array(cursors.prefix(4)) == [nil, "c1", "c1", "c1"])
        #expect(cursors.last == "c2")
        #expect(!cursors.contains("c3"))
        #expect(cursors == [nil, "c1", "c1", "c1", "c2", "c2"])
        var model = LogTailModel(commandId: id, nodeId: nil)
        var finished = false
        for event in events.all {
            switch event {
            case .page(let page): model.apply(page)
            case .failed: break
            case .finished: finished = true
            }
        }
        #expect(events.failures == 2)
        #expect(finished)
        #expect((0..<model.count).map { model[$0].text } == ["one", "two", "x", "three"])
        #expect(model.duplicateChunks == 0)
    }

    @Test func failuresBackOffExponentiallyUpToTheCapAndAPageResetsTheDelay() async {
        // setup: the first page is refused five times with a 429 (which passes, unlike other
        // 4xx), the second once
        let api = FakeAPI()
        api.state.withLock { state in
            state.pages[nil] = page([chunk("a\n", at: 0)], next: "c1")
            state.pages["c1"] = page([chunk("b\n", at: 2)], next: "c2", complete: true)
            state.failuresBefore[nil] = 5
            state.failuresBefore["c1"] = 1
            state.failure = .server(status: 429, code: "too_many_requests", message: "slow down")
        }
        let clock = ManualClock()
        let events = Events()
        let tailer = tailer(api, on: clock)
        let task = Task { await tailer.run { events.add($0) } }
        // act + check: each retry waits its whole delay and no longer; the first page resets it
        let retries: [(delay: Duration, requestsBefore: Int)] = [
            (.seconds(1), 1), (.seconds(2), 2), (.seconds(4), 3),
            (.seconds(5), 4), (.seconds(5), 5), (.seconds(1), 7),
        ]
        for retry in retries {
            await clock.waitForSleepers()
            #expect(api.state.withLock { $0.logCursors.count } == retry.requestsBefore)
            clock.advance(by: retry.delay - .milliseconds(1))
            #expect(clock.sleeperCount == 1, "a retry came before \(retry.delay)")
            clock.advance(by: .milliseconds(1))
        }
        await task.value
        #expect(api.state.withLock { $0.logCursors } == [nil, nil, nil, nil, nil, nil, "c1", "c1"])
        #expect(events.failures == 6)
        guard case .finished = events.all.last else {
            Issue.record("the tail must finish after the retries")
            return
        }
    }

    @Test func aRefusedRequestStopsTheTail() async {
        let events = Events()
        await tailer(FailingLogs(), on: ManualClock(), node: "edge-9").run { events.add($0) }
        #expect(events.all.count == 1)
    }
}

/// Answers every log request with a 404, like a node the command never targeted.
struct FailingLogs: FleetAPI {
    func listNodes(limit: Int, cursor: String?) async throws(FleetAPIError) -> NodeListResponse { .init(nodes: [], nextCursor: nil) }
    func listCommands(limit: Int, cursor: String?) async throws(FleetAPIError) -> CommandListResponse { .init(commands: [], nextCursor: nil) }
    func command(_ id: UUID, limit: Int?, cursor: String?, state: InvocationState?) async throws(FleetAPIError) -> CommandDetail {
        throw .server(status: 404, code: "not_found", message: "")
    }
    func logs(_ id: UUID, nodeId: String?, cursor: String?, limit: Int, wait: Int) async throws(FleetAPIError) -> LogPage {
        throw .server(status: 404, code: "not_found", message: "no invocation on edge-9")
    }
    func submit(_ request: SubmitCommandRequest) async throws(FleetAPIError) -> SubmitCommandResponse { throw .unreachable("x") }
    func cancel(_ id: UUID) async throws(FleetAPIError) -> CancelResponse { throw .unreachable("x") }
    func revoke(_ nodeId: String) async throws(FleetAPIError) -> RevokeResponse { throw .unreachable("x") }
    func artifacts() async throws(FleetAPIError) -> ArtifactList { throw .unreachable("x") }
}
