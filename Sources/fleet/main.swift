import FleetCLI

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// `fleet`: the operator CLI. Everything but the process boundary lives in FleetCLI.
// A closed pipe is an EPIPE for the writer to handle, not a signal that kills mid-line.
signal(SIGPIPE, SIG_IGN)
exit(await FleetCLI.execute(Array(CommandLine.arguments.dropFirst()), context: .live()))
