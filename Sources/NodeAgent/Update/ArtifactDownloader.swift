import AsyncHTTPClient
import Crypto
import FleetProtocol
import FleetTLS
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where an update's binary comes from.
public enum ArtifactSource: Sendable, Hashable {
    /// Stored on agent-svc; fetched with the node's own token.
    case artifact(id: String)
    /// An https URL; fetched without any Fleet credential (it is not ours to send elsewhere).
    case url(String)
}

/// What a download wrote.
public struct DownloadedFile: Sendable, Hashable {
    public var bytes: Int64
    /// Lower-case hex SHA-256 of what was written.
    public var sha256: String
}

/// The seam over fetching update binaries; tests substitute a local one.
public protocol ArtifactDownloading: Sendable {
    /// Streams `source` into a new file at `path` (mode 0700), hashing as it goes.
    func download(_ source: ArtifactSource, to path: String, token: String) async throws(UpdateError) -> DownloadedFile
}

/// Downloads over AsyncHTTPClient, streaming to disk so memory stays flat for any size.
public struct HTTPArtifactDownloader: ArtifactDownloading {
    /// Refuses anything larger: no agent binary is this big.
    static let maxBytes: Int64 = 1024 * 1024 * 1024

    let serverURL: String
    let client: HTTPClient
    let timeout: Duration

    /// Artifacts from agent-svc are fetched under its trust (the private CA alone, when one is
    /// set); from any other URL under the system store plus that CA.
    let otherHosts: HTTPClient

    public init(serverURL: String, trust: TrustSettings = .system, timeout: Duration = .seconds(600)) {
        var trimmed = serverURL
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.serverURL = trimmed
        self.client = HTTPClientTransport.agentClient(trust: trust)
        self.otherHosts = Self.downloadClient(trust: trust)
        self.timeout = timeout
    }

    /// The process's client for artifact URLs on other hosts under `trust` (``SharedHTTPClients``).
    static func downloadClient(trust: TrustSettings) -> HTTPClient {
        SharedHTTPClients.client(.otherHosts, trust: trust) {
            var configuration = HTTPClient.Configuration(tlsConfiguration: trust.forOtherHosts)
            configuration.timeout.connect = .seconds(10)
            // A refused connection or a certificate that does not verify fails the download at
            // once (with its reason) instead of being retried until the connect timeout.
            configuration.connectionPool.retryConnectionEstablishment = false
            return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        }
    }

    public func download(_ source: ArtifactSource, to path: String, token: String) async throws(UpdateError) -> DownloadedFile {
        var request: HTTPClientRequest
        let client: HTTPClient
        switch source {
        case .artifact(let id):
            request = HTTPClientRequest(url: serverURL + FleetPaths.artifactContent(id))
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            client = self.client
        case .url(let url):
            request = HTTPClientRequest(url: url)
            client = otherHosts
        }
        request.headers.add(name: "User-Agent", value: "node-agent/\(NodeAgentVersion.current)")
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o700)
        guard fd >= 0 else { throw .download("cannot create \(path): \(String(cString: strerror(errno)))") }
        var closed = false
        defer { if !closed { close(fd) } }
        do {
            let response = try await client.execute(request, timeout: .seconds(timeout.components.seconds))
            guard response.status == .ok else {
                let body = try? await response.body.collect(upTo: 4096)
                let text = body.map { String(buffer: $0) } ?? ""
                throw UpdateError.download("HTTP \(response.status.code): \(text.prefix(300))")
            }
            var hasher = SHA256()
            var total: Int64 = 0
            for try await buffer in response.body {
                total += Int64(buffer.readableBytes)
                guard total <= Self.maxBytes else { throw UpdateError.download("larger than \(Self.maxBytes) bytes") }
                try buffer.withUnsafeReadableBytes { bytes in
                    hasher.update(bufferPointer: bytes)
                    try Self.writeAll(fd, bytes, path: path)
                }
            }
            // The file is renamed over the running binary next: it must be on disk first.
            guard fsync(fd) == 0 else { throw UpdateError.download("fsync \(path): \(String(cString: strerror(errno)))") }
            closed = true
            close(fd)
            return DownloadedFile(bytes: total, sha256: hasher.finalize().map { String(format: "%02x", $0) }.joined())
        } catch let error as UpdateError {
            throw error
        } catch {
            let host = URL(string: request.url)?.host ?? request.url
            throw .download(TLSFailure.classify(error, host: host)?.description ?? "\(error)")
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        guard let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            let written = write(fd, base + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw UpdateError.download("write \(path): \(String(cString: strerror(errno)))")
            }
            offset += written
        }
    }
}
