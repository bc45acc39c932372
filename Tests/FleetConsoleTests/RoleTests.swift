import FleetConsole
import FleetProtocol
import FleetTestSupport
import Foundation
import Testing

/// The console offers only what the token's role may do, and says why when a hidden key is pressed.
@Suite struct ConsoleRoleTests {
    func state(role: OperatorRole?) -> ConsoleState {
        var state = ConsoleState(serverURL: "http://127.0.0.1:8080")
        _ = state.apply(.nodes([node("edge-1", attrs: [:])]), now: testNow)
        _ = state.apply(.commands([summary(1, cmd: "sleep 300", targets: 1, counts: [.running: 1], age: 30)]), now: testNow)
        if let role {
            _ = state.apply(.identity(OperatorSelf(name: "val", role: role, jti: "j", expiresAt: testNow)), now: testNow)
        }
        return state
    }

    @Test func aViewerIsToldWhyInsteadOfGettingTheRunFormOrAConfirmation() {
        // setup
        var state = state(role: .viewer)
        // act
        let run = state.handle(.char("r"), now: testNow)
        let runMessage = state.flash?.text
        let revoke = state.handle(.char("X"), now: testNow)
        let revokeMessage = state.flash?.text
        _ = state.handle(.char("2"), now: testNow)
        let cancel = state.handle(.char("c"), now: testNow)
        // check
        #expect(run.isEmpty && revoke.isEmpty && cancel.isEmpty)
        #expect(state.screen == .commands && state.confirm == nil)
        #expect(runMessage == "running a command needs the operator role; this token has role viewer")
        #expect(revokeMessage == "revoking a node needs the admin role; this token has role viewer")
        #expect(state.flash?.isError == true)
    }

    @Test func theMenuHidesWhatTheRoleCannotDo() {
        let viewer = Keymap.menu(for: .nodes, role: .viewer).map(\.action)
        let operatorMenu = Keymap.menu(for: .nodes, role: .operator).map(\.action)
        let admin = Keymap.menu(for: .nodes, role: .admin).map(\.action)
        #expect(!viewer.contains(.run) && !viewer.contains(.revoke) && viewer.contains(.filter))
        #expect(operatorMenu.contains(.run) && !operatorMenu.contains(.revoke))
        #expect(admin == Keymap.menu(for: .nodes).map(\.action), "an admin sees the whole menu")
        #expect(!Keymap.menu(for: .commands, role: .viewer).map(\.action).contains(.cancel))
    }

    @Test func anOperatorRunsAndAnUnknownRoleHidesNothing() {
        var operatorState = state(role: .operator)
        _ = operatorState.handle(.char("r"), now: testNow)
        #expect(operatorState.screen == .run)
        var unknown = state(role: nil)
        _ = unknown.handle(.char("X"), now: testNow)
        #expect(unknown.confirm != nil, "without a known role the server decides")
    }
}
