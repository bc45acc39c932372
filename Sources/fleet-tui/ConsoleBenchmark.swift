import FleetClient
import FleetConsole
import FleetProtocol
import Foundation

/// Frame time and memory of the console with many nodes and a fast tail, without a terminal
/// or a network: the model, renderer and loop are what is measured.
enum ConsoleBenchmark {
    /// One measured figure.
    struct Figure: Sendable, CustomStringConvertible {
        var name: String
        var value: String
        var description: String { "\(name): \(value)" }
    }

    /// Resident set size and its peak, in MiB, from /proc/self/status.
    static func memory() -> (rss: Double, peak: Double) {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return (0, 0) }
        func value(_ key: String) -> Double {
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(key) }) else { return 0 }
            return (Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) / 1024
        }
        return (value("VmRSS:"), value("VmHWM:"))
    }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }

    /// 10,000 nodes listed: load, frames while moving, a filter keystroke.
    static func nodes(
        count: Int = 10_000, frames: Int = 200, size: TerminalSize = TerminalSize(rows: 40, columns: 120)
    )
        async -> [Figure]
    {
        let clock = ContinuousClock()
        let api = SyntheticFleetAPI(nodeCount: count)
        let list = (try? await api.allNodes()) ?? []
        var state = ConsoleState(serverURL: "http://bench")
        let loadStart = clock.now
        _ = state.apply(.nodes(list), now: Date())
        let load = clock.now - loadStart
        let terminal = MemoryTerminal(size: size)
        var worst = Duration.zero
        let framesStart = clock.now
        for i in 0..<frames {
            let frameStart = clock.now
            _ = state.handle(i % 50 == 49 ? .pageDown : .down, now: Date())
            state.layout(size: size)
            terminal.draw(ConsoleRenderer.render(state, size: size, now: Date()))
            worst = max(worst, clock.now - frameStart)
        }
        let total = clock.now - framesStart
        let filterStart = clock.now
        _ = state.handle(.char("/"), now: Date())
        for c in "us-east" { _ = state.handle(.char(c), now: Date()) }
        let filter = (clock.now - filterStart) / 7
        let refreshStart = clock.now
        _ = state.apply(.nodes(list), now: Date())
        let refresh = clock.now - refreshStart
        // What each 2 s refresh costs off the UI thread: decoding the page from JSON.
        var decode = Duration.zero
        var jsonBytes = 0
        if let data = try? FleetJSON.makeEncoder().encode(NodeListResponse(nodes: list, nextCursor: nil)) {
            jsonBytes = data.count
            let decodeStart = clock.now
            _ = try? FleetJSON.makeDecoder().decode(NodeListResponse.self, from: data)
            decode = clock.now - decodeStart
        }
        let mem = memory()
        return [
            Figure(name: "nodes listed", value: "\(state.nodes.nodes.count)"),
            Figure(
                name: "decode one refresh (off the UI thread)",
                value: String(
                    format: "%.1f ms for %.1f MiB of JSON",
                    milliseconds(decode), Double(jsonBytes) / 1_048_576)),
            Figure(name: "first load (replace + index)", value: String(format: "%.1f ms", milliseconds(load))),
            Figure(name: "frame (key + render), mean", value: String(format: "%.2f ms", milliseconds(total) / Double(frames))),
            Figure(name: "frame, worst", value: String(format: "%.2f ms", milliseconds(worst))),
            Figure(name: "filter keystroke over all nodes", value: String(format: "%.2f ms", milliseconds(filter))),
            Figure(name: "refresh with a filter on (every 2 s)", value: String(format: "%.1f ms", milliseconds(refresh))),
            Figure(name: "RSS / peak", value: String(format: "%.1f / %.1f MiB", mem.rss, mem.peak)),
        ]
    }

    /// A fast tail: `bytes` of output through the real tail loop and console loop, drawing a
    /// frame per tick as the app does.
    static func tail(
        bytes: Int64 = 100 * 1024 * 1024, size: TerminalSize = TerminalSize(rows: 40, columns: 120)
    ) async
        -> [Figure]
    {
        let clock = ContinuousClock()
        let api = SyntheticFleetAPI(nodeCount: 1, outputBytes: bytes)
        let terminal = MemoryTerminal(size: size)
        let app = ConsoleApp(terminal: terminal, api: api, serverURL: "http://bench", pollInterval: .seconds(3600))
        let start = clock.now
        // Opening the Logs view through the reducer starts the app's own tail, as in real use.
        app.post(.submitted(SubmitCommandResponse(commandId: api.commandId, commandType: .runCommand, targets: ["edge-00001"], createdAt: Date())))
        var ticks = 0
        var worst = Duration.zero
        var total = Duration.zero
        var peakRSS = 0.0
        // Ticks paced like the real loop (getch waits 5 ms while output is queued, else 50 ms).
        while app.state.logs?.complete != true, clock.now - start < .seconds(600) {
            let tickStart = clock.now
            app.step(key: nil)
            let tick = clock.now - tickStart
            ticks += 1
            worst = max(worst, tick)
            total += tick
            if ticks % 20 == 0 { peakRSS = max(peakRSS, memory().rss) }
            try? await Task.sleep(for: .milliseconds(app.hasBacklog ? 5 : 50))
        }
        let elapsed = clock.now - start
        let logs = app.state.logs
        let mem = memory()
        app.shutdown()
        let mib = Double(bytes) / 1_048_576
        return [
            Figure(
                name: "output tailed",
                value: String(
                    format: "%.0f MiB, %d lines kept of %d", mib, logs?.count ?? 0,
                    (logs?.count ?? 0) + (logs?.droppedLines ?? 0))),
            Figure(
                name: "throughput", value: String(format: "%.1f MiB/s (%.1f s)", mib / (milliseconds(elapsed) / 1000), milliseconds(elapsed) / 1000)),
            Figure(name: "UI ticks while tailing", value: "\(ticks)"),
            Figure(
                name: "tick (drain + apply pages + draw), mean / worst",
                value: String(
                    format: "%.2f / %.2f ms",
                    milliseconds(total) / Double(max(ticks, 1)), milliseconds(worst))),
            Figure(name: "frame (render only, last)", value: String(format: "%.2f ms", milliseconds(app.lastFrameTime))),
            Figure(name: "RSS during / after / peak", value: String(format: "%.1f / %.1f / %.1f MiB", peakRSS, mem.rss, mem.peak)),
        ]
    }
}

/// `fleet-tui --benchmark`: frame time and RSS with 10,000 nodes and a 100 MiB tail, in memory.
func runBenchmark() {
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        print("== 10,000 nodes (120x40)")
        for figure in await ConsoleBenchmark.nodes() { print("  \(figure)") }
        print("== 100 MiB tail (120x40, 50,000 lines of scrollback)")
        for figure in await ConsoleBenchmark.tail() { print("  \(figure)") }
        done.signal()
    }
    done.wait()
}
