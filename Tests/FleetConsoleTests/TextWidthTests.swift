import FleetConsole
import Testing

@Suite struct TextWidthTests {
    @Test func wideAndCombiningCharactersAreMeasuredInCells() {
        #expect(TextWidth.width("abc") == 3)
        #expect(TextWidth.width("日本") == 4)
        #expect(TextWidth.width("e\u{301}") == 1)
        #expect(TextWidth.width("─│┌") == 3)
    }

    @Test func clipAddsAnEllipsisAndNeverSplitsAWideCharacter() {
        #expect(TextWidth.clip("abcdef", to: 4) == "abc…")
        #expect(TextWidth.clip("日本語", to: 4) == "日…")
        #expect(TextWidth.clip("abc", to: 3) == "abc")
        #expect(TextWidth.pad("ab", to: 4) == "ab  ")
        #expect(TextWidth.pad("ab", to: 4, alignRight: true) == "  ab")
    }

    @Test func sanitizeDropsEscapesAndControlCharacters() {
        #expect(TextWidth.sanitize("\u{1B}[31mred\u{1B}[0m") == "red")
        #expect(TextWidth.sanitize("a\tb") == "a       b")
        #expect(TextWidth.sanitize("a\u{7}b\r") == "a·b")
    }

    @Test func wrapSplitsByWidth() {
        #expect(TextWidth.wrap("abcdefgh", to: 3) == ["abc", "def", "gh"])
        #expect(TextWidth.wrap("", to: 3) == [""])
    }
}
