import Foundation

/// The one JSON coder configuration shared by agent-svc, node-agent and fleet-tui.
///
/// Dates are ISO-8601 with fractional seconds on the wire; decoding also accepts whole seconds
/// so hand-written curl bodies work.
public enum FleetJSON {
    /// A fresh encoder (JSONEncoder is not Sendable, so callers get their own).
    public static func makeEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(formatDate(date))
        }
        return encoder
    }

    /// A fresh decoder matching ``makeEncoder()``.
    public static func makeDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = parseDate(text) else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "expected an ISO-8601 date, got \(text.prefix(40))")
            }
            return date
        }
        return decoder
    }

    /// Formats a date as ISO-8601 UTC with milliseconds.
    public static func formatDate(_ date: Date) -> String { ISO8601Date.format(date) }

    /// Parses ISO-8601 with or without fractional seconds.
    public static func parseDate(_ text: String) -> Date? { ISO8601Date.parse(text) }
}
