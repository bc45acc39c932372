import Synchronization

/// Counts output bytes stored locally but not yet acknowledged by the server, and holds
/// readers back while there is no room (back-pressure instead of dropping bytes).
///
/// Room is bounded twice: by the configured cap on unacknowledged bytes, and by the space the
/// state directory still has (free bytes minus a reserve kept for deletes and status writes).
/// The effective cap is therefore min(cap, used + space − reserve), and because something else
/// may fill or free the disk at any time, waiting readers re-check the space periodically.
public final class BufferBudget: Sendable {
    /// Why there is no room.
    public enum Room: Sendable, Equatable {
        case available
        /// Unacknowledged bytes reached the configured cap (the server is slow or away).
        case capReached
        /// The state directory has no more room than the reserve; `freeBytes` as measured.
        case diskFull(freeBytes: Int64)
    }

    private struct State {
        var used: Int64
        var bypassed = false
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter = 0
    }

    /// Bytes allowed before readers start to wait.
    public let cap: Int64
    /// Space that output must leave free in the state directory.
    public let reserve: Int64
    /// Bytes the store could still take (free on disk plus reusable pages); nil when unknown.
    let space: @Sendable () -> Int64?
    /// How often a waiting reader looks at the disk again (space can come back from outside).
    let recheckInterval: Duration
    let clock: any Clock<Duration>
    private let state: Mutex<State>

    public init(
        cap: Int64, used: Int64 = 0, reserve: Int64 = 0, space: @escaping @Sendable () -> Int64? = { nil },
        recheckInterval: Duration = .milliseconds(500), clock: any Clock<Duration> = ContinuousClock()
    ) {
        self.cap = cap
        self.reserve = reserve
        self.space = space
        self.recheckInterval = recheckInterval
        self.clock = clock
        self.state = Mutex(State(used: used))
    }

    /// Bytes currently counted.
    public var used: Int64 { state.withLock { $0.used } }

    /// Whether a reader may go on now, and if not, why.
    public func room() -> Room {
        let (used, bypassed) = state.withLock { ($0.used, $0.bypassed) }
        if bypassed { return .available }
        if used >= cap { return .capReached }
        if let free = space(), free <= reserve { return .diskFull(freeBytes: free) }
        return .available
    }

    /// Returns when there is room (or the budget is bypassed).
    ///
    /// Deliberately not cancellable: output already in a pipe must still be read after the
    /// process was told to stop, so the caller keeps waiting until the uploader frees room.
    public func waitForRoom() async {
        _ = await waitForRoom(giveUp: { _ in false })
    }

    /// Waits for room; while the disk is full, asks `giveUp` after every check and returns
    /// that state when it says yes. Returns ``Room/available`` once there is room.
    public func waitForRoom(giveUp: (Room) -> Bool) async -> Room {
        while true {
            let room = room()
            if room == .available || giveUp(room) { return room }
            await waitForChange()
        }
    }

    /// Waits until bytes are freed, the budget is bypassed, or the recheck interval passed.
    public func waitForChange() async {
        let id = state.withLock { state -> Int in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForSignal(id) }
            group.addTask { [clock, recheckInterval] in try? await clock.sleep(for: recheckInterval) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForSignal(_ id: Int) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let cancelled = state.withLock { state -> Bool in
                    if Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if cancelled { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    /// Counts newly stored bytes.
    public func add(_ bytes: Int64) {
        state.withLock { $0.used += bytes }
    }

    /// Uncounts acknowledged (deleted) bytes and wakes waiting readers to look again.
    public func remove(_ bytes: Int64) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.used = max(0, state.used - bytes)
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Lets every reader through from now on (shutdown: pipes are drained past the cap).
    public func bypass() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.bypassed = true
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }
}
