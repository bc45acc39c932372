import Foundation

/// Splits a SQL script into statements at top-level semicolons, respecting quotes,
/// comments and dollar-quoted bodies.
enum SQLScript {
    static func statements(in script: String) -> [String] {
        var statements: [String] = []
        var current: [Character] = []
        let chars = Array(script)
        var index = 0
        var dollarTag: String?
        var inString = false
        func flush() {
            let text = String(current).trimmingCharacters(in: .whitespacesAndNewlines)
            if !text.isEmpty { statements.append(text) }
            current.removeAll()
        }
        while index < chars.count {
            let char = chars[index]
            if let tag = dollarTag {
                if char == "$", String(chars[index..<min(chars.count, index + tag.count)]) == tag {
                    current.append(contentsOf: tag)
                    index += tag.count
                    dollarTag = nil
                    continue
                }
                current.append(char)
            } else if inString {
                current.append(char)
                if char == "'" { inString = false }
            } else if char == "-", index + 1 < chars.count, chars[index + 1] == "-" {
                while index < chars.count, chars[index] != "\n" { index += 1 }
                continue
            } else if char == "'" {
                inString = true
                current.append(char)
            } else if char == "$", let end = chars[(index + 1)...].firstIndex(of: "$"),
                chars[(index + 1)..<end].allSatisfy({ $0.isLetter || $0 == "_" })
            {
                let tag = String(chars[index...end])
                dollarTag = tag
                current.append(contentsOf: tag)
                index = end + 1
                continue
            } else if char == ";" {
                flush()
            } else {
                current.append(char)
            }
            index += 1
        }
        flush()
        return statements
    }
}
