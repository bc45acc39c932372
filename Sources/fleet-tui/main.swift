import ArgumentParser
import AsyncHTTPClient
import FleetClient
import FleetConsole
import FleetTLS
import Foundation

/// `fleet-tui`: the operator console. Reads AGENT_SVC_URL and FLEET_TOKEN; flags win.
struct FleetTUI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet-tui",
        abstract: "Fleet operator console: nodes, commands, live logs, run, cancel, revoke.",
        discussion: """
            Configuration comes from the environment (AGENT_SVC_URL, FLEET_TOKEN); flags override it. \
            Prefer the environment for the token: flags are visible in the process list. Over https the \
            server's certificate is checked against the system trust store, or only the PEM bundle in \
            FLEET_CA_FILE when set; plain http to a host that is not loopback needs ALLOW_INSECURE_HTTP=1 \
            (exit 78 otherwise).
            """)

    @Option(name: .customLong("agent-svc-url"), help: "agent-svc base URL (AGENT_SVC_URL, default http://127.0.0.1:8080).")
    var serverURL: String?

    @Option(name: .customLong("token"), help: "Operator token (FLEET_TOKEN).")
    var token: String?

    @Option(name: .customLong("refresh"), help: "Seconds between list refreshes (default 2).")
    var refresh: Double = 2

    @Flag(name: .customLong("benchmark"), help: .hidden)
    var benchmark = false

    func run() throws {
        if benchmark { return runBenchmark() }
        let environment = ProcessInfo.processInfo.environment
        let url = serverURL ?? environment["AGENT_SVC_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? "http://127.0.0.1:8080"
        guard let token = token ?? environment["FLEET_TOKEN"].flatMap({ $0.isEmpty ? nil : $0 }) else {
            throw ValidationError(
                "an operator token is required: set FLEET_TOKEN or pass --token (mint one with `agent-svc operator-token --name $USER`)")
        }
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw ValidationError("AGENT_SVC_URL must start with http:// or https:// (got \(url))")
        }
        guard refresh >= 0.2 else { throw ValidationError("--refresh must be at least 0.2 seconds") }
        let trust: TrustSettings
        do {
            if let refusal = PlainHTTPPolicy.refusal(
                url: url, variable: "AGENT_SVC_URL", allowInsecure: PlainHTTPPolicy.allowsInsecure(environment))
            {
                throw ConfigurationRefused(message: refusal)
            }
            trust = try TrustSettings.fromEnvironment(environment)
        } catch {
            FileHandle.standardError.write(Data("fleet-tui: \(error)\n".utf8))
            throw ExitCode(78)
        }
        let client = HTTPFleetAPI.makeClient(trust: trust)
        // An HTTPClient must be shut down before it is released (debug builds trap otherwise).
        defer { try? client.syncShutdown() }
        let api = HTTPFleetAPI(baseURL: url, token: token, client: client)
        StopSignals.install()
        let terminal: CursesTerminal
        do {
            terminal = try CursesTerminal()
        } catch {
            FileHandle.standardError.write(Data("fleet-tui: \(error.description)\n".utf8))
            throw ExitCode.failure
        }
        let app = ConsoleApp(terminal: terminal, api: api, serverURL: url, pollInterval: .milliseconds(Int(refresh * 1000)))
        app.run()
    }
}

/// A setting the console will not run with; printed as its message.
struct ConfigurationRefused: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

FleetTUI.main()
