import Logging

/// Logs a loop's connection state only when it changes, not on every attempt.
struct ConnectionLog {
    private var lastFailure: String?
    private var connected = false
    let logger: Logger
    let what: String

    init(logger: Logger, what: String) {
        self.logger = logger
        self.what = what
    }

    /// A call succeeded.
    mutating func succeeded() {
        if !connected || lastFailure != nil {
            logger.info("\(what): connected to agent-svc")
        }
        connected = true
        lastFailure = nil
    }

    /// A call failed; logged once per distinct failure, with the retry delay.
    mutating func failed(_ error: any Error, retryIn delay: Duration) {
        let summary = "\(error)"
        guard summary != lastFailure else { return }
        lastFailure = summary
        logger.warning(
            "\(what): agent-svc call failed, retrying with backoff",
            metadata: ["error": "\(summary)", "next_retry": "\(delay)"])
    }
}
