import FleetClient
import FleetProtocol
import Foundation

extension RunForm {
    /// The request to send, or every reason the form is not ready: first what the form itself
    /// can tell (no targets, a selector that does not parse, no command), then, once the fields
    /// parse, the same `CommandPayload.problems()` the server and the agent apply, then the
    /// rollout bounds, so nothing is sent that they would refuse.
    ///
    /// A selector is sent as typed, not as the nodes it matches here: agent-svc resolves it
    /// against its own registry when it queues the command, and history shows what was meant.
    public func request(nodes: [NodeInfo]) -> Result<SubmitCommandRequest, FormError> {
        var problems: [String] = []
        var ids: [String] = []
        var selector: String?
        switch targetSpec {
        case .ids(let typed):
            ids = typed
            if ids.isEmpty { problems.append("no targets: mark nodes, or type ids or a selector") }
        case .selector(let text, _):
            selector = text
            // The server would answer no_targets; the list here is at most one poll old.
            if resolveTargets(in: nodes).isEmpty { problems.append("no node matches the selector") }
        case .invalid(let error):
            problems.append(error.description)
        }
        let limits = rolloutLimits()
        switch payload() {
        case .failure(let error):
            problems += error.problems + limits.problems
        case .success(let payload):
            problems += payload.problems().map(Self.readable) + limits.problems
            if problems.isEmpty {
                return .success(
                    SubmitCommandRequest(
                        targets: ids, selector: selector, payload: payload, maxConcurrency: limits.concurrency, maxErrors: limits.errors))
            }
        }
        return .failure(FormError(problems: problems))
    }

    /// What is wrong with the form now (empty when it can be sent).
    public func problems(nodes: [NodeInfo]) -> [String] {
        if case .failure(let error) = request(nodes: nodes) { return error.problems }
        return []
    }

    /// The payload the fields describe, or the fields that do not parse.
    public func payload() -> Result<CommandPayload, FormError> {
        switch commandType {
        case .runCommand:
            let cmd = command.text.trimmingCharacters(in: .whitespaces)
            var problems: [String] = []
            if cmd.isEmpty { problems.append("the command is empty") }
            let seconds = Int(timeout.text)
            if (seconds ?? 0) <= 0 { problems.append("timeout must be > 0 seconds") }
            guard problems.isEmpty, let seconds else { return .failure(FormError(problems: problems)) }
            return .success(.runCommand(RunCommandPayload(cmd: cmd, timeoutSec: seconds)))
        case .updatePackage:
            let names = packages.text.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
            return optionalTimeout().map {
                .updatePackage(UpdatePackagePayload(action: action, packages: names, manager: manager, timeoutSec: $0))
            }
        case .updateAgent:
            return optionalTimeout().map { seconds in
                if let artifact = chosenArtifact {
                    return .updateAgent(
                        UpdateAgentPayload(
                            version: artifact.version, sha256: artifact.sha256, artifactId: artifact.artifactId, timeoutSec: seconds))
                }
                // An empty URL is still sent to validation, which then names it with the rest.
                return .updateAgent(
                    UpdateAgentPayload(
                        version: version.text.trimmingCharacters(in: .whitespaces),
                        sha256: sha256.text.trimmingCharacters(in: .whitespaces).lowercased(),
                        url: url.text.trimmingCharacters(in: .whitespaces), timeoutSec: seconds))
            }
        }
    }

    /// Empty means "no bound" for the update types; digits only reach here, so only an
    /// absurdly long number fails to parse.
    private func optionalTimeout() -> Result<Int?, FormError> {
        let text = timeout.text.trimmingCharacters(in: .whitespaces)
        if text.isEmpty { return .success(nil) }
        guard let seconds = Int(text) else { return .failure(FormError("timeout is not a number of seconds")) }
        return .success(seconds)
    }

    /// A validation message in the form's words: field names as labelled, not as JSON keys.
    static func readable(_ problem: String) -> String {
        var text = problem
        if text.hasPrefix("payload.") { text.removeFirst("payload.".count) }
        return text.replacingOccurrences(of: "timeout_sec", with: "timeout")
            .replacingOccurrences(of: "artifact_id", with: "artifact")
    }
}

extension Confirmation {
    /// The question asked before a submit: what will happen, on which nodes, with what bounds.
    /// `matched` are the nodes a selector picks now (agent-svc resolves it again when sending).
    static func submit(_ request: SubmitCommandRequest, matched: [String]) -> Confirmation {
        let targets = request.selector == nil ? request.targets : matched
        let count = targets.count
        let nodes = "\(count) node\(count == 1 ? "" : "s")" + (request.selector.map { " matching \($0)" } ?? "")
        let names = targets.prefix(5).joined(separator: ", ") + (count > 5 ? ", …" : "")
        let timeout = request.payload.timeoutSec.map { "timeout \($0)s" } ?? "no timeout"
        var confirmation = submit(request, nodes: nodes, names: names, timeout: timeout)
        if let rollout = rolloutText(request) { confirmation.lines.append(rollout) }
        return confirmation
    }

    /// `at most 3 at once · stops after more than 1 error`, or nil without bounds.
    private static func rolloutText(_ request: SubmitCommandRequest) -> String? {
        let parts = [
            request.maxConcurrency.map { "at most \($0) at once" },
            request.maxErrors.map { "stops after more than \($0) error\($0 == .count(1) ? "" : "s")" },
        ].compactMap { $0 }
        return parts.isEmpty ? nil : parts.joined(separator: " · ")
    }

    private static func submit(_ request: SubmitCommandRequest, nodes: String, names: String, timeout: String) -> Confirmation {
        switch request.payload {
        case .runCommand(let run):
            return Confirmation(
                title: "Run command", lines: ["Run \"\(run.cmd)\"", "on \(nodes): \(names)", timeout],
                effect: .submit(request), dangerous: false)
        case .updatePackage(let update):
            let manager = update.manager.map { "with \($0.rawValue)" } ?? "with each node's package manager"
            return Confirmation(
                title: "Update packages",
                lines: ["\(CommandPayload.updatePackage(update).summaryText) on \(nodes)", "nodes: \(names)", "\(manager) · \(timeout)"],
                effect: .submit(request), dangerous: false)
        case .updateAgent(let update):
            let source = update.artifactId.map { "artifact \($0.prefix(8))" } ?? "from \(update.url ?? "")"
            return Confirmation(
                title: "Update agent",
                lines: [
                    "UpdateAgent → \(update.version) on \(nodes)", "nodes: \(names)",
                    "\(source) · sha256 \(update.sha256.prefix(16))…", timeout,
                    "A node whose new agent does not come back healthy rolls back.",
                ],
                effect: .submit(request), dangerous: false)
        }
    }
}
