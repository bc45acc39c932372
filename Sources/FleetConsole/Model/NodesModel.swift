import FleetProtocol
import Foundation

/// How the node table is ordered.
public enum NodeSort: String, CaseIterable, Sendable {
    case id, status, lastSeen = "last seen", version

    /// The next order in the cycle.
    public var next: NodeSort {
        let all = Self.allCases
        return all[(all.firstIndex(of: self).map { $0 + 1 } ?? 0) % all.count]
    }
}

/// The node list: everything the server returned, a filter, a sort, a cursor and a selection.
public struct NodesModel: Sendable {
    /// Every node as last fetched, in the server's order.
    public private(set) var nodes: [NodeInfo] = []
    /// Lower-cased searchable text per node (id, version, state, attributes), built once per refresh.
    private var haystacks: [String] = []
    /// Indices into `nodes` that pass the filter, in display order.
    public private(set) var visible: [Int] = []
    /// The filter text: words or `k=v` attributes, all of which must match.
    public private(set) var filter = ""
    /// The order of the table.
    public private(set) var sort = NodeSort.id
    /// Node ids marked with space; kept across refreshes.
    public private(set) var selected: Set<String> = []
    /// The selected row of the visible ones.
    public var cursor = ListCursor()
    /// False until the first answer from the server.
    public private(set) var loaded = false

    /// An empty list, not loaded yet.
    public init() {}

    /// Replaces the list with a fresh one from the server; the cursor stays on the same node.
    public mutating func replace(_ newNodes: [NodeInfo]) {
        let currentId = current?.nodeId
        nodes = newNodes
        haystacks = newNodes.map(Self.haystack)
        loaded = true
        let known = Set(newNodes.map(\.nodeId))
        selected.formIntersection(known)
        recompute(keeping: currentId)
    }

    /// Filters the list; the cursor stays on the same node when it still shows.
    public mutating func setFilter(_ text: String) {
        let currentId = current?.nodeId
        filter = text
        recompute(keeping: currentId)
    }

    /// Switches to the next order; the cursor stays on the same node.
    public mutating func cycleSort() {
        let currentId = current?.nodeId
        sort = sort.next
        recompute(keeping: currentId)
    }

    /// Marks or unmarks the node under the cursor and moves down, like a file manager.
    public mutating func toggleSelection() {
        guard let id = current?.nodeId else { return }
        if selected.remove(id) == nil { selected.insert(id) }
        cursor.move(by: 1)
    }

    /// Marks every visible node, or clears the marks when all of them are already marked.
    public mutating func toggleAllVisible() {
        let ids = visible.map { nodes[$0].nodeId }
        if ids.allSatisfy(selected.contains) { selected.subtract(ids) } else { selected.formUnion(ids) }
    }

    /// Unmarks every node.
    public mutating func clearSelection() { selected.removeAll() }

    /// The node under the cursor.
    public var current: NodeInfo? {
        visible.indices.contains(cursor.index) ? nodes[visible[cursor.index]] : nil
    }

    /// The node shown at visible row `row`.
    public func node(atRow row: Int) -> NodeInfo { nodes[visible[row]] }

    /// Nodes that are online and not revoked.
    public var onlineCount: Int { nodes.reduce(0) { $0 + ($1.online && $1.status == .active ? 1 : 0) } }

    /// The nodes a command would go to: the marked ones, else the one under the cursor.
    public var targets: [String] {
        if !selected.isEmpty { return nodes.map(\.nodeId).filter(selected.contains) }
        return current.map { [$0.nodeId] } ?? []
    }

    private mutating func recompute(keeping id: String?) {
        let terms = filter.split(separator: " ").map { $0.lowercased() }
        var rows = terms.isEmpty ? Array(nodes.indices) : nodes.indices.filter { Self.matches(nodes[$0], haystacks[$0], terms) }
        switch sort {
        case .id: break  // the server's order is by id
        case .status: rows.sort { (Self.rank(nodes[$0]), nodes[$0].nodeId) < (Self.rank(nodes[$1]), nodes[$1].nodeId) }
        case .lastSeen:
            rows.sort {
                let a = nodes[$0].lastSeenAt ?? .distantPast
                let b = nodes[$1].lastSeenAt ?? .distantPast
                return a != b ? a > b : nodes[$0].nodeId < nodes[$1].nodeId
            }
        case .version:
            rows.sort {
                let a = nodes[$0].agentVersion ?? ""
                let b = nodes[$1].agentVersion ?? ""
                return a != b ? a < b : nodes[$0].nodeId < nodes[$1].nodeId
            }
        }
        visible = rows
        cursor.setCount(rows.count)
        if let id, let row = rows.firstIndex(where: { nodes[$0].nodeId == id }) { cursor.moveTo(row) }
    }

    /// Online first, then offline, then revoked.
    private static func rank(_ node: NodeInfo) -> Int {
        node.status == .revoked ? 2 : (node.online ? 0 : 1)
    }

    /// A term `k=v` must equal an attribute; any other term is a substring of the id,
    /// an attribute, the version or the state word.
    static func matches(_ node: NodeInfo, _ haystack: String, _ terms: [String]) -> Bool {
        terms.allSatisfy { term in
            if term.contains("=") {
                // Exact attribute match; the haystack holds "\u{1}k=v\u{1}" for each attribute.
                return haystack.contains("\u{1}" + term + "\u{1}")
            }
            return haystack.contains(term)
        }
    }

    static func haystack(_ node: NodeInfo) -> String {
        var text = node.nodeId + " " + (node.agentVersion ?? "") + " " + NodeState(node).word + " \u{1}"
        for (key, value) in node.attrs { text += key + "=" + value + "\u{1}" }
        return text.lowercased()
    }
}

/// What the operator cares about: can the node take work now.
public enum NodeState: Sendable {
    case online, offline, revoked

    /// The state `node` is in.
    public init(_ node: NodeInfo) {
        self = node.status == .revoked ? .revoked : (node.online ? .online : .offline)
    }

    /// The word the table shows.
    public var word: String {
        switch self {
        case .online: "online"
        case .offline: "offline"
        case .revoked: "revoked"
        }
    }
}
