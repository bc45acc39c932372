import FleetProtocol
import Foundation
import Testing

@testable import NodeAgent

@Suite("Package manager argv, pins, detection, version queries")
struct PackageManagerTests {
    static let aptOptions = [
        "-y", "-q", "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold",
        "-o", "DPkg::Lock::Timeout=60",
    ]

    func argvs(_ kind: PackageManagerKind, _ action: PackageAction, _ packages: [String]) throws -> [[String]] {
        let manager = PackageManager(kind: kind, executable: "/x/\(PackageManager.programName(of: kind))")
        return try manager.steps(for: action, packages: packages).map { [$0.executable] + $0.arguments }
    }

    @Test func aptRefreshesThenInstallsRemovesAndUpgradesNonInteractively() throws {
        let apt = PackageManager(kind: .apt, executable: "/usr/bin/apt-get")
        let install = try apt.steps(for: .install, packages: ["vim", "curl=7.88.1-10"])
        #expect(install.map(\.isOptional) == [true, false])
        #expect(install[0].arguments == ["-q", "update"])
        #expect(install[1].arguments == Self.aptOptions + ["install", "--", "vim", "curl=7.88.1-10"])
        for step in install {
            #expect(step.executable == "/usr/bin/apt-get")
            #expect(step.environment["DEBIAN_FRONTEND"] == "noninteractive")
            #expect(step.environment["NEEDRESTART_MODE"] == "a")
            #expect(step.environment["APT_LISTCHANGES_FRONTEND"] == "none")
        }
        // remove needs no fresh lists: one step, not optional
        let remove = try apt.steps(for: .remove, packages: ["vim"])
        #expect(remove.map(\.arguments) == [Self.aptOptions + ["remove", "--", "vim"]])
        #expect(remove.map(\.isOptional) == [false])
        let upgradeOne = ["/x/apt-get"] + Self.aptOptions + ["install", "--only-upgrade", "--", "vim"]
        #expect(try argvs(.apt, .upgrade, ["vim"]).last == upgradeOne)
        #expect(try argvs(.apt, .upgrade, []).last == ["/x/apt-get"] + Self.aptOptions + ["upgrade"])
        #expect(try argvs(.apt, .upgrade, []).first == ["/x/apt-get", "-q", "update"])
    }

    @Test(arguments: [
        (PackageManagerKind.dnf, PackageAction.install, ["vim", "curl=7.76"], ["/x/dnf", "-y", "install", "vim", "curl-7.76"]),
        (.dnf, .remove, ["vim"], ["/x/dnf", "-y", "remove", "vim"]),
        (.dnf, .upgrade, ["vim=9.0-1.el9"], ["/x/dnf", "-y", "upgrade", "vim-9.0-1.el9"]),
        (.dnf, .upgrade, [], ["/x/dnf", "-y", "upgrade"]),
        (.yum, .install, ["vim=9.0"], ["/x/yum", "-y", "install", "vim-9.0"]),
        (.yum, .remove, ["vim"], ["/x/yum", "-y", "remove", "vim"]),
        (.yum, .upgrade, [], ["/x/yum", "-y", "upgrade"]),
        (
            .apk, .install, ["vim", "curl=8.5.0-r0", "jq>=1.6", "tzdata~2024"],
            ["/x/apk", "add", "--no-progress", "--", "vim", "curl=8.5.0-r0", "jq>=1.6", "tzdata~2024"]
        ),
        (.apk, .remove, ["vim"], ["/x/apk", "del", "--no-progress", "--", "vim"]),
        (.apk, .upgrade, ["vim"], ["/x/apk", "upgrade", "--no-progress", "--", "vim"]),
        (.apk, .upgrade, [], ["/x/apk", "upgrade", "--no-progress"]),
        (
            .zypper, .install, ["vim", "curl=8.0", "jq>=1.6"],
            ["/x/zypper", "--non-interactive", "install", "vim", "curl=8.0", "jq>=1.6"]
        ),
        (.zypper, .remove, ["vim"], ["/x/zypper", "--non-interactive", "remove", "vim"]),
        (.zypper, .upgrade, ["vim"], ["/x/zypper", "--non-interactive", "update", "vim"]),
        (.zypper, .upgrade, [], ["/x/zypper", "--non-interactive", "update"]),
    ])
    func otherManagersRunOneNonInteractiveCommand(
        kind: PackageManagerKind, action: PackageAction, packages: [String], expected: [String]
    ) throws {
        let manager = PackageManager(kind: kind, executable: "/x/\(kind.rawValue)")
        let steps = try manager.steps(for: action, packages: packages)
        #expect(steps.count == 1)
        #expect(steps.first.map { [$0.executable] + $0.arguments } == expected)
        #expect(steps.first?.isOptional == false)
    }

    @Test func pinsSplitAtTheFirstRelation() {
        let pinned = PackageRequest("vim=2:9.0.1378-2")
        #expect(pinned.name == "vim")
        #expect(pinned.relation == "=")
        #expect(pinned.version == "2:9.0.1378-2")
        #expect(PackageRequest("libc6:amd64=2.36-9").name == "libc6:amd64")
        #expect(PackageRequest("jq>=1.6").relation == ">=")
        #expect(PackageRequest("jq<2").relation == "<")
        #expect(PackageRequest("jq").relation == nil)
        #expect(PackageRequest("py3-foo@edge").queryName(for: .apk) == "py3-foo")
        #expect(PackageRequest("py3-foo@edge").queryName(for: .apt) == "py3-foo@edge")
    }

    @Test func pinsAManagerCannotExpressAreRefused() {
        #expect(throws: PackageError.unsupportedConstraint(package: "vim", relation: ">=", manager: .apt)) {
            try PackageRequest("vim>=9").argument(for: .apt)
        }
        #expect(throws: PackageError.unsupportedConstraint(package: "vim", relation: "<", manager: .dnf)) {
            try PackageRequest("vim<9").argument(for: .dnf)
        }
        #expect(throws: PackageError.unsupportedConstraint(package: "vim", relation: "~", manager: .zypper)) {
            try PackageRequest("vim~9").argument(for: .zypper)
        }
        #expect(throws: PackageError.missingVersion(package: "vim")) { try PackageRequest("vim=").argument(for: .apk) }
        // one bad pin refuses the whole payload: nothing half-done
        #expect(throws: PackageError.self) {
            try PackageManager(kind: .apt, executable: "/x").steps(for: .install, packages: ["curl", "vim>=9"])
        }
    }

    // MARK: detection

    static func locator(_ executables: Set<String>) -> ExecutableLocator {
        ExecutableLocator(directories: ["/fake/bin", "/fake/sbin"], isExecutable: { executables.contains($0) })
    }

    @Test func autoDetectionFollowsAptDnfYumApkZypperOrder() throws {
        #expect(try PackageManager.detect(nil, locator: Self.locator(["/fake/sbin/apk", "/fake/bin/zypper"])).kind == .apk)
        #expect(try PackageManager.detect(nil, locator: Self.locator(["/fake/bin/yum", "/fake/sbin/dnf"])).kind == .dnf)
        #expect(try PackageManager.detect(nil, locator: Self.locator(["/fake/bin/zypper", "/fake/bin/yum"])).kind == .yum)
        let apt = try PackageManager.detect(nil, locator: Self.locator(["/fake/bin/zypper", "/fake/sbin/apt-get"]))
        #expect(apt == PackageManager(kind: .apt, executable: "/fake/sbin/apt-get"))
        // earlier directories win for the same program
        let twice = Self.locator(["/fake/sbin/dnf", "/fake/bin/dnf"])
        #expect(try PackageManager.detect(nil, locator: twice).executable == "/fake/bin/dnf")
        #expect(throws: PackageError.noManagerFound(searched: ["/fake/bin", "/fake/sbin"])) {
            try PackageManager.detect(nil, locator: Self.locator(["/fake/bin/apt"]))
        }
    }

    @Test func aNamedManagerIsUsedEvenIfAnotherComesFirstAndNeverReplacedWhenMissing() throws {
        let both = Self.locator(["/fake/bin/apt-get", "/fake/bin/zypper"])
        #expect(try PackageManager.detect(.zypper, locator: both).executable == "/fake/bin/zypper")
        let error = #expect(throws: PackageError.self) { try PackageManager.detect(.dnf, locator: both) }
        #expect(error == .managerNotFound(.dnf, program: "dnf", searched: ["/fake/bin", "/fake/sbin"]))
        #expect(error?.description.contains("dnf was requested but dnf is not on this node") == true)
    }

    @Test func systemLocatorSearchesAbsolutePathEntriesThenTheSbinDirectories() throws {
        let locator = ExecutableLocator.system(path: "/opt/tools/bin:relative/bin::/usr/bin")
        #expect(locator.directories.first == "/opt/tools/bin")
        #expect(!locator.directories.contains("relative/bin"))
        #expect(locator.directories.filter { $0 == "/usr/bin" }.count == 1)
        #expect(locator.directories.contains("/sbin"))
        // the real file check: only regular files with an execute bit, found in PATH order
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let plain = directory.path + "/plain", tool = directory.path + "/tool"
        #expect(FileManager.default.createFile(atPath: plain, contents: Data(), attributes: [.posixPermissions: 0o644]))
        #expect(FileManager.default.createFile(atPath: tool, contents: Data(), attributes: [.posixPermissions: 0o755]))
        #expect(ExecutableLocator.isExecutableFile(tool))
        #expect(!ExecutableLocator.isExecutableFile(plain))
        #expect(!ExecutableLocator.isExecutableFile(directory.path))
        let found = ExecutableLocator.system(path: "/nonexistent:" + directory.path)
        #expect(found.find("tool") == tool)
        #expect(found.find("plain") == nil)
        #expect(found.find("sh") != nil)  // from the standard directories after PATH
    }
}
