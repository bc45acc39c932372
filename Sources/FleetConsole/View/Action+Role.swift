import FleetProtocol

extension Action {
    /// The least operator role the action needs on agent-svc (nil: reading, any role). The
    /// console hides these keys from a lower role's menu and says why when one is pressed.
    public var requiredRole: OperatorRole? {
        switch self {
        case .run, .send: .operator
        case .cancel: .operator
        case .revoke: .admin
        default: nil
        }
    }

    /// How the refusal names the action.
    var verb: String {
        switch self {
        case .run, .send: "running a command"
        case .cancel: "cancelling"
        case .revoke: "revoking a node"
        default: "this"
        }
    }
}
