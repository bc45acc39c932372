import FleetProtocol
import Foundation

/// The store found something it did not write, or has no room to write.
public enum AgentStoreError: Error, Sendable, CustomStringConvertible {
    case corrupt(String)
    /// A chunk's offset does not continue its stream.
    case offsetMismatch(commandId: UUID, stream: LogStream, expected: Int64, got: Int64)
    /// The state directory's filesystem has no room for the write, even after the reserve was released.
    case stateDirectoryFull(freeBytes: Int64)

    public var description: String {
        switch self {
        case .corrupt(let message): "agent store corrupt: \(message)"
        case .offsetMismatch(let id, let stream, let expected, let got):
            "chunk for \(id) \(stream.rawValue) at offset \(got), expected \(expected)"
        case .stateDirectoryFull(let free): "state dir full (\(free) bytes free)"
        }
    }
}
