import Hummingbird
import Synchronization

/// Which methods each route pattern serves, so a known path asked with the wrong method is
/// answered 405 with `Allow` instead of Hummingbird's 404 (which tells a client its URL is wrong
/// when only its method is).
///
/// Filled once from the finished router (``load(_:)``); read only when a request matched no route.
final class RouteTable: Sendable {
    private struct Pattern: Sendable {
        /// nil stands for a `{parameter}` segment.
        var segments: [Substring?]
        var methods: Set<HTTPRequest.Method>
    }

    private let patterns = Mutex<[Pattern]>([])

    func load(_ routes: [(path: String, method: HTTPRequest.Method)]) {
        var byPath: [String: Set<HTTPRequest.Method>] = [:]
        for route in routes { byPath[route.path, default: []].insert(route.method) }
        let loaded = byPath.map { path, methods in
            Pattern(segments: Self.segments(of: path).map { Self.isParameter($0) ? nil : $0 }, methods: methods)
        }
        patterns.withLock { $0 = loaded }
    }

    /// The methods some route serves at `path`, sorted; empty when no route has this path.
    func methods(at path: String) -> [HTTPRequest.Method] {
        let segments = Self.segments(of: path)
        // As the router does, a literal segment wins over a parameter: `/v1/agents/register`
        // is the register route, not `/v1/agents/{id}`.
        let matching = patterns.withLock { patterns in
            patterns.filter { pattern in
                pattern.segments.count == segments.count
                    && zip(pattern.segments, segments).allSatisfy { expected, actual in expected.map { $0 == actual } ?? !actual.isEmpty }
            }
        }
        let literals = { (pattern: Pattern) in pattern.segments.count(where: { $0 != nil }) }
        guard let best = matching.map(literals).max() else { return [] }
        let found = matching.filter { literals($0) == best }.reduce(into: Set<HTTPRequest.Method>()) { $0.formUnion($1.methods) }
        return found.sorted { $0.rawValue < $1.rawValue }
    }

    private static func segments(of path: String) -> [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: true)
    }

    private static func isParameter(_ segment: Substring) -> Bool {
        segment.hasPrefix("{") || segment.hasPrefix(":") || segment.hasPrefix("*")
    }
}
