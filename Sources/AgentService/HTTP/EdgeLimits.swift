import Foundation
import NIOCore

/// What the HTTP layer allows a client before any route sees its request: how long the
/// headers and each stretch of the body may take, how long a kept-alive connection may sit
/// idle, how many connections may be open and how large the headers may be.
///
/// Without these a client that sends one byte a second, or declares a gigabyte and sends
/// seven bytes, holds a descriptor and a task for as long as it likes; a few thousand such
/// clients exhaust the process.
public struct EdgeLimits: Sendable, Equatable {
    /// From the first byte of a request to the end of its headers.
    public var headerTimeout: TimeAmount = .seconds(10)
    /// Longest pause between two reads of a request body before it is answered 408.
    public var bodyStallTimeout: TimeAmount = .seconds(30)
    /// A kept-alive connection with no request in progress is closed after this. Longer than
    /// the longest long-poll, so a node's connection survives from one poll to the next.
    public var idleTimeout: TimeAmount = .seconds(90)
    /// After an answer given before its body arrived (413, 401 …): how long the rest of the
    /// body is read and dropped before the connection closes. Closing at once would reset the
    /// connection under a client still sending, which may then never read the answer.
    public var lingerTimeout: TimeAmount = .seconds(5)
    /// Open connections beyond this wait in the listen backlog until one closes (set from the
    /// descriptor limit at start-up, see ``connectionCap(descriptorLimit:wanted:)``).
    public var maxConnections: Int = 16_384
    /// Bytes of one header line, of all header lines together, and their number.
    /// Room for the longest query the API documents: a 4096-character selector, percent-encoded.
    public var maxHeaderFieldBytes: Int = 64 * 1024
    public var maxHeaderListBytes: Int = 64 * 1024
    public var maxHeaderCount: Int = 128

    public init() {}

    /// A connection cap that fits `descriptorLimit` open files, keeping `reserve` of them for
    /// Postgres, the listener, logs and artifacts.
    /// Unset, the cap is whatever the descriptors allow: the limit an operator raises is `ulimit -n`.
    public static func connectionCap(descriptorLimit: Int, wanted: Int?, reserve: Int = 256) -> Int {
        let fits = max(min(descriptorLimit, 1 << 20) - reserve, 64)
        return min(wanted ?? fits, fits)
    }
}

/// The process's open-file limit, raised from its soft to its hard value first: Debian starts
/// services at 1024, far below one connection per node of a fleet.
enum DescriptorLimit {
    static func raiseToHard() -> Int {
        #if canImport(Glibc)
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return Int(clamping: limit.rlim_cur)
        #else
        return 1024
        #endif
    }
}
