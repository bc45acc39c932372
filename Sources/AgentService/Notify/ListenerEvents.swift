import Synchronization

/// What the change listener tells its observers beyond waking long-polls.
public enum ListenerEvent: Sendable, Equatable {
    /// LISTEN is up; notifications sent before this may have been missed.
    case connected
    /// The listening connection is gone: notifications are being missed until `connected`.
    case disconnected
    /// An operator token was issued or revoked somewhere.
    case operatorTokensChanged
}

/// Observers of the change listener, registered once while the application is built.
public final class ListenerEvents: Sendable {
    private let observers = Mutex<[@Sendable (ListenerEvent) async -> Void]>([])

    /// Adds `observer`; it is called in order of the events, from the listener's task.
    public func observe(_ observer: @escaping @Sendable (ListenerEvent) async -> Void) {
        observers.withLock { $0.append(observer) }
    }

    func emit(_ event: ListenerEvent) async {
        for observer in observers.withLock({ $0 }) { await observer(event) }
    }
}
