import FleetProtocol
import Foundation

/// UpdateAgent's Artifact row: the uploaded binaries to pick from, or how to upload one.
extension FormRenderer {
    /// Options shown at once; the window follows the choice.
    static let artifactWindow = 5

    /// How to put a binary on the server, for an operator looking at an empty list.
    static let uploadHelp = [
        "curl -H \"Authorization: Bearer $FLEET_TOKEN\" \\",
        "  --data-binary @node-agent \\",
        "  \"$AGENT_SVC_URL/v1/artifacts?name=node-agent&version=X\"",
    ]

    /// The Artifact row and its continuation lines; with an artifact chosen, the version and
    /// digest it fixes (shown, not editable).
    static func artifactRows(_ form: RunForm, first: StyledLine, focused: Bool, width: Int, now: Date) -> [StyledLine] {
        let pad = String(repeating: " ", count: indent)
        var notes: [StyledLine] = []
        switch form.artifacts {
        case .notLoaded, .loading:
            notes.append(StyledLine("loading the artifact list…", .dim))
        case .failed(let why):
            notes.append(StyledLine("cannot load the artifact list: \(TextWidth.sanitize(why)) (ctrl-r retries)", .error))
        case .loaded(let list) where list.isEmpty:
            notes.append(StyledLine("no agent binary uploaded yet (ctrl-r reloads); upload one with:", .warn))
            notes += uploadHelp.map { StyledLine($0, .info) }
        case .loaded: break
        }
        var options = form.artifactOptions.map { option in
            optionLine(option, chosen: option?.artifactId == form.chosenArtifact?.artifactId, focused: focused, now: now)
        }
        let chosenIndex = form.artifactOptions.firstIndex { $0?.artifactId == form.chosenArtifact?.artifactId } ?? 0
        if options.count > artifactWindow {
            let start = max(0, min(chosenIndex - artifactWindow / 2, options.count - artifactWindow))
            let hidden = options.count - artifactWindow
            options = Array(options[start..<(start + artifactWindow)])
            options.append(StyledLine("… \(hidden) more (←/→)", .dim))
        }
        var lines: [StyledLine] = []
        for (index, row) in (notes + options).enumerated() {
            var line = index == 0 ? first : StyledLine(pad)
            line.spans += row.spans
            lines.append(line)
        }
        if let artifact = form.chosenArtifact {
            var version = label(.version, focused: false)
            version.append(artifact.version, .normal, [.bold])
            version.append("  (from the artifact)", .dim)
            var digest = label(.sha256, focused: false)
            digest.append(artifact.sha256, .dim)
            lines += [version, digest]
        }
        return lines
    }

    /// One option: "(•) node-agent 0.2.0   1a2b3c4d  12.3 MiB  2h ago  by alice", or by hand.
    static func optionLine(_ artifact: ArtifactInfo?, chosen: Bool, focused: Bool, now: Date) -> StyledLine {
        let mark = chosen ? "(•) " : "( ) "
        let role: Role = chosen ? .info : .dim
        let attributes: TextAttributes = chosen ? (focused ? [.bold, .reverse] : [.bold]) : []
        guard let artifact else {
            return StyledLine(mark + "by hand: an https URL, its SHA-256 and version", role, attributes)
        }
        var line = StyledLine()
        line.append(mark + TextWidth.sanitize("\(artifact.name) \(artifact.version)"), role, attributes)
        line.append("  \(artifact.artifactId.prefix(8))  \(Format.bytes(artifact.sizeBytes))  ", .dim)
        line.append("\(Format.ago(artifact.createdAt, now: now))  by \(TextWidth.sanitize(artifact.uploadedBy))", .dim)
        return line
    }
}
