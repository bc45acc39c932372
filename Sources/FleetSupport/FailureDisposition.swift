/// What a retrying loop does about a failure: the one decision every loop used to make
/// for itself ("unauthorized ends us, transient retries, anything else is given up").
public enum FailureDisposition: Sendable {
    /// The same call may succeed later (network trouble, a server error): back off, retry.
    case retry
    /// This call will never succeed (the server refused it for good): drop it, carry on.
    case giveUp
    /// The loop cannot go on; the carried error ends it (and usually the process).
    case fatal(any Error & Sendable)

    /// The disposition an error declares, or ``retry`` for errors that do not classify
    /// themselves (I/O, a database that is briefly away).
    public init(of error: any Error) {
        self = (error as? any ClassifiedError)?.disposition ?? .retry
    }
}

/// An error that knows whether retrying it can help.
public protocol ClassifiedError: Error {
    /// What a retrying loop should do about this error.
    var disposition: FailureDisposition { get }
}
