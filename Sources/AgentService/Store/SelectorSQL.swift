import FleetProtocol
import Foundation

/// A ``NodeSelector`` as the three parallel arrays that the SQL function `fleet_attrs_match`
/// (migration 0005) evaluates against `nodes.attrs`, so a selector never becomes SQL text:
/// `=` is `in` with one value, `!=` is `notin` with one value, `key` is `exists`, `!key` is `absent`.
struct SelectorSQL: Sendable {
    var operations: [String] = []
    var keys: [String] = []
    /// Each requirement's values as a JSON array (empty for `exists`/`absent`).
    var values: [String] = []

    init(_ selector: NodeSelector) {
        for requirement in selector.requirements {
            switch requirement {
            case .equals(let key, let value): add("in", key, [value])
            case .notEquals(let key, let value): add("notin", key, [value])
            case .in(let key, let list): add("in", key, list)
            case .notIn(let key, let list): add("notin", key, list)
            case .exists(let key): add("exists", key, [])
            case .notExists(let key): add("absent", key, [])
            }
        }
    }

    private mutating func add(_ operation: String, _ key: String, _ list: [String]) {
        operations.append(operation)
        keys.append(key)
        values.append(String(decoding: (try? JSONEncoder().encode(list)) ?? Data("[]".utf8), as: UTF8.self))
    }
}

extension NodeSelector {
    /// Parses an operator's selector, refusing it as a ``QueueError`` (400 `invalid_selector`).
    init(operatorText text: String) throws(QueueError) {
        do throws(NodeSelectorError) {
            self = try NodeSelector(parsing: text)
        } catch {
            throw .invalidSelector(error)
        }
    }
}
