import FleetProtocol
import Testing

@testable import NodeAgent

@Suite("Installed version queries")
struct InstalledVersionTests {
    let apt = PackageManager(kind: .apt, executable: "/usr/bin/apt-get")
    let dnf = PackageManager(kind: .dnf, executable: "/usr/bin/dnf")
    let apk = PackageManager(kind: .apk, executable: "/sbin/apk")

    func parse(_ manager: PackageManager, _ name: String, _ code: Int32, _ output: String) -> InstalledState {
        manager.parseInstalledVersion(of: name, termination: .exited(code), output: output)
    }

    @Test func queriesAreArgvsWithTheNameAsOneArgument() {
        #expect(apt.installedVersionQuery(for: "vim").program == "dpkg-query")
        let dpkg = ["--show", "--showformat=${db:Status-Status}\t${Version}\n", "--", "vim"]
        #expect(apt.installedVersionQuery(for: "vim").arguments == dpkg)
        #expect(dnf.installedVersionQuery(for: "vim").arguments == ["-q", "--queryformat", "%{VERSION}-%{RELEASE}\n", "vim"])
        #expect(PackageManager(kind: .zypper, executable: "/z").installedVersionQuery(for: "vim").program == "rpm")
        #expect(apk.installedVersionQuery(for: "vim").arguments == ["list", "--installed", "--", "vim"])
    }

    @Test func dpkgAnswers() {
        #expect(parse(apt, "vim", 0, "installed\t2:9.0.1378-2\n") == .installed(version: "2:9.0.1378-2"))
        // removed, config files kept: dpkg still knows a version, but it is not installed
        #expect(parse(apt, "vim", 0, "config-files\t2:9.0.1378-2\n") == .notInstalled(detail: nil))
        #expect(parse(apt, "vim", 1, "") == .notInstalled(detail: nil))
        #expect(parse(apt, "vim", 0, "half-configured\t1.0\n") == .notInstalled(detail: "dpkg state half-configured"))
        // multi-arch: one line per architecture
        let both = "installed\t2.36-9\ninstalled\t2.36-9\n"
        #expect(parse(apt, "libc6", 0, both) == .installed(version: "2.36-9"))
        #expect(parse(apt, "vim", 2, "") == .unknown(reason: "dpkg-query ended with exit code 2"))
    }

    @Test func rpmAnswers() {
        #expect(parse(dnf, "vim", 0, "9.0.2081-1.el9\n") == .installed(version: "9.0.2081-1.el9"))
        let kernels = "5.14.0-1.el9\n5.14.0-2.el9\n"
        #expect(parse(dnf, "kernel", 0, kernels) == .installed(version: "5.14.0-1.el9, 5.14.0-2.el9"))
        #expect(parse(dnf, "vim", 1, "package vim is not installed\n") == .notInstalled(detail: nil))
        #expect(parse(dnf, "vim", 1, "error: rpmdb open failed\n") == .unknown(reason: "rpm ended with exit code 1"))
    }

    @Test func apkAnswers() {
        let listed = "vim-9.0.2073-r0 x86_64 {vim} (Vim) [installed]\n"
        #expect(parse(apk, "vim", 0, listed) == .installed(version: "9.0.2073-r0"))
        // a package whose name only starts with ours is not ours
        let other = "vim-common-9.0.2073-r0 x86_64 {vim} (Vim) [installed]\n"
        #expect(parse(apk, "vim", 0, other) == .notInstalled(detail: nil))
        #expect(parse(apk, "vim", 0, "") == .notInstalled(detail: nil))
    }

    @Test func summariesAndResults() {
        #expect(InstalledState.installed(version: "1.0").summary(for: "vim") == "fleet: vim 1.0 installed\n")
        #expect(InstalledState.notInstalled(detail: nil).summary(for: "vim") == "fleet: vim not installed\n")
        #expect(InstalledState.notInstalled(detail: nil).result(for: "vim") == PackageResult(name: "vim", installedVersion: nil))
        // unknown is not "not installed": it is left out of the result
        #expect(InstalledState.unknown(reason: "x").result(for: "vim") == nil)
    }
}
