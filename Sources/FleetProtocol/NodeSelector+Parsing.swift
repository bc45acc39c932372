/// Hand-written recursive descent over the UTF-8 bytes of a selector.
///
/// Bytes rather than Characters: the grammar is ASCII, error positions are byte offsets (see
/// `NodeSelectorError.position`), and a byte never merges with its neighbour the way a combining
/// mark merges into a Character, so `a=b\u{301}` is refused at the mark instead of at `b`.
/// Each error is raised at the first byte that cannot be accepted, naming what was expected there.
struct NodeSelectorParser {
    static let maxLength = 4096
    static let maxRequirements = 64
    static let maxValuesPerList = 256
    static let maxKeyLength = 64
    static let maxValueLength = 256

    private static let keyCharacters = "letters, digits, '.', '_', '-' and '/'"
    private static let valueCharacters = "letters, digits, '.', '_', '-', ':', '/', '@' and '+'"

    private let bytes: [UInt8]
    private var index = 0

    init(_ text: String) {
        bytes = Array(text.utf8)
    }

    /// The requirements, or `[]` for `*`.
    mutating func parse() throws(NodeSelectorError) -> [NodeSelector.Requirement] {
        // Checked first so a huge body costs one count, not a parse.
        guard bytes.count <= Self.maxLength else {
            throw fail(at: Self.maxLength, "selector is too long: \(bytes.count) bytes, at most \(Self.maxLength)")
        }
        skipWhitespace()
        guard let first = peek else {
            // An empty selector is refused rather than read as "all": a blank form field must not reach the whole fleet.
            throw fail(at: 0, "empty selector: write '*' to select every node")
        }
        if first == ascii("*") {
            let starAt = index
            index += 1
            skipWhitespace()
            guard peek == nil else { throw starError(at: starAt) }
            return []
        }
        var requirements: [NodeSelector.Requirement] = []
        while true {
            guard requirements.count < Self.maxRequirements else {
                throw fail(at: index, "too many requirements: at most \(Self.maxRequirements)")
            }
            let requirement = try parseRequirement()
            requirements.append(requirement)
            skipWhitespace()
            guard let next = peek else { return requirements }
            guard next == ascii(",") else { throw unexpectedAfter(requirement) }
            let commaAt = index
            index += 1
            skipWhitespace()
            guard peek != nil else { throw fail(at: commaAt, "trailing comma: expected a requirement after ','") }
        }
    }

    // MARK: - Requirements

    private mutating func parseRequirement() throws(NodeSelectorError) -> NodeSelector.Requirement {
        let start = index
        guard let first = peek else { throw fail(at: index, "missing requirement") }
        switch first {
        case ascii("!"):
            return try parseNotExists()
        case ascii("*"):
            throw starError(at: index)
        case ascii(","):
            throw fail(at: index, "empty requirement: expected a key before ','")
        case ascii("="):
            throw fail(at: index, "empty key: expected a key before '='")
        case _ where !Self.isKeyByte(first):
            throw fail(at: index, "\(unexpected(at: index)): expected a key (\(Self.keyCharacters))")
        default:
            break
        }
        let key = try parseKey()
        let keyEnd = index
        skipWhitespace()
        guard let next = peek, next != ascii(",") else { return .exists(key: key) }
        switch next {
        case ascii("="):
            index += 1
            if peek == ascii("=") { index += 1 }
            return .equals(key: key, value: try parseValue(of: key))
        case ascii("!") where byte(at: index + 1) == ascii("="):
            index += 2
            return .notEquals(key: key, value: try parseValue(of: key))
        case ascii("!"):
            throw fail(at: index, "unknown operator '!' after key '\(key)': did you mean '!='?")
        case ascii(">"), ascii("<"):
            let symbol = String(decoding: [next], as: UTF8.self)
            throw fail(at: index, "unknown operator '\(symbol)': selectors compare only with =, ==, !=, in and notin")
        case _ where index == keyEnd:
            // Directly after the key, so it was meant to be part of it.
            throw fail(at: index, "\(unexpected(at: index)) in key '\(key)': keys may hold only \(Self.keyCharacters)")
        case _ where Self.isKeyByte(next):
            let wordStart = index
            let word = scan(while: Self.isKeyByte)
            switch word {
            case "in": return .in(key: key, values: try parseList(of: key, operator: word, requirementStart: start))
            case "notin": return .notIn(key: key, values: try parseList(of: key, operator: word, requirementStart: start))
            default: break
            }
            let lowered = word.lowercased()
            if lowered == "in" || lowered == "notin" {
                throw fail(at: wordStart, "unknown operator '\(word)': operators are lowercase, write '\(lowered)'")
            }
            throw fail(
                at: wordStart,
                "unknown operator '\(word)' after key '\(key)': use =, ==, !=, in or notin (or ',' between requirements)")
        default:
            throw fail(
                at: index, "\(unexpected(at: index)) after key '\(key)': expected an operator (=, ==, !=, in, notin), ',' or the end")
        }
    }

    /// `!key`; an operator after it is refused with a hint, since `!role=db` is a common slip for `role!=db`.
    private mutating func parseNotExists() throws(NodeSelectorError) -> NodeSelector.Requirement {
        let bangAt = index
        index += 1
        if peek == ascii("=") { throw fail(at: bangAt, "empty key: expected a key before '!='") }
        skipWhitespace()
        guard let first = peek else { throw fail(at: index, "missing key after '!'") }
        guard Self.isKeyByte(first) else {
            throw fail(at: index, "\(unexpected(at: index)): expected a key after '!' (\(Self.keyCharacters))")
        }
        let key = try parseKey()
        let keyEnd = index
        skipWhitespace()
        if let next = peek, next == ascii("=") || next == ascii("!") {
            throw fail(at: index, "'!\(key)' means the key is absent and takes no value: to exclude a value write '\(key)!=value'")
        }
        if index > keyEnd, let next = peek, Self.isKeyByte(next) {
            var lookahead = self
            let word = lookahead.scan(while: Self.isKeyByte)
            if word == "in" || word == "notin" {
                throw fail(at: index, "'!\(key)' means the key is absent and takes no operator: write '\(key) notin (...)'")
            }
        }
        return .notExists(key: key)
    }

    // MARK: - Tokens

    /// A key; the caller has checked that the first byte is a key byte.
    private mutating func parseKey() throws(NodeSelectorError) -> String {
        let start = index
        let key = scan(while: Self.isKeyByte)
        let length = index - start
        guard length <= Self.maxKeyLength else {
            throw fail(at: start + Self.maxKeyLength, "key '\(excerpt(key))' is too long: \(length) bytes, at most \(Self.maxKeyLength)")
        }
        return key
    }

    /// The value after `=`, `==` or `!=`; may be empty (`role=` matches `role` set to ""), as in Kubernetes.
    private mutating func parseValue(of key: String) throws(NodeSelectorError) -> String {
        skipWhitespace()
        let value = try scanValue(of: key)
        if let next = peek, !Self.isWhitespace(next), next != ascii(",") {
            if value.isEmpty, next == ascii("(") {
                throw fail(at: index, "unexpected '(' in the value of '\(key)': for a list of values write '\(key) in (a,b)'")
            }
            throw badValueCharacter(of: key)
        }
        return value
    }

    /// The values of `in (...)` or `notin (...)`: at least one, each non-empty.
    private mutating func parseList(
        of key: String, operator op: String, requirementStart: Int
    ) throws(NodeSelectorError) -> [String] {
        skipWhitespace()
        guard let open = peek else { throw fail(at: index, "missing '(' after '\(op)': write '\(key) \(op) (a,b)'") }
        guard open == ascii("(") else {
            throw fail(at: index, "expected '(' after '\(op)', found \(describe(at: index)): write '\(key) \(op) (a,b)'")
        }
        index += 1
        var values: [String] = []
        while true {
            skipWhitespace()
            guard let first = peek else { throw unclosed(from: requirementStart) }
            if first == ascii(")") { throw fail(at: index, "empty list: '\(op)' needs at least one value") }
            if first == ascii(",") { throw fail(at: index, "missing value before ',' in the list of '\(key)'") }
            guard values.count < Self.maxValuesPerList else {
                throw fail(at: index, "too many values in the list of '\(key)': at most \(Self.maxValuesPerList)")
            }
            let value = try scanValue(of: key)
            if value.isEmpty {
                throw fail(at: index, "\(unexpected(at: index)) in the list of '\(key)': expected a value\(starHint(key: key))")
            }
            if let next = peek, !Self.isWhitespace(next), next != ascii(","), next != ascii(")") {
                throw badValueCharacter(of: key)
            }
            values.append(value)
            skipWhitespace()
            guard let next = peek else { throw unclosed(from: requirementStart) }
            switch next {
            case ascii(")"):
                index += 1
                return values
            case ascii(","):
                let commaAt = index
                index += 1
                skipWhitespace()
                if peek == ascii(")") { throw fail(at: commaAt, "trailing comma in the list of '\(key)'") }
            default:
                throw fail(at: index, "expected ',' or ')' after '\(value)' in the list of '\(key)', found \(describe(at: index))")
            }
        }
    }

    /// Value bytes from here, length-checked; stops at the first byte that is not one.
    private mutating func scanValue(of key: String) throws(NodeSelectorError) -> String {
        let start = index
        let value = scan(while: Self.isValueByte)
        let length = index - start
        guard length <= Self.maxValueLength else {
            throw fail(
                at: start + Self.maxValueLength,
                "value '\(excerpt(value))' of '\(key)' is too long: \(length) bytes, at most \(Self.maxValueLength)")
        }
        return value
    }

    private mutating func scan(while accepts: (UInt8) -> Bool) -> String {
        let start = index
        while let byte = peek, accepts(byte) { index += 1 }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    private mutating func skipWhitespace() {
        while let byte = peek, Self.isWhitespace(byte) { index += 1 }
    }

    private var peek: UInt8? { byte(at: index) }

    private func byte(at offset: Int) -> UInt8? {
        offset < bytes.count ? bytes[offset] : nil
    }

    // MARK: - Character classes

    /// The whitespace Kubernetes' lexer skips; anything else (such as a non-breaking space) is refused by name.
    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    private static func isKeyByte(_ byte: UInt8) -> Bool {
        switch byte {
        case ascii("a")...ascii("z"), ascii("A")...ascii("Z"), ascii("0")...ascii("9"), ascii("."), ascii("_"), ascii("-"), ascii("/"):
            true
        default:
            false
        }
    }

    private static func isValueByte(_ byte: UInt8) -> Bool {
        isKeyByte(byte) || byte == ascii(":") || byte == ascii("@") || byte == ascii("+")
    }

    // MARK: - Errors

    private func fail(at position: Int, _ problem: String) -> NodeSelectorError {
        NodeSelectorError(position: position, problem: problem)
    }

    private func starError(at position: Int) -> NodeSelectorError {
        fail(at: position, "'*' selects every node and must be the whole selector")
    }

    private func unclosed(from requirementStart: Int) -> NodeSelectorError {
        var end = bytes.count
        while end > requirementStart, Self.isWhitespace(bytes[end - 1]) { end -= 1 }
        let text = String(decoding: bytes[requirementStart..<end], as: UTF8.self)
        return fail(at: bytes.count, "unclosed '(': expected ')' after the values of '\(excerpt(text))'")
    }

    private func badValueCharacter(of key: String) -> NodeSelectorError {
        fail(at: index, "\(unexpected(at: index)) in the value of '\(key)': values may hold only \(Self.valueCharacters)\(starHint(key: key))")
    }

    /// `role=*` is a natural guess for "any role"; say what does that instead.
    private func starHint(key: String) -> String {
        peek == ascii("*") ? " ('*' is not a wildcard; '\(key)' alone selects any value)" : ""
    }

    private func unexpectedAfter(_ requirement: NodeSelector.Requirement) -> NodeSelectorError {
        guard let next = peek, Self.isKeyByte(next) else {
            return fail(at: index, "\(unexpected(at: index)) after '\(requirement)': expected ',' or the end")
        }
        var lookahead = self
        let word = lookahead.scan(while: Self.isKeyByte)
        return fail(at: index, "unexpected '\(excerpt(word))' after '\(requirement)': missing ',' between requirements?")
    }

    private func unexpected(at offset: Int) -> String {
        "unexpected character \(describe(at: offset))"
    }

    /// `'#'` for printable ASCII, `'é' (U+00E9)` for other visible characters, `U+00A0` for invisible ones.
    private func describe(at offset: Int) -> String {
        guard let lead = byte(at: offset) else { return "end of selector" }
        if lead > 0x20, lead < 0x7F { return "'\(Character(Unicode.Scalar(lead)))'" }
        var iterator = bytes[offset...].makeIterator()
        var decoder = UTF8()
        guard case .scalarValue(let scalar) = decoder.decode(&iterator) else { return "byte \(hex(UInt32(lead), digits: 2))" }
        let code = "U+" + hex(scalar.value, digits: 4)
        switch scalar.properties.generalCategory {
        case .control, .format, .spaceSeparator, .lineSeparator, .paragraphSeparator, .nonspacingMark, .enclosingMark,
            .spacingMark, .unassigned, .surrogate, .privateUse:
            return code
        default:
            return "'\(Character(scalar))' (\(code))"
        }
    }

    private func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }

    /// Long keys, values and requirements are cut in messages so one stays readable on a console line.
    private func excerpt(_ text: String) -> String {
        text.utf8.count <= 40 ? text : String(decoding: text.utf8.prefix(40), as: UTF8.self) + "…"
    }
}

private func ascii(_ scalar: Unicode.Scalar) -> UInt8 {
    UInt8(ascii: scalar)
}
