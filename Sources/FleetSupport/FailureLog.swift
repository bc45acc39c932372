import Logging

/// Logs a loop's health only when it changes: the first failure of a kind (with the retry
/// delay) and the recovery after it, not one line per attempt.
public struct FailureLog: Sendable {
    private var lastFailure: String?
    private var healthy = false
    let logger: Logger
    let what: String
    let peer: String

    /// `what` names the loop (`upload`, `poll`), `peer` what it talks to (`agent-svc`).
    public init(logger: Logger, what: String, peer: String) {
        self.logger = logger
        self.what = what
        self.peer = peer
    }

    /// A round succeeded.
    public mutating func succeeded() {
        if !healthy || lastFailure != nil {
            logger.info("\(what): connected to \(peer)")
        }
        healthy = true
        lastFailure = nil
    }

    /// A round failed; logged once per distinct failure, with the retry delay.
    public mutating func failed(_ error: any Error, retryIn delay: Duration) {
        let summary = "\(error)"
        guard summary != lastFailure else { return }
        lastFailure = summary
        logger.warning(
            "\(what): \(peer) call failed, retrying with backoff",
            metadata: ["error": "\(summary)", "next_retry": "\(delay)"])
    }
}
