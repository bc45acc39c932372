import ArgumentParser
import Foundation

/// The one check of a command-id argument, shared by the subcommands that take one: at parse
/// time (ArgumentParser's `validate()`, exit 2 with usage) and where the id is used.
enum CommandIdArgument {
    static func problem(_ text: String) -> String { "'\(text.prefix(60))' is not a command id (a UUID)" }

    static func validate(_ text: String) throws {
        guard UUID(uuidString: text) != nil else { throw ValidationError(problem(text)) }
    }

    static func parse(_ text: String) throws(CLIError) -> UUID {
        guard let id = UUID(uuidString: text) else { throw .usage(problem(text)) }
        return id
    }
}
