import Foundation

/// POSIX shell quoting: the agent runs a RunCommand as `/bin/sh -c STRING`, so `fleet run -- CMD ARGS…`
/// must turn the words back into one string that the node's shell splits into exactly those words.
enum ShellQuoting {
    /// Characters that never need quoting in a POSIX shell word.
    static let safe = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789@%+=:,./_-")

    /// `word` as a shell word: unchanged when it is made of safe characters only, else in single
    /// quotes, with each `'` written as `'\''` (inside single quotes nothing else is special).
    static func quote(_ word: String) -> String {
        if !word.isEmpty, word.allSatisfy(safe.contains) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
    }

    /// The words joined into one command line.
    static func join(_ words: [String]) -> String {
        words.map(quote).joined(separator: " ")
    }
}
