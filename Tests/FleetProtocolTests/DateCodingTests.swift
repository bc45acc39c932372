import Foundation
import Testing

@testable import FleetProtocol

@Suite("ISO-8601 dates")
struct DateCodingTests {
    static let foundationFormat = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt)

    /// Foundation derives milliseconds from the fraction of the double and can print one less
    /// (0.123 as .122); ours floors the millisecond count. Same calendar fields, at most 1 ms apart.
    @Test func formattingMatchesFoundationAcrossCenturiesAndLeapDays() {
        var generator = SystemRandomNumberGenerator()
        var samples: [Double] = [0, -0.5, -1, 951_782_400, 951_868_799.999, 4_107_542_399.999, -2_208_988_800, 1_764_403_200.123]
        for _ in 0..<20_000 { samples.append(Double.random(in: -2_000_000_000...32_000_000_000, using: &generator)) }
        for seconds in samples {
            let date = Date(timeIntervalSince1970: seconds)
            let ours = FleetJSON.formatDate(date)
            let theirs = date.formatted(Self.foundationFormat)
            let ourDate = Self.foundationFormat.parseOrNil(ours)
            let theirDate = Self.foundationFormat.parseOrNil(theirs)
            #expect(ours.count == 24 && ours.hasSuffix("Z"), "\(ours)")
            #expect(ourDate != nil && theirDate != nil && abs(ourDate!.timeIntervalSince(theirDate!)) <= 0.001_5, "\(ours) vs \(theirs)")
            #expect(ourDate.map { abs($0.timeIntervalSince(date)) <= 0.001_5 } == true, "\(ours) for \(seconds)")
        }
    }

    @Test func parsingAgreesWithFoundation() throws {
        let texts = [
            "2025-01-31T12:00:00.123Z", "2025-01-31T12:00:00Z", "2024-02-29T23:59:59.999999Z", "1970-01-01T00:00:00Z",
            "2025-06-30T10:00:00+02:00", "2025-06-30T10:00:00.5-05:30", "1969-12-31T23:59:59.9Z", "2100-03-01T00:00:00Z",
        ]
        for text in texts {
            let expected = try #require(
                (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text)) ?? (try? Date.ISO8601FormatStyle().parse(text)))
            let parsed = try #require(FleetJSON.parseDate(text), "\(text)")
            #expect(abs(parsed.timeIntervalSince(expected)) < 0.000_001, "\(text)")
        }
    }

    @Test func nonsenseIsRefused() {
        for text in ["", "2025-13-01T00:00:00Z", "2025-01-31T12:00:00.Z", "yesterday", "2025-01-31"] {
            #expect(FleetJSON.parseDate(text) == nil, "\(text)")
        }
    }

    @Test func roundTripKeepsMilliseconds() {
        let date = Date(timeIntervalSince1970: 1_764_403_200.123_456)
        let back = FleetJSON.parseDate(FleetJSON.formatDate(date))
        #expect(back.map { abs($0.timeIntervalSince1970 - 1_764_403_200.123) < 0.000_5 } == true)
    }
}

extension Date.ISO8601FormatStyle {
    func parseOrNil(_ text: String) -> Date? { try? parse(text) }
}
