import FleetProtocol
import Foundation

/// What the Targets field names, and the rollout bounds typed beside it.
extension RunForm {
    /// The Targets field read as node ids or as a selector.
    public enum Targets: Hashable, Sendable {
        /// Node ids in the order typed, without repeats.
        case ids([String])
        /// A selector that agent-svc resolves when it queues the command; `text` is what is sent.
        case selector(text: String, NodeSelector)
        /// A selector that does not parse, with the position of the problem.
        case invalid(NodeSelectorError)
    }

    /// Ids when every comma- or space-separated term could be a node id, else a selector parsed
    /// with the grammar agent-svc uses. A lone `key` (has the attribute) therefore reads as an id:
    /// ids are what operators type most, and any operator (`=`, `!`, `in (…)`, `*`) makes a selector.
    public var targetSpec: Targets {
        let text = targets.text.trimmingCharacters(in: .whitespaces)
        let terms = text.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
        if terms.allSatisfy(Self.couldBeNodeId) {
            var seen = Set<String>()
            return .ids(terms.filter { seen.insert($0).inserted })
        }
        do throws(NodeSelectorError) {
            return .selector(text: text, try NodeSelector(parsing: text))
        } catch {
            return .invalid(error)
        }
    }

    /// The nodes the Targets field names now: the ids as typed, or the known nodes the selector
    /// picks — as agent-svc does, every registered node but the revoked ones, offline ones too.
    public func resolveTargets(in nodes: [NodeInfo]) -> [String] {
        switch targetSpec {
        case .ids(let ids): ids
        case .selector(_, let selector): nodes.filter { $0.status != .revoked && selector.matches($0.attrs) }.map(\.nodeId)
        case .invalid: []
        }
    }

    /// The bounds typed (nil where empty) and what is wrong with them, in the words of the form.
    func rolloutLimits() -> (concurrency: RolloutLimit?, errors: RolloutLimit?, problems: [String]) {
        let concurrency = Self.limit(maxConcurrency, named: "max concurrency", problem: \.concurrencyProblem)
        let errors = Self.limit(maxErrors, named: "max errors", problem: \.errorsProblem)
        return (concurrency.limit, errors.limit, [concurrency.problem, errors.problem].compactMap { $0 })
    }

    private static func limit(
        _ input: TextInput, named name: String, problem: (RolloutLimit) -> String?
    )
        -> (limit: RolloutLimit?, problem: String?)
    {
        let text = input.text.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { return (nil, nil) }
        guard let limit = RolloutLimit(text: text) else { return (nil, "\(name) must be a number or a percentage such as 10%") }
        return (limit, problem(limit).map { "\(name) \($0)" })
    }

    /// Node ids are letters, digits, `.`, `_` and `-` (see `FleetValidation.isValidNodeId`).
    private static func couldBeNodeId(_ term: String) -> Bool {
        term.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0)) }
    }
}
