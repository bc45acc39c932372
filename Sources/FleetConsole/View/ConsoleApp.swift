import FleetClient
import FleetProtocol
import Foundation

/// The console: a loop that reads keys, drains events, runs effects and redraws.
///
/// Owns the terminal for its lifetime and restores it on every way out.
public final class ConsoleApp {
    /// What is on screen, as a value.
    public private(set) var state: ConsoleState
    private let terminal: any Terminal
    private let api: any FleetAPI
    private let inbox = EventInbox()
    private let poller: RefreshPoller
    private var pollTask: Task<Void, Never>?
    private var tailTask: Task<Void, Never>?
    private let now: @Sendable () -> Date
    /// What the poller's interval and the tail's pauses are timed on.
    private let clock: any Clock<Duration>
    private var dirty = true
    private var lastDraw = Date.distantPast
    /// Time a tick may spend cutting log output into lines; the rest waits for the next tick,
    /// so keys stay responsive under a fast tail.
    static let logTimePerTick = Duration.milliseconds(25)
    /// Log output queued at most before the tail stops fetching.
    static let logBytesQueued = 8 << 20
    /// Time spent building and drawing the last frame.
    public private(set) var lastFrameTime: Duration = .zero

    /// A console on `terminal` talking to `api`; background waits run on `clock` and the
    /// screen's times come from `now` (tests fix both).
    public init(
        terminal: any Terminal, api: any FleetAPI, serverURL: String, pollInterval: Duration = .seconds(2),
        clock: any Clock<Duration> = ContinuousClock(), now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.terminal = terminal
        self.api = api
        self.state = ConsoleState(serverURL: serverURL)
        self.poller = RefreshPoller(api: api, inbox: inbox, interval: pollInterval, clock: clock)
        self.clock = clock
        self.now = now
    }

    deinit {
        pollTask?.cancel()
        tailTask?.cancel()
    }

    /// Runs until the operator quits or a stop signal arrives.
    public func run() {
        defer { shutdown() }
        start()
        while !state.quitRequested, !StopSignals.requested {
            // With output still queued, look for keys briefly and get back to work.
            let key = terminal.readKey(timeoutMilliseconds: hasBacklog ? 5 : 50)
            step(key: key)
        }
    }

    /// Starts polling; `run()` does this, tests call it with `step` instead.
    public func start() {
        guard pollTask == nil else { return }
        let poller = self.poller
        pollTask = Task.detached { await poller.run() }
        let (api, inbox) = (self.api, self.inbox)
        // Once: a role does not change for the life of a token. Failure (an older server) hides nothing.
        Task.detached { if let me = try? await api.me() { inbox.post(.identity(me)) } }
    }

    /// Stops background work and gives the terminal back.
    public func shutdown() {
        pollTask?.cancel()
        tailTask?.cancel()
        terminal.restore()
    }

    /// One turn of the loop: a key (if any), pending events, effects, and a redraw if needed.
    public func step(key: Key?) {
        let time = now()
        let size = terminal.size
        state.layout(size: size)
        var effects: [Effect] = []
        if let key {
            effects += state.handle(key, now: time)
            dirty = true
        }
        let events = inbox.drain()
        effects += apply(events, now: time)
        if !events.isEmpty { dirty = true }
        if !inbox.isEmpty { dirty = true }
        for effect in effects { perform(effect) }
        poller.setFocus(state.focus)
        if dirty || time.timeIntervalSince(lastDraw) >= 1 { redraw(size: size, now: time) }
    }

    /// Applies events; log pages only while the tick's time lasts, in slices, the rest requeued.
    private func apply(_ events: [ConsoleEvent], now time: Date) -> [Effect] {
        let clock = ContinuousClock()
        let deadline = clock.now + Self.logTimePerTick
        var effects: [Effect] = []
        var leftovers: [ConsoleEvent] = []
        for event in events {
            guard case .log(let generation, let tailEvent) = event else {
                effects += state.apply(event, now: time)
                continue
            }
            guard leftovers.isEmpty, clock.now < deadline || !state.hasLogs(generation) else {
                leftovers.append(event)
                continue
            }
            guard case .page(let page) = tailEvent, page.chunks.count > Self.sliceChunks else {
                effects += state.apply(event, now: time)
                continue
            }
            var rest = page.chunks[...]
            while !rest.isEmpty {
                let slice = Array(rest.prefix(Self.sliceChunks))
                rest = rest.dropFirst(slice.count)
                let part = LogPage(
                    commandId: page.commandId, nodeId: page.nodeId, chunks: slice, nextCursor: page.nextCursor,
                    complete: rest.isEmpty && page.complete)
                effects += state.apply(.log(generation: generation, .page(part)), now: time)
                if !rest.isEmpty, clock.now >= deadline {
                    let remainder = LogPage(
                        commandId: page.commandId, nodeId: page.nodeId, chunks: Array(rest),
                        nextCursor: page.nextCursor, complete: page.complete)
                    leftovers.append(.log(generation: generation, .page(remainder)))
                    break
                }
            }
        }
        inbox.requeueFront(leftovers)
        return effects
    }

    /// Chunks applied between two looks at the clock.
    static let sliceChunks = 32

    /// Builds and draws a frame now.
    public func redraw(size: TerminalSize, now time: Date) {
        let clock = ContinuousClock()
        let started = clock.now
        state.layout(size: size)
        terminal.draw(ConsoleRenderer.render(state, size: size, now: time))
        lastFrameTime = clock.now - started
        lastDraw = time
        dirty = false
    }

    /// Whether events are waiting (a fast tail the loop is catching up with).
    public var hasBacklog: Bool { !inbox.isEmpty }

    /// Hands an event to the loop as if a background task had posted it (tests, benchmarks).
    public func post(_ event: ConsoleEvent) { inbox.post(event) }

    /// Waits until background work posted something or `timeout` passed on the real clock (tests).
    public func waitForEvents(timeout: Duration) async {
        await inbox.waitForEvents(timeout: timeout)
    }

    private func perform(_ effect: Effect) {
        let api = self.api
        let inbox = self.inbox
        switch effect {
        case .refresh:
            poller.kick()
        case .submit(let request):
            Task.detached {
                do throws(FleetAPIError) { inbox.post(.submitted(try await api.submit(request))) } catch {
                    inbox.post(.actionFailed("submit", error))
                }
            }
        case .cancel(let id):
            Task.detached {
                do throws(FleetAPIError) { inbox.post(.cancelled(try await api.cancel(id))) } catch { inbox.post(.actionFailed("cancel", error)) }
            }
        case .revoke(let ids):
            Task.detached {
                var done: [String] = []
                var failed: [String: String] = [:]
                for id in ids {
                    do throws(FleetAPIError) {
                        _ = try await api.revoke(id)
                        done.append(id)
                    } catch {
                        failed[id] = error.description
                    }
                }
                inbox.post(.revoked(done: done, failed: failed))
            }
        case .startTail(let generation, let commandId, let nodeId):
            tailTask?.cancel()
            let tailer = LogTailer(api: api, commandId: commandId, nodeId: nodeId, clock: clock)
            let limit = Self.logBytesQueued
            tailTask = Task.detached {
                await tailer.run(
                    sink: { event in inbox.post(.log(generation: generation, event)) },
                    backPressure: { await inbox.waitForRoom(limit: limit) })
            }
        case .stopTail:
            tailTask?.cancel()
            tailTask = nil
        case .loadInvocations(let request):
            Task.detached {
                do throws(FleetAPIError) {
                    inbox.post(.invocations(request, .success(try await api.command(request))))
                } catch {
                    inbox.post(.invocations(request, .failure(error)))
                }
            }
        case .loadArtifacts:
            Task.detached {
                do throws(FleetAPIError) {
                    inbox.post(.artifacts(.success(try await api.artifacts().artifacts)))
                } catch {
                    inbox.post(.artifacts(.failure(error)))
                }
            }
        }
    }
}
