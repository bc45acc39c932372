/// Which nodes a command targets, written in the Kubernetes label-selector grammar over node attrs.
///
/// Grammar (requirements separated by `,`, all of them must hold; whitespace allowed around tokens):
///
///     key=value   key==value   key!=value   key in (v1,v2)   key notin (v1,v2)   key   !key
///
/// `*` alone means every node; an empty selector is an error, so "everything" is always said out loud.
/// `!=` and `notin` also hold when the key is absent, as in Kubernetes.
///
/// Character sets (ASCII only, so a selector never needs quoting in a URL query, a shell or SQL):
/// - keys: 1–64 bytes of letters, digits, `.`, `_`, `-`, `/`;
/// - values: 0–256 bytes of letters, digits, `.`, `_`, `-`, `:`, `/`, `@`, `+`
///   (`key=` compares with the empty string, as in Kubernetes; values inside `in (…)` must be non-empty).
///
/// Node attrs may hold values outside that set (registration allows up to 1024 bytes of anything);
/// a selector simply cannot name them, though `!=`, `notin`, `key` and `!key` still apply to such nodes.
///
/// Limits: at most 4096 bytes, 64 requirements, 256 values per list.
/// The server, the console and the CLI share this type, so a preview matches what the server will pick.
public struct NodeSelector: Sendable, Hashable, CustomStringConvertible {
    /// One condition on a node's attrs; a selector holds when all of its requirements do.
    ///
    /// Exposed so the server can translate a selector to SQL over the jsonb `attrs` column
    /// (e.g. `equals` → `attrs->>'k' = 'v'`, `notEquals` → `attrs->>'k' IS DISTINCT FROM 'v'`,
    /// `exists` → `attrs ? 'k'`) instead of loading every node to match it in memory.
    public enum Requirement: Sendable, Hashable, CustomStringConvertible {
        /// `key=value` or `key==value`: the key is present with exactly that value.
        case equals(key: String, value: String)
        /// `key!=value`: the key is absent or has another value.
        case notEquals(key: String, value: String)
        /// `key in (v1,v2)`: the key is present with one of the values.
        case `in`(key: String, values: [String])
        /// `key notin (v1,v2)`: the key is absent or has none of the values.
        case notIn(key: String, values: [String])
        /// `key`: the key is present, whatever its value.
        case exists(key: String)
        /// `!key`: the key is absent.
        case notExists(key: String)

        /// The attribute key this requirement looks at.
        public var key: String {
            switch self {
            case .equals(let key, _), .notEquals(let key, _), .in(let key, _), .notIn(let key, _),
                .exists(let key), .notExists(let key):
                key
            }
        }

        /// Whether a node with these attrs satisfies the requirement.
        public func matches(_ attrs: [String: String]) -> Bool {
            switch self {
            case .equals(let key, let value): attrs[key] == value
            // Absent counts as "not equal", as in Kubernetes: `role!=db` keeps nodes without a role.
            case .notEquals(let key, let value): attrs[key] != value
            case .in(let key, let values): attrs[key].map(values.contains) ?? false
            case .notIn(let key, let values): attrs[key].map { !values.contains($0) } ?? true
            case .exists(let key): attrs[key] != nil
            case .notExists(let key): attrs[key] == nil
            }
        }

        /// The requirement in canonical form: `k=v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`.
        public var description: String {
            switch self {
            case .equals(let key, let value): "\(key)=\(value)"
            case .notEquals(let key, let value): "\(key)!=\(value)"
            case .in(let key, let values): "\(key) in (\(values.joined(separator: ",")))"
            case .notIn(let key, let values): "\(key) notin (\(values.joined(separator: ",")))"
            case .exists(let key): key
            case .notExists(let key): "!\(key)"
            }
        }
    }

    /// The parsed requirements in input order; empty only for `*` (every node).
    public let requirements: [Requirement]

    /// Parses a selector; the error names the UTF-8 byte offset and the problem.
    public init(parsing text: String) throws(NodeSelectorError) {
        var parser = NodeSelectorParser(text)
        self.requirements = try parser.parse()
    }

    private init(requirements: [Requirement]) {
        self.requirements = requirements
    }

    /// The selector `*`, which matches every node.
    public static let everyNode = NodeSelector(requirements: [])

    /// Whether this is `*`; the parser never yields an empty list otherwise, so the check is exact.
    public var isEveryNode: Bool { requirements.isEmpty }

    /// Whether a node with these attrs is selected (always true for `*`, even with no attrs).
    public func matches(_ attrs: [String: String]) -> Bool {
        requirements.allSatisfy { $0.matches(attrs) }
    }

    /// The canonical text: `*`, or the requirements in input order joined by `,`, which parses back to an equal selector.
    public var description: String {
        isEveryNode ? "*" : requirements.map(\.description).joined(separator: ",")
    }
}

/// Why a selector was refused, and where.
public struct NodeSelectorError: Error, Sendable, Hashable, CustomStringConvertible {
    /// 0-based offset in UTF-8 bytes where the problem was found (input length for "ended too early").
    ///
    /// Bytes, because the server, SQL and non-Swift clients all count them the same way. The grammar
    /// accepts only ASCII and parsing stops at the first byte it refuses, so (but for "selector too
    /// long") the bytes before `position` are ASCII and it equals the count of Characters before it.
    public var position: Int
    /// What is wrong, in words for an operator (e.g. "unclosed '(' ...").
    public var problem: String

    /// Makes an error at a byte offset.
    public init(position: Int, problem: String) {
        self.position = position
        self.problem = problem
    }

    /// `selector error at position N: problem`.
    public var description: String { "selector error at position \(position): \(problem)" }
}
