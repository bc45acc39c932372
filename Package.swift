// swift-tools-version: 6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// Tests may lean on transitive imports; only the libraries keep the stricter rule.
let testSwiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "Fleet",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "agent-svc", targets: ["agent-svc"]),
        .executable(name: "node-agent", targets: ["node-agent"]),
        .executable(name: "fleet-tui", targets: ["fleet-tui"]),
        .executable(name: "fleet", targets: ["fleet"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        // Shared: one Codable definition of every body, used by server, agent and console.
        .target(name: "FleetProtocol", swiftSettings: swiftSettings),
        // Shared: the retrying loop, backoff and doorbell every background service runs on.
        .target(
            name: "FleetSupport",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Shared by every client: which certificates to trust, TLS failures in one line, and
        // the rule that plain http stays on loopback.
        .target(
            name: "FleetTLS",
            dependencies: [.product(name: "NIOSSL", package: "swift-nio-ssl")],
            swiftSettings: swiftSettings
        ),
        // Tests only: a manual clock, so timeouts and backoff are driven instead of slept.
        .target(name: "FleetTestSupport", swiftSettings: swiftSettings),
        // Shared: node and operator JWTs (HS256).
        .target(
            name: "FleetAuth",
            dependencies: [
                "FleetProtocol",
                .product(name: "JWTKit", package: "jwt-kit"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "AgentService",
            dependencies: [
                "FleetProtocol",
                "FleetAuth",
                "FleetSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "agent-svc",
            dependencies: [
                "AgentService",
                "FleetAuth",
                "FleetProtocol",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // The agent's version in a data field that a release step can stamp into a built binary.
        .target(name: "CAgentVersionStamp"),
        // glibc malloc settings for a small agent, applied at load time, and malloc_trim.
        .target(name: "CMallocTuning"),
        .target(
            name: "NodeAgent",
            dependencies: [
                "FleetProtocol",
                "FleetSupport",
                "FleetTLS",
                "CAgentVersionStamp",
                "CMallocTuning",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "node-agent",
            dependencies: [
                "NodeAgent",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // ncursesw through a shim header (NCURSES_WIDECHAR must precede the include).
        .systemLibrary(
            name: "CNCursesW",
            providers: [.apt(["libncursesw5-dev"])]
        ),
        // Shared by fleet-tui and fleet: the operator routes over HTTP and the log tailer.
        .target(
            name: "FleetClient",
            dependencies: [
                "FleetProtocol",
                "FleetSupport",
                "FleetTLS",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "FleetConsole",
            dependencies: [
                "FleetClient",
                "FleetProtocol",
                "FleetSupport",
                "CNCursesW",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "fleet-tui",
            dependencies: [
                "FleetClient",
                "FleetConsole",
                "FleetTLS",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // The operator CLI for scripts: subcommands, output and exit statuses in a library the tests drive.
        .target(
            name: "FleetCLI",
            dependencies: [
                "FleetClient",
                "FleetProtocol",
                "FleetSupport",
                "FleetTLS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "fleet",
            dependencies: ["FleetCLI"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FleetConsoleTests",
            dependencies: ["FleetClient", "FleetConsole", "FleetProtocol", "FleetSupport", "FleetTestSupport"],
            swiftSettings: testSwiftSettings
        ),
        .testTarget(
            name: "FleetCLITests",
            dependencies: ["FleetCLI", "FleetClient", "FleetProtocol", "FleetTestSupport"],
            swiftSettings: testSwiftSettings
        ),
        .testTarget(
            name: "FleetSupportTests",
            dependencies: [
                "FleetSupport",
                "FleetTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: testSwiftSettings
        ),
        .testTarget(
            name: "FleetTLSTests",
            dependencies: ["FleetTLS", .product(name: "NIOSSL", package: "swift-nio-ssl")],
            swiftSettings: testSwiftSettings
        ),
        .testTarget(
            name: "FleetProtocolTests",
            dependencies: ["FleetProtocol"],
            swiftSettings: testSwiftSettings
        ),
        .testTarget(
            name: "FleetAuthTests",
            dependencies: ["FleetAuth", .product(name: "JWTKit", package: "jwt-kit")],
            swiftSettings: testSwiftSettings
        ),
        .testTarget(
            name: "NodeAgentTests",
            dependencies: [
                "NodeAgent",
                "FleetProtocol",
                "FleetSupport",
                "FleetTestSupport",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: testSwiftSettings
        ),
        .testTarget(
            name: "AgentServiceTests",
            dependencies: [
                "AgentService",
                "FleetAuth",
                "FleetProtocol",
                "FleetSupport",
                "FleetTLS",
                "FleetTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: testSwiftSettings
        ),
    ]
)
