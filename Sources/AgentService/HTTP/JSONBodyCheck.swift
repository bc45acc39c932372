/// Checks a request body for what JSONDecoder lets through but a careful reader must refuse:
/// bytes that are not UTF-8 (RFC 8259 §8.1), an object with the same key twice (one reader
/// would run the first value, an auditing proxy see the second), and integers no field can hold.
///
/// It is a scanner, not a parser: on anything malformed it stops and leaves the report to the
/// decoder, so valid JSON is never refused for its syntax here.
enum JSONBodyCheck {
    /// Why the body is refused, with the JSON path or byte offset where that is known.
    struct Problem: Error, Equatable {
        var message: String
        /// An integer past Int64 is only a problem in a field the body's type reads: the decoder
        /// ignores unknown fields, and there such a number is valid JSON. The caller decodes
        /// first and gives this message when decoding fails, where Foundation would only say
        /// "not valid JSON".
        var onlyIfUndecodable = false
    }

    static func check(_ bytes: some Collection<UInt8>) -> Problem? {
        let bytes = Array(bytes)
        if bytes.starts(with: [0xFE, 0xFF]) || bytes.starts(with: [0xFF, 0xFE]) {
            return Problem(message: "body must be UTF-8 JSON (RFC 8259); this is UTF-16")
        }
        guard String(validating: bytes, as: UTF8.self) != nil else {
            return Problem(message: "body is not valid UTF-8")
        }
        var scanner = Scanner(bytes: bytes)
        return scanner.run()
    }

    private struct Scanner {
        /// One open container: an object's keys seen so far, and whether a key comes next.
        struct Level {
            var isObject: Bool
            var keys: Set<String> = []
            var expectsKey = false
            var path: String
        }

        let bytes: [UInt8]
        var index = 0
        var stack: [Level] = []
        var lastKey: String?
        var firstOutOfRange: Problem?

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func run() -> Problem? {
            while index < bytes.count {
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "{"):
                    stack.append(Level(isObject: true, expectsKey: true, path: childPath()))
                    index += 1
                case UInt8(ascii: "["):
                    stack.append(Level(isObject: false, path: childPath()))
                    index += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    guard !stack.isEmpty else { return nil }
                    stack.removeLast()
                    index += 1
                case UInt8(ascii: ","):
                    if !stack.isEmpty, stack[stack.count - 1].isObject { stack[stack.count - 1].expectsKey = true }
                    index += 1
                case UInt8(ascii: ":"):
                    if !stack.isEmpty { stack[stack.count - 1].expectsKey = false }
                    index += 1
                case UInt8(ascii: "\""):
                    guard let top = stack.last, top.isObject, top.expectsKey else {
                        // A value: skipped without copying (log chunks carry megabytes of it).
                        guard skipString() else { return nil }
                        continue
                    }
                    guard let text = string() else { return nil }
                    guard stack[stack.count - 1].keys.insert(text).inserted else {
                        return Problem(message: "duplicate key '\(text.prefix(64))' in \(top.path)")
                    }
                    lastKey = text
                case UInt8(ascii: "n"):
                    // The API never sends null and reads a field left out as "no value"; a
                    // null is refused so that one body has one meaning to every reader.
                    guard bytes[index...].starts(with: Array("null".utf8)) else { return firstOutOfRange }
                    return Problem(message: "field '\(valuePath())' is null: leave a field out instead of sending null")
                case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                    if let problem = number(), firstOutOfRange == nil { firstOutOfRange = problem }
                default:
                    index += 1
                }
            }
            return firstOutOfRange
        }

        /// The path of a container opened now, for messages (`body`, `payload`, `payload.env`).
        func childPath() -> String {
            guard let parent = stack.last else { return "body" }
            guard parent.isObject, let lastKey else { return parent.path }
            return parent.path == "body" ? lastKey : "\(parent.path).\(lastKey)"
        }

        /// Moves past a string literal at `index` (on its opening quote); false when it never ends.
        mutating func skipString() -> Bool {
            index += 1
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: "\""):
                    index += 1
                    return true
                case UInt8(ascii: "\\"): index += 2
                default: index += 1
                }
            }
            return false
        }

        /// Reads a string literal at `index` (on its opening quote); nil when it is malformed.
        mutating func string() -> String? {
            var scalars = String.UnicodeScalarView()
            var raw: [UInt8] = []
            index += 1
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    index += 1
                    flush(&raw, into: &scalars)
                    return String(scalars)
                }
                if byte == UInt8(ascii: "\\") {
                    guard index + 1 < bytes.count else { return nil }
                    let escaped = bytes[index + 1]
                    index += 2
                    switch escaped {
                    case UInt8(ascii: "u"):
                        guard let unit = hex4() else { return nil }
                        flush(&raw, into: &scalars)
                        if (0xD800..<0xDC00).contains(unit), bytes.count >= index + 6, bytes[index] == UInt8(ascii: "\\"),
                            bytes[index + 1] == UInt8(ascii: "u")
                        {
                            index += 2
                            guard let low = hex4() else { return nil }
                            let value = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
                            scalars.append(Unicode.Scalar(value) ?? "\u{FFFD}")
                        } else {
                            scalars.append(Unicode.Scalar(UInt32(unit)) ?? "\u{FFFD}")
                        }
                    case UInt8(ascii: "n"): raw.append(0x0A)
                    case UInt8(ascii: "t"): raw.append(0x09)
                    case UInt8(ascii: "r"): raw.append(0x0D)
                    case UInt8(ascii: "b"): raw.append(0x08)
                    case UInt8(ascii: "f"): raw.append(0x0C)
                    default: raw.append(escaped)
                    }
                    continue
                }
                raw.append(byte)
                index += 1
            }
            return nil
        }

        /// Moves decoded bytes before a `\u` escape into the scalar view, keeping their order.
        func flush(_ raw: inout [UInt8], into scalars: inout String.UnicodeScalarView) {
            guard !raw.isEmpty else { return }
            scalars.append(contentsOf: String(decoding: raw, as: UTF8.self).unicodeScalars)
            raw.removeAll()
        }

        mutating func hex4() -> UInt16? {
            guard index + 4 <= bytes.count, let value = UInt16(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16) else {
                return nil
            }
            index += 4
            return value
        }

        /// The JSON path of the value at the scanner's position.
        func valuePath() -> String {
            stack.last.map { $0.isObject ? ($0.path == "body" ? (lastKey ?? "body") : "\($0.path).\(lastKey ?? "")") : $0.path } ?? "body"
        }

        /// Reads a number; an integer literal past Int64 is refused (no field can hold it).
        mutating func number() -> Problem? {
            let start = index
            var isInteger = true
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                    isInteger = false
                } else if !(byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)) {
                    break
                }
                index += 1
            }
            let literal = String(decoding: bytes[start..<index], as: UTF8.self)
            guard isInteger, Int64(literal) == nil, literal.count > 1 || literal != "-" else { return nil }
            return Problem(message: "field '\(valuePath())': number \(literal.prefix(40)) is out of range", onlyIfUndecodable: true)
        }
    }
}
