import FleetProtocol
import Hummingbird
import Logging
import Prometheus

/// `/healthz` (the process is up), `/readyz` (database reachable and migrated), `/metrics`.
struct HealthController: Sendable {
    let database: Database
    let migrator: Migrator
    /// Migration versions this build ships, read once at start-up rather than per probe.
    let expectedMigrations: [Int]
    let queue: CommandQueue
    let metrics: ServiceMetrics

    func addRoutes(to router: Router<FleetRequestContext>) {
        router.get("/healthz") { _, _ in JSONBody(HealthResponse(status: "ok")) }
        router.get("/readyz") { _, _ in try await ready() }
        router.get("/metrics") { _, _ in try await scrape() }
    }

    func ready() async throws -> JSONBody<HealthResponse> {
        do {
            guard try await migrator.isUpToDate(database.client, expected: expectedMigrations) else {
                return JSONBody(HealthResponse(status: "unavailable", detail: "migrations pending"), status: .serviceUnavailable)
            }
        } catch {
            return JSONBody(HealthResponse(status: "unavailable", detail: "database unreachable"), status: .serviceUnavailable)
        }
        return JSONBody(HealthResponse(status: "ok"))
    }

    func scrape() async throws -> Response {
        if let depth = try? await queue.queueDepth() { metrics.queueDepth.set(Double(depth)) }
        if let held = try? await queue.throttledDepth() { metrics.throttled.set(Double(held)) }
        var buffer: [UInt8] = []
        metrics.registry.emit(into: &buffer)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
    }
}
