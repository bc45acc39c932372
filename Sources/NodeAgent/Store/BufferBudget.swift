import Synchronization

/// Counts output bytes stored locally but not yet acknowledged by the server, and holds
/// readers back while the count is at the cap (back-pressure instead of dropping bytes).
public final class BufferBudget: Sendable {
    private struct State {
        var used: Int64
        var bypassed = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    /// Bytes allowed before ``waitForRoom()`` starts to wait.
    public let cap: Int64
    private let state: Mutex<State>

    public init(cap: Int64, used: Int64 = 0) {
        self.cap = cap
        self.state = Mutex(State(used: used))
    }

    /// Bytes currently counted.
    public var used: Int64 { state.withLock { $0.used } }

    /// Returns when there is room below the cap (or the budget is bypassed).
    ///
    /// Deliberately not cancellable: output already in a pipe must still be read after the
    /// process was told to stop, so the caller keeps waiting until the uploader frees room.
    public func waitForRoom() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let hasRoom = state.withLock { state -> Bool in
                if state.bypassed || state.used < cap { return true }
                state.waiters.append(continuation)
                return false
            }
            if hasRoom { continuation.resume() }
        }
    }

    /// Counts newly stored bytes.
    public func add(_ bytes: Int64) {
        state.withLock { $0.used += bytes }
    }

    /// Uncounts acknowledged (deleted) bytes and wakes readers when there is room again.
    public func remove(_ bytes: Int64) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.used = max(0, state.used - bytes)
            guard state.used < cap else { return [] }
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Lets every reader through from now on (shutdown: pipes are drained past the cap).
    public func bypass() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.bypassed = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
