import FleetClient
import FleetProtocol
import Foundation
import Synchronization

/// Submits a command, then follows it to the end: live prefixed output, progress, Ctrl-C, the
/// closing summary and the exit status. `run`, `update-agent` and `package` share it.
struct CommandFollower {
    let api: any FleetOperatorAPI
    let context: CLIContext
    let options: FollowOptions

    /// Submits `request` under one idempotency key (retried while its answer is lost) and follows it.
    func submitAndFollow(_ request: SubmitCommandRequest) async throws(CLIError) -> Int32 {
        let submitted: SubmitCommandResponse
        do {
            submitted = try await api.submitRetrying(request, idempotencyKey: context.makeIdempotencyKey(), clock: context.clock)
        } catch {
            throw .api(what: "submit", error)
        }
        if options.detach {
            context.output.out(submitted.commandId.uuidString.lowercased() + "\n")
            return ExitStatus.success
        }
        return try await follow(submitted.commandId, targets: submitted.targets)
    }

    enum Wake: Sendable {
        case tailEnded(FleetAPIError?)
        case interrupted
        case stopped
    }

    /// Follows `id` until every invocation is final and all output is in, or Ctrl-C detaches.
    func follow(_ id: UUID, targets: [String]) async throws(CLIError) -> Int32 {
        let writer = StatusWriter(sink: context.output, showsProgress: context.terminal.stderr && !options.json)
        let printer = NodeLinePrinter(
            nodes: targets, writer: writer, colourOut: context.colours(toError: false), colourErr: context.colours(toError: true))
        let shortId = String(id.uuidString.lowercased().prefix(8))
        var configured = LogTailer(api: api, commandId: id, nodeId: nil, clock: context.clock)
        configured.wait = 10
        let tailer = configured
        let json = options.json
        let api = self.api
        let context = self.context
        let outcome: Wake = await withTaskGroup(of: Wake.self) { group in
            group.addTask {
                let failure = LastFailure()
                await tailer.run { event in
                    switch event {
                    case .page(let page):
                        failure.set(nil)
                        guard !json else { return }
                        for chunk in page.chunks {
                            printer.append(chunk.decodedBytes() ?? [], node: chunk.nodeId ?? targets.first ?? "?", stream: chunk.stream)
                        }
                    case .failed(let error):
                        failure.set(error)
                        writer.setProgress("\(shortId): \(error.description) — retrying")
                    case .finished: break
                    }
                }
                return .tailEnded(failure.get())
            }
            if writerShowsProgress(json: json) {
                group.addTask {
                    await Self.reportProgress(api: api, id: id, writer: writer, clock: context.clock)
                    return .stopped
                }
            }
            group.addTask { await Self.nextInterrupt(context) }
            var cancelRequested = false
            while let wake = await group.next() {
                switch wake {
                case .tailEnded:
                    group.cancelAll()
                    return wake
                case .stopped:
                    continue
                case .interrupted:
                    writer.clearProgress()
                    guard context.terminal.interactive, !cancelRequested else {
                        group.cancelAll()
                        return .interrupted
                    }
                    let answer = await context.ask("\ncommand \(shortId) is still running: [c]ancel it, [d]etach, or [r]esume? ")
                    switch answer?.trimmingCharacters(in: .whitespaces).lowercased().first {
                    case "c":
                        cancelRequested = true
                        do throws(FleetAPIError) {
                            let result = try await api.cancel(id)
                            writer.note(
                                "cancelling: \(result.cancelled) queued cancelled, \(result.cancelling) being stopped (Ctrl-C again detaches)")
                        } catch {
                            writer.note("fleet: cancel failed: \(error.description)")
                        }
                        group.addTask { await Self.nextInterrupt(context) }
                    case "r":
                        group.addTask { await Self.nextInterrupt(context) }
                    default:
                        group.cancelAll()
                        return .interrupted
                    }
                }
            }
            return .stopped
        }
        writer.clearProgress()
        printer.flush()
        switch outcome {
        case .interrupted:
            writer.note(
                "fleet: detached; command \(id.uuidString.lowercased()) keeps running. "
                    + "Follow it with `fleet logs \(id.uuidString.lowercased()) --follow`, cancel it with `fleet cancel \(id.uuidString.lowercased())`"
            )
            return ExitStatus.detached
        case .tailEnded(let failure?):
            // The tail ends with a failure only when the server refused it for good (a 401, a 404).
            throw .api(what: "read output", failure)
        case .tailEnded, .stopped:
            return try await finish(id, writer: writer)
        }
    }

    private func writerShowsProgress(json: Bool) -> Bool { context.terminal.stderr && !json }

    /// The final detail: JSON, or the per-state summary; then the exit status it calls for.
    private func finish(_ id: UUID, writer: StatusWriter) async throws(CLIError) -> Int32 {
        let detail: CommandDetail
        do { detail = try await api.fullCommand(id) } catch { throw .api(what: "read command", error) }
        if options.json {
            context.output.out(try JSONOutput.encode(detail) + "\n")
        } else {
            for line in Summary.lines(detail.invocations, colour: context.colours(toError: true)) { writer.note(line) }
        }
        return Summary.exitStatus(detail.invocations)
    }

    static func nextInterrupt(_ context: CLIContext) async -> Wake {
        for await _ in context.interrupts() { return .interrupted }
        // The stream ended without a press: wait until the group is cancelled.
        while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
        return .stopped
    }

    /// Redraws `3/10 done · 2 running · 5 waiting` about once a second.
    static func reportProgress(api: any FleetOperatorAPI, id: UUID, writer: StatusWriter, clock: any Clock<Duration>) async {
        while !Task.isCancelled {
            if let detail = try? await api.command(id, limit: 1, cursor: nil, state: nil) {
                let counts = detail.command.counts
                let done = counts.total - counts.pending
                var parts = ["\(done)/\(counts.total) done"]
                if counts.running > 0 { parts.append("\(counts.running) running") }
                if counts.queued + counts.delivered > 0 { parts.append("\(counts.queued + counts.delivered) waiting") }
                let failed = counts.failed + counts.timedOut + counts.lost
                if failed > 0 { parts.append("\(failed) failed") }
                writer.setProgress(parts.joined(separator: " · "))
            }
            do { try await clock.sleep(for: .seconds(1)) } catch { return }
        }
    }
}

/// The tail's most recent failure, cleared by the next page.
final class LastFailure: Sendable {
    private let value = Mutex<FleetAPIError?>(nil)
    func set(_ error: FleetAPIError?) { value.withLock { $0 = error } }
    func get() -> FleetAPIError? { value.withLock { $0 } }
}
