import Foundation

/// A rollout bound as an operator writes it: a number of invocations, or a percentage of the
/// command's resolved targets (`3` or `"10%"` in JSON), as in SSM's MaxConcurrency/MaxErrors.
public enum RolloutLimit: Sendable, Hashable, CustomStringConvertible {
    case count(Int)
    case percent(Int)

    /// Parses `"3"` or `"10%"` (surrounding spaces allowed); nil for anything else.
    public init?(text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasSuffix("%") {
            guard let value = Int(trimmed.dropLast().trimmingCharacters(in: .whitespaces)) else { return nil }
            self = .percent(value)
        } else {
            guard let value = Int(trimmed) else { return nil }
            self = .count(value)
        }
    }

    /// `3` or `10%`.
    public var description: String {
        switch self {
        case .count(let value): "\(value)"
        case .percent(let value): "\(value)%"
        }
    }

    /// Why this value cannot bound concurrency (a positive count, or 1–100 %), or nil when it can.
    public var concurrencyProblem: String? {
        switch self {
        case .count(let value) where value < 1: "must be at least 1, got \(value)"
        case .percent(let value) where !(1...100).contains(value): "must be 1%–100%, got \(value)%"
        default: nil
        }
    }

    /// Why this value cannot bound errors (a count of 0 or more, or 0–100 %), or nil when it can.
    public var errorsProblem: String? {
        switch self {
        case .count(let value) where value < 0: "must not be negative, got \(value)"
        case .percent(let value) where !(0...100).contains(value): "must be 0%–100%, got \(value)%"
        default: nil
        }
    }

    /// How many invocations may run at once among `targets`: a percentage is rounded up, and
    /// never below 1, so `10%` of 5 nodes still lets one run.
    public func concurrency(of targets: Int) -> Int {
        switch self {
        case .count(let value): max(1, value)
        case .percent(let value): max(1, (targets * value + 99) / 100)
        }
    }

    /// How many failed invocations are tolerated among `targets`: a percentage is rounded down,
    /// so `10%` of 5 nodes tolerates none (stopping early is the safe side of a rollout).
    public func tolerated(of targets: Int) -> Int {
        switch self {
        case .count(let value): max(0, value)
        case .percent(let value): targets * value / 100
        }
    }
}

extension RolloutLimit: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Int.self) {
            self = .count(number)
            return
        }
        guard let text = try? container.decode(String.self), let limit = RolloutLimit(text: text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "expected a whole number or a percentage such as \"10%\"")
        }
        self = limit
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .count(let value): try container.encode(value)
        case .percent: try container.encode(description)
        }
    }
}

/// A command's rollout bounds: as the operator gave them, and resolved against its targets.
public struct RolloutSettings: Codable, Sendable, Hashable {
    /// Invocations delivered or running at once, at most; nil for no bound.
    public var maxConcurrency: Int?
    /// The bound as given (`3` or `10%`).
    public var maxConcurrencySpec: RolloutLimit?
    /// Failed, timed-out or lost invocations tolerated before the command stops sending.
    public var maxErrors: Int?
    /// The bound as given.
    public var maxErrorsSpec: RolloutLimit?
    /// Seconds an invocation may wait for delivery before it expires.
    public var deliverWithinSec: Int
    /// Why the command stopped sending (the max-errors stop), once it has.
    public var stoppedReason: String?

    public init(
        maxConcurrency: Int? = nil, maxConcurrencySpec: RolloutLimit? = nil, maxErrors: Int? = nil,
        maxErrorsSpec: RolloutLimit? = nil, deliverWithinSec: Int, stoppedReason: String? = nil
    ) {
        self.maxConcurrency = maxConcurrency
        self.maxConcurrencySpec = maxConcurrencySpec
        self.maxErrors = maxErrors
        self.maxErrorsSpec = maxErrorsSpec
        self.deliverWithinSec = deliverWithinSec
        self.stoppedReason = stoppedReason
    }

    enum CodingKeys: String, CodingKey {
        case maxConcurrency = "max_concurrency"
        case maxConcurrencySpec = "max_concurrency_spec"
        case maxErrors = "max_errors"
        case maxErrorsSpec = "max_errors_spec"
        case deliverWithinSec = "deliver_within_sec"
        case stoppedReason = "stopped_reason"
    }

    /// `3 running of max 3, 5 waiting, 1 error of max 2` for a command with these counts.
    public func progress(_ counts: StateCounts) -> String {
        let inFlight = counts.delivered + counts.running
        let errors = counts.failed + counts.timedOut + counts.lost
        var parts = [maxConcurrency.map { "\(inFlight) running of max \($0)" } ?? "\(inFlight) running"]
        parts.append("\(counts.queued) waiting")
        let noun = errors == 1 ? "error" : "errors"
        parts.append(maxErrors.map { "\(errors) \(noun) of max \($0)" } ?? "\(errors) \(noun)")
        if let stoppedReason { parts.append("stopped: \(stoppedReason)") }
        return parts.joined(separator: ", ")
    }
}
