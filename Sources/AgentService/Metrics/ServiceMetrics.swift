import Prometheus
import Synchronization

/// The service's Prometheus registry and the instruments the code records into.
///
/// An instance, not the global MetricsSystem, so tests can build many apps in one process.
public final class ServiceMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let chunksIngested: Counter
    let bytesIngested: Counter
    /// Log uploads accepted, per body form.
    let binaryUploads: Counter
    let jsonUploads: Counter
    let connectedPollers: Gauge
    let queueDepth: Gauge
    let throttled: Gauge
    let submits: Counter

    public init() {
        chunksIngested = registry.makeCounter(
            descriptor: .init(metricName: "fleet_log_chunks_ingested", unitName: "total", helpText: "Log chunks newly stored"))
        bytesIngested = registry.makeCounter(
            descriptor: .init(metricName: "fleet_log_bytes_ingested", unitName: "total", helpText: "Log bytes newly stored"))
        let uploads = MetricNameDescriptor(metricName: "fleet_log_uploads", unitName: "total", helpText: "Log uploads stored, per body form")
        binaryUploads = registry.makeCounter(descriptor: uploads, labels: [("form", "binary")])
        jsonUploads = registry.makeCounter(descriptor: uploads, labels: [("form", "json")])
        connectedPollers = registry.makeGauge(
            descriptor: .init(metricName: "fleet_connected_pollers", unitName: "", helpText: "Long-polls being held open"))
        queueDepth = registry.makeGauge(
            descriptor: .init(metricName: "fleet_queue_depth", unitName: "", helpText: "Invocations queued, not yet delivered"))
        throttled = registry.makeGauge(
            descriptor: .init(
                metricName: "fleet_throttled_invocations", unitName: "",
                helpText: "Invocations queued behind their command's max_concurrency"))
        submits = registry.makeCounter(
            descriptor: .init(metricName: "fleet_commands_submitted", unitName: "total", helpText: "Commands submitted"))
    }

    private struct RequestKey: Hashable {
        var method: String
        var route: String
        var status: Int
    }

    /// Instruments per label set, so the hot path does not rebuild them on every request.
    private let instruments = Mutex<[RequestKey: (Counter, DurationHistogram)]>([:])

    /// Counts one finished request.
    func recordRequest(method: String, route: String, status: Int, seconds: Duration) {
        let key = RequestKey(method: method, route: route, status: status)
        let (counter, histogram) = instruments.withLock { cache in
            if let cached = cache[key] { return cached }
            let made = (
                registry.makeCounter(
                    descriptor: .init(metricName: "fleet_http_requests", unitName: "total", helpText: "HTTP requests"),
                    labels: [("method", method), ("route", route), ("status", String(status))]),
                registry.makeDurationHistogram(
                    descriptor: .init(
                        metricName: "fleet_http_request_duration", unitName: "seconds", helpText: "HTTP request latency"),
                    labels: [("method", method), ("route", route)],
                    buckets: Self.latencyBuckets)
            )
            cache[key] = made
            return made
        }
        counter.increment()
        histogram.record(seconds)
    }

    static let latencyBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        .seconds(5), .seconds(30),
    ]
}
