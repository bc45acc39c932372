import ServiceLifecycle

extension ChangeNotifier {
    /// The long-poll loop shared by the work poll and the log reader: runs `attempt`, and while
    /// it has nothing to answer with, waits for a change to `key` and tries again, until `wait`
    /// has passed or the service shuts down. The subscription is made before the first attempt,
    /// so a change that commits in between still wakes the wait.
    func longPoll<T: Sendable>(
        key: String, wait: Duration, _ attempt: () async throws -> (answer: T, ready: Bool)
    ) async throws -> T {
        guard wait > .zero else { return try await attempt().answer }
        let subscription = subscribe(key)
        defer { Task { await subscription.cancel() } }
        let deadline = now + wait
        var answer: T
        var ready: Bool
        (answer, ready) = try await attempt()
        while true {
            let remaining = deadline - now
            if ready || remaining <= .zero || Task.isShuttingDownGracefully { return answer }
            let woken = await subscription.wait(timeout: remaining)
            // The wait ran out with no change while the listener was up: nothing can have
            // changed, so skip the query (a third of what each idle poll cost). Without a
            // listener, notifications may have been missed: look again.
            if !woken, now >= deadline, isListening { return answer }
            (answer, ready) = try await attempt()
        }
    }
}
