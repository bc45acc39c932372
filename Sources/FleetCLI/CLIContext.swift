import FleetClient
import Foundation

/// Where `fleet`'s output goes: the process's stdout and stderr, or buffers in tests.
public protocol OutputSink: Sendable {
    /// Writes `bytes` to stdout (`toError` false) or stderr, in call order.
    func write(_ bytes: [UInt8], toError: Bool)
}

extension OutputSink {
    /// Writes text to stdout.
    func out(_ text: String) { write(Array(text.utf8), toError: false) }
    /// Writes text to stderr.
    func err(_ text: String) { write(Array(text.utf8), toError: true) }
}

/// Which of the three standard descriptors are terminals: colours, progress and questions depend on it.
public struct TerminalInfo: Sendable, Hashable {
    public var stdin: Bool
    public var stdout: Bool
    public var stderr: Bool

    public init(stdin: Bool, stdout: Bool, stderr: Bool) {
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
    }

    /// Nothing is a terminal: what scripts, pipes and CI see.
    public static let none = TerminalInfo(stdin: false, stdout: false, stderr: false)

    /// Someone can answer a question: a terminal to ask on and one to read the answer from.
    public var interactive: Bool { stdin && stderr }
}

/// Everything `fleet` takes from the world, so tests run it in-process against a fake server,
/// a manual clock, captured output and scripted Ctrl-C presses.
public struct CLIContext: Sendable {
    /// The process environment (`AGENT_SVC_URL`, `FLEET_TOKEN`, `NO_COLOR`).
    public var environment: [String: String]
    /// The client for a server URL and an operator token.
    public var makeAPI: @Sendable (_ baseURL: String, _ token: String) -> any FleetOperatorAPI
    public var output: any OutputSink
    public var terminal: TerminalInfo
    /// Times pauses and retries.
    public var clock: any Clock<Duration>
    /// Wall-clock time, for "last seen 5s ago".
    public var now: @Sendable () -> Date
    /// Ctrl-C presses while a command is followed; ignored (not fatal) for as long as this stream is iterated.
    public var interrupts: @Sendable () -> AsyncStream<Void>
    /// Asks a question on the terminal and returns the answer line (nil at end of input).
    public var ask: @Sendable (String) async -> String?
    /// A fresh `Idempotency-Key` for one submit (the same one for each of its retries).
    public var makeIdempotencyKey: @Sendable () -> String

    public init(
        environment: [String: String], makeAPI: @escaping @Sendable (String, String) -> any FleetOperatorAPI, output: any OutputSink,
        terminal: TerminalInfo, clock: any Clock<Duration> = ContinuousClock(), now: @escaping @Sendable () -> Date = { Date() },
        interrupts: @escaping @Sendable () -> AsyncStream<Void> = { AsyncStream { _ in } },
        ask: @escaping @Sendable (String) async -> String? = { _ in nil },
        makeIdempotencyKey: @escaping @Sendable () -> String = { "fleet-cli-" + UUID().uuidString.lowercased() }
    ) {
        self.environment = environment
        self.makeAPI = makeAPI
        self.output = output
        self.terminal = terminal
        self.clock = clock
        self.now = now
        self.interrupts = interrupts
        self.ask = ask
        self.makeIdempotencyKey = makeIdempotencyKey
    }

    /// Colour on a descriptor only when it is a terminal and `NO_COLOR` is unset (no-color.org).
    func colours(toError: Bool) -> Bool {
        guard environment["NO_COLOR"].map({ $0.isEmpty }) ?? true else { return false }
        return toError ? terminal.stderr : terminal.stdout
    }
}
