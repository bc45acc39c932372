import ArgumentParser
import FleetClient
import Foundation

/// Why `fleet` stopped: always one line on stderr and an exit status, never a backtrace.
public enum CLIError: Error, Equatable, CustomStringConvertible {
    /// A call to agent-svc failed; `what` names the step ("submit", "list nodes").
    case api(what: String, FleetAPIError)
    /// The command line cannot work (exit 2), found after parsing (`--raw` without a node on a multi-node command).
    case usage(String)
    /// Something the server said that the CLI cannot act on (an unknown artifact).
    case refused(String)
    /// The environment asks for something unsafe or unusable (exit 78): plain http off
    /// loopback, a trust bundle that cannot be read.
    case configuration(String)

    public var description: String {
        switch self {
        case .api(let what, let error): "\(what) failed: \(error.description)"
        case .usage(let message): message
        case .refused(let message): message
        case .configuration(let message): message
        }
    }

    var exitStatus: Int32 {
        switch self {
        case .usage: ExitStatus.usage
        case .configuration: ExitStatus.configuration
        default: ExitStatus.failure
        }
    }
}

/// The statuses a script can rely on.
public enum ExitStatus {
    /// Every invocation succeeded (or the command did what it was asked).
    public static let success: Int32 = 0
    /// Something failed: an invocation, a call to the server.
    public static let failure: Int32 = 1
    /// The command line is wrong.
    public static let usage: Int32 = 2
    /// The configuration is refused (EX_CONFIG): running it again unchanged will not help.
    public static let configuration: Int32 = 78
    /// Ctrl-C detached from a command that keeps running (128 + SIGINT, as shells report it).
    public static let detached: Int32 = 130
}

/// Runs `fleet` in-process: what `main` calls, and what tests call with a fake context.
public enum FleetCLI {
    /// Parses `arguments` (without the program name), runs the subcommand and returns the exit
    /// status. Help, usage errors and failures are written to the context's output.
    public static func execute(_ arguments: [String], context: CLIContext) async -> Int32 {
        do {
            var command = try Fleet.parseAsRoot(arguments)
            if var command = command as? any FleetSubcommand {
                return try await command.execute(in: context)
            }
            if var async = command as? any AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
            return ExitStatus.success
        } catch let error as CLIError {
            context.output.err("fleet: \(error.description)\n")
            return error.exitStatus
        } catch {
            return report(error, context: context)
        }
    }

    /// ArgumentParser's own outcomes: help and completion scripts to stdout (status 0), usage
    /// errors to stderr with status 2.
    static func report(_ error: any Error, context: CLIContext) -> Int32 {
        let code = Fleet.exitCode(for: error)
        if code == .success {
            context.output.out(Fleet.fullMessage(for: error) + "\n")
            return ExitStatus.success
        }
        if let exit = error as? ExitCode { return exit.rawValue }
        let message = Fleet.fullMessage(for: error)
        context.output.err(message.hasSuffix("\n") ? message : message + "\n")
        return code == .validationFailure ? ExitStatus.usage : code.rawValue
    }
}

/// A subcommand that runs against a ``CLIContext`` and decides its own exit status.
protocol FleetSubcommand: ParsableCommand {
    mutating func execute(in context: CLIContext) async throws -> Int32
}

extension FleetSubcommand {
    /// Only ``FleetCLI/execute(_:context:)`` runs subcommands; this keeps ArgumentParser's
    /// `main()` path honest should anything call it.
    public mutating func run() throws {
        throw CLIError.usage("run fleet through FleetCLI.execute")
    }
}
