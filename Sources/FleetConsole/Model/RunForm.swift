import FleetClient
import FleetProtocol
import Foundation

/// The Run form: which of the three command types to send, where, and its fields.
///
/// RunCommand is the default so that `r`, typing a command and Enter keeps working as it
/// always did; ctrl-t (or ←/→ on the Type row) switches to UpdateAgent or UpdatePackage.
public struct RunForm: Sendable {
    /// Every field any type shows; ``fields`` says which the current type uses, in order.
    public enum Field: Int, CaseIterable, Sendable {
        case type, targets, command, action, packages, manager, artifact, url, sha256, version, timeout
        case maxConcurrency, maxErrors

        /// The field's name on its row.
        public var label: String {
            switch self {
            case .type: "Type"
            case .targets: "Targets"
            case .command: "Command"
            case .action: "Action"
            case .packages: "Packages"
            case .manager: "Manager"
            case .artifact: "Artifact"
            case .url: "URL"
            case .sha256: "SHA-256"
            case .version: "Version"
            case .timeout: "Timeout (s)"
            case .maxConcurrency: "Max concurrency"
            case .maxErrors: "Max errors"
            }
        }

        /// A choice among fixed values: ←/→ and space change it instead of editing text.
        public var isChoice: Bool { self == .type || self == .action || self == .manager || self == .artifact }
    }

    /// Where the artifact list of UpdateAgent stands; it is fetched when that type is first chosen.
    public enum ArtifactList: Hashable, Sendable {
        case notLoaded, loading
        case loaded([ArtifactInfo])
        case failed(String)
    }

    /// The type being filled in.
    public private(set) var commandType = CommandType.runCommand
    /// Node ids (comma or space separated), or a node selector (see ``targetSpec``).
    public var targets: TextInput
    /// The field that takes keys.
    public var focus = Field.command
    /// Set when a send was refused: the form then lists its problems (live) until they are gone.
    public var showProblems = false

    // RunCommand
    public var command = TextInput()
    // UpdatePackage
    public var action = PackageAction.install
    /// Space (or comma) separated names, each optionally pinned (`nginx=1.24.0-1`).
    public var packages = TextInput()
    /// nil: each node uses the package manager it finds.
    public var manager: PackageManagerKind?
    // UpdateAgent
    public private(set) var artifacts = ArtifactList.notLoaded
    /// The uploaded binary to install; nil when the operator gives a URL by hand.
    public private(set) var chosenArtifact: ArtifactInfo?
    /// The operator picked "by hand" on purpose: a later list load must not pick for them.
    public private(set) var byHandChosen = false
    /// Where the nodes download the agent binary from (by hand).
    public var url = TextInput()
    /// The binary's SHA-256, hex (by hand).
    public var sha256 = TextInput()
    /// The version the binary reports (by hand).
    public var version = TextInput()
    // Rollout, for every type: empty means no bound.
    /// At most this many at once: `3` or `10%`.
    public var maxConcurrency = TextInput()
    /// Stop sending after more than this many failures: `1` or `5%`.
    public var maxErrors = TextInput()

    /// One timeout per type, so switching type and back keeps what was typed. Package runs get
    /// a longer default (a slow mirror); an agent update may go without one.
    private var timeouts: [CommandType: TextInput] = [
        .runCommand: TextInput("60"), .updatePackage: TextInput("900"), .updateAgent: TextInput(),
    ]

    /// Targets start from the selection: node ids, comma-separated.
    public init(targets: [String]) {
        self.targets = TextInput(targets.joined(separator: ","))
        self.focus = targets.isEmpty ? .targets : .command
    }

    /// The timeout of the current type.
    public var timeout: TextInput {
        get { timeouts[commandType] ?? TextInput() }
        set { timeouts[commandType] = newValue }
    }

    /// The fields the current type shows, top to bottom (the focus moves through these).
    public var fields: [Field] { typeFields + [.maxConcurrency, .maxErrors] }

    private var typeFields: [Field] {
        switch commandType {
        case .runCommand: [.type, .targets, .command, .timeout]
        case .updatePackage: [.type, .targets, .action, .packages, .manager, .timeout]
        case .updateAgent:
            // A picked artifact fixes url, version and digest: they are shown, not edited.
            chosenArtifact == nil ? [.type, .targets, .artifact, .url, .sha256, .version, .timeout] : [.type, .targets, .artifact, .timeout]
        }
    }

    /// Moves the focus down, wrapping at the end.
    public mutating func nextField() { moveFocus(by: 1) }
    /// Moves the focus up, wrapping at the top.
    public mutating func previousField() { moveFocus(by: -1) }

    private mutating func moveFocus(by step: Int) {
        let list = fields
        let index = list.firstIndex(of: focus) ?? 0
        focus = list[(index + step + list.count) % list.count]
    }

    /// Switches to `type`. From the Type row the focus stays there; otherwise it goes to the
    /// type's first own field, so ctrl-t then typing fills the right thing.
    public mutating func select(_ type: CommandType) {
        guard type != commandType else { return }
        commandType = type
        showProblems = false
        if focus != .type || !fields.contains(focus) { focus = mainField }
    }

    /// The next (or previous) type, in the order of `CommandType.allCases`.
    public mutating func cycleType(forward: Bool = true) {
        select(Self.cycled(CommandType.allCases, from: commandType, forward: forward))
    }

    /// The first field that belongs to the current type alone.
    var mainField: Field {
        switch commandType {
        case .runCommand: .command
        case .updatePackage: .packages
        case .updateAgent: .artifact
        }
    }

    /// Routes an editing key to the focused field; false when the key is not for the form.
    public mutating func edit(_ key: Key) -> Bool {
        if focus.isChoice {
            guard let forward = Self.direction(of: key) else {
                // Letters mean nothing on a choice row: swallow them, except `?`, which opens help.
                if case .char(let c) = key { return c != "?" }
                return false
            }
            switch focus {
            case .type: cycleType(forward: forward)
            case .action: action = Self.cycled(PackageAction.allCases, from: action, forward: forward)
            case .manager: manager = Self.cycled([nil] + PackageManagerKind.allCases.map(Optional.some), from: manager, forward: forward)
            default: cycleArtifact(forward: forward)
            }
            return true
        }
        switch focus {
        case .targets: return targets.handle(key)
        case .command: return command.handle(key)
        case .packages: return packages.handle(key)
        case .url: return url.handle(key)
        case .sha256: return sha256.handle(key)
        case .version: return version.handle(key)
        case .timeout:
            if case .char(let c) = key, !c.isNumber { return true }
            return timeout.handle(key)
        case .maxConcurrency, .maxErrors:
            // A count or a percentage: other characters could only be a mistake.
            if case .char(let c) = key, !c.isNumber, c != "%" { return true }
            return focus == .maxConcurrency ? maxConcurrency.handle(key) : maxErrors.handle(key)
        default: return false
        }
    }

    /// → and space step a choice forward, ← back.
    private static func direction(of key: Key) -> Bool? {
        switch key {
        case .right, .char(" "): true
        case .left: false
        default: nil
        }
    }

    static func cycled<T: Equatable>(_ options: [T], from current: T, forward: Bool) -> T {
        guard let index = options.firstIndex(of: current), !options.isEmpty else { return options.first ?? current }
        return options[(index + (forward ? 1 : options.count - 1)) % options.count]
    }
}

// MARK: - UpdateAgent's artifact choice

extension RunForm {
    /// What the Artifact row offers: every uploaded artifact, then "by hand" (nil).
    public var artifactOptions: [ArtifactInfo?] {
        // While (re)loading or after a failed reload, a choice already made stays on offer.
        guard case .loaded(let list) = artifacts else { return (chosenArtifact.map { [$0] } ?? []) + [nil] }
        return list.map(Optional.some) + [nil]
    }

    /// Marks the list as being fetched; true when a fetch should start (none is running yet).
    public mutating func startLoadingArtifacts(force: Bool = false) -> Bool {
        if artifacts == .loading || (!force && artifacts != .notLoaded) { return false }
        artifacts = .loading
        return true
    }

    /// Takes the server's list. The newest artifact is picked unless the operator already chose;
    /// a chosen one that disappeared is dropped rather than swapped for another version.
    public mutating func setArtifacts(_ result: Result<[ArtifactInfo], FleetAPIError>) {
        switch result {
        case .failure(let error):
            artifacts = .failed(error.description)
        case .success(let list):
            artifacts = .loaded(list)
            if let chosen = chosenArtifact {
                if let fresh = list.first(where: { $0.artifactId == chosen.artifactId }) { pick(fresh) } else { pick(nil) }
            } else if !byHandChosen, let newest = list.first {
                pick(newest)
            }
        }
        if !fields.contains(focus) { focus = .artifact }
    }

    /// Chooses an artifact (filling artifact id, version and digest) or, with nil, entry by hand.
    public mutating func pick(_ artifact: ArtifactInfo?) {
        if let artifact {
            chosenArtifact = artifact
            byHandChosen = false
            version = TextInput(artifact.version)
            sha256 = TextInput(artifact.sha256)
            url = TextInput()
        } else {
            // Values the artifact filled in must not ride along with a URL typed by hand.
            if chosenArtifact != nil {
                version = TextInput()
                sha256 = TextInput()
            }
            chosenArtifact = nil
            byHandChosen = true
        }
    }

    private mutating func cycleArtifact(forward: Bool) {
        let options = artifactOptions
        let ids = options.map { $0?.artifactId }
        let next = Self.cycled(ids, from: chosenArtifact?.artifactId, forward: forward)
        pick(options.first { $0?.artifactId == next } ?? nil)
    }
}

/// A form the console cannot send, with every reason.
public struct FormError: Error, Hashable, Sendable {
    /// Every reason, in the order of the fields.
    public var problems: [String]
    /// The reasons on one line.
    public var message: String { problems.joined(separator: "; ") }
    /// A form with one problem.
    public init(_ message: String) { self.problems = [message] }
    /// A form with these problems.
    public init(problems: [String]) { self.problems = problems }
}
