extension ConsoleState {
    /// Sizes the viewport and keeps every cursor on screen for a terminal of `size`.
    public mutating func layout(size: TerminalSize) {
        let rows = ConsoleRenderer.contentRows(size)
        viewportRows = rows
        nodes.cursor.scrollIntoView(rows: rows - 1)
        commands.cursor.scrollIntoView(rows: rows - 1)
        let commandRows = TableRenderer.commandDataRows(command, rows: rows)
        command?.cursor.scrollIntoView(rows: commandRows)
    }
}
