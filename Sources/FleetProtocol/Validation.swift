/// Input rules shared by server and agent, so both refuse the same things.
public enum FleetValidation {
    /// Longest node id accepted.
    public static let maxNodeIdLength = 128

    /// Words that are fixed paths under `/v1/agents/`, so a node may not be called that.
    public static let reservedNodeIds: Set<String> = ["poll", "token", "status", "register"]

    /// Node ids are DNS-like: letters, digits, `.`, `_`, `-`; they never need quoting anywhere.
    public static func isValidNodeId(_ id: String) -> Bool {
        guard !id.isEmpty, id.utf8.count <= maxNodeIdLength, !reservedNodeIds.contains(id) else { return false }
        return id.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                true
            default:
                false
            }
        } && id.first != "-" && id.first != "."
    }

    /// Versions, artifact names and ids: 1-64 of letters, digits, `.`, `-`, `+`, `_`.
    public static func isValidLabel(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 64 else { return false }
        return text.unicodeScalars.allSatisfy {
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || ".-+_".unicodeScalars.contains($0))
        }
    }

    /// A SHA-256 digest as 64 hex digits.
    public static func isValidSHA256(_ text: String) -> Bool {
        text.utf8.count == 64 && text.allSatisfy(\.isHexDigit)
    }

    /// Package names with an optional version pin (`name`, `name=1.2`, `name-1.2`, `name>=1`):
    /// a leading letter or digit, so nothing can be read as an option, and no shell syntax.
    public static func isValidPackageName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 200, let first = name.utf8.first else { return false }
        let isAlnum: (UInt8) -> Bool = { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
        guard isAlnum(first) else { return false }
        let allowed: Set<UInt8> = Set("._+-:=<>~@".utf8)
        return name.utf8.allSatisfy { isAlnum($0) || allowed.contains($0) }
    }
}
