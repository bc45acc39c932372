import AsyncHTTPClient
import Dispatch
import FleetClient
import FleetTLS
import Foundation
import NIOCore
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension CLIContext {
    /// The real process: its environment, stdout/stderr, terminals, SIGINT and HTTP.
    public static func live() -> CLIContext {
        CLIContext(
            environment: ProcessInfo.processInfo.environment,
            makeAPI: { url, token in HTTPFleetAPI(baseURL: url, token: token, client: cliHTTPClient) },
            output: StandardOutput(),
            terminal: TerminalInfo(stdin: isatty(0) == 1, stdout: isatty(1) == 1, stderr: isatty(2) == 1),
            interrupts: interruptPresses,
            ask: { question in
                StandardOutput().write(Array(question.utf8), toError: true)
                return readLine(strippingNewline: true)
            })
    }

    /// One client for the process's life (it is never shut down: the process exits instead),
    /// trusting what `FLEET_CA_FILE` names. ``ConnectionOptions`` has refused an unusable
    /// bundle before any call, so the fallback is never what a call runs under.
    static let cliHTTPClient: HTTPClient = HTTPFleetAPI.makeClient(
        trust: (try? TrustSettings.fromEnvironment(ProcessInfo.processInfo.environment)) ?? .system)

    /// SIGINT as a stream: while it is iterated Ctrl-C does not kill the process; afterwards it does again.
    static let interruptPresses: @Sendable () -> AsyncStream<Void> = {
        AsyncStream { continuation in
            signal(SIGINT, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
            source.setEventHandler { continuation.yield() }
            source.resume()
            // The source is only touched again to cancel it, once; the mutex makes that hand-over Sendable.
            let held = Mutex<(any DispatchSourceSignal)?>(source)
            continuation.onTermination = { _ in
                held.withLock { $0?.cancel() }
                signal(SIGINT, SIG_DFL)
            }
        }
    }
}

/// File descriptors 1 and 2, written with write(2) so bytes leave unbuffered and unchanged.
struct StandardOutput: OutputSink {
    func write(_ bytes: [UInt8], toError: Bool) {
        let descriptor: Int32 = toError ? 2 : 1
        bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            var offset = 0
            while offset < buffer.count {
                #if canImport(Glibc)
                let written = Glibc.write(descriptor, base + offset, buffer.count - offset)
                #else
                let written = Darwin.write(descriptor, base + offset, buffer.count - offset)
                #endif
                if written < 0 {
                    if errno == EINTR { continue }
                    // The reader went away (`fleet … | head`): stop quietly, as cat does.
                    if errno == EPIPE { exit(toError ? 1 : 0) }
                    return
                }
                offset += written
            }
        }
    }
}
