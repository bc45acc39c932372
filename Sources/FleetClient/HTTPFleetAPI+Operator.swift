import AsyncHTTPClient
import FleetProtocol
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension HTTPFleetAPI: FleetOperatorAPI {
    /// Raw output and artifact uploads may take long on a slow link; their deadline is generous.
    static let transferTimeout: TimeAmount = .hours(2)

    public func listNodes(selector: String?, limit: Int, cursor: String?) async throws(FleetAPIError) -> NodeListResponse {
        try await get(FleetPaths.agents, query: [("limit", String(limit)), ("cursor", cursor), ("selector", selector)])
    }

    public func submit(_ request: SubmitCommandRequest, idempotencyKey: String?) async throws(FleetAPIError) -> SubmitCommandResponse {
        try await send(.POST, FleetPaths.submit, body: request, headers: idempotencyKey.map { [("Idempotency-Key", $0)] } ?? [])
    }

    public func uploadArtifact(path: String, name: String, version: String) async throws(FleetAPIError) -> ArtifactInfo {
        let file = try FileChunks(path: path)
        let query = "?name=\(Self.escape(name))&version=\(Self.escape(version))"
        var request = HTTPClientRequest(url: baseURL + FleetPaths.artifacts + query)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/octet-stream")
        request.body = .stream(file, length: .known(file.size))
        return try await execute(request, timeout: Self.transferTimeout)
    }

    public func output(
        _ id: UUID, nodeId: String, stream: LogStream, sink: @Sendable ([UInt8]) async -> Void
    ) async throws(FleetAPIError) -> OutputRead {
        let query = "?node_id=\(Self.escape(nodeId))&stream=\(stream.rawValue)"
        var request = HTTPClientRequest(url: baseURL + FleetPaths.output(id.uuidString.lowercased()) + query)
        request.method = .GET
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: Self.transferTimeout)
        } catch {
            throw transportFailure(error)
        }
        let status = Int(response.status.code)
        guard status == 200 else {
            let body = (try? await response.body.collect(upTo: 1024 * 1024)) ?? ByteBuffer()
            throw Self.refusal(status: status, body: Data(buffer: body))
        }
        let expected = response.headers.first(name: "Content-Length").flatMap { Int64($0) }
        var bytes: Int64 = 0
        do {
            for try await buffer in response.body {
                bytes += Int64(buffer.readableBytes)
                await sink(Array(buffer.readableBytesView))
            }
        } catch {
            throw .unreachable("output cut off after \(bytes) bytes: \(Self.describe(error))")
        }
        if let expected, expected != bytes { throw .invalidResponse("output ended after \(bytes) of \(expected) bytes") }
        let complete = response.headers.first(name: "Fleet-Output-Complete") == "true"
        return OutputRead(bytes: bytes, complete: complete)
    }
}

/// A file read in 1 MiB pieces as it is sent, so an upload of a large binary needs no memory of its size.
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let path: String
    let size: Int64

    init(path: String) throws(FleetAPIError) {
        var info = stat()
        guard stat(path, &info) == 0 else { throw .unreadableFile(path: path, reason: String(cString: strerror(errno))) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw .unreadableFile(path: path, reason: "not a regular file") }
        self.path = path
        self.size = Int64(info.st_size)
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let path: String
        var descriptor: Int32 = -1
        var done = false

        mutating func next() async throws -> ByteBuffer? {
            if done { return nil }
            if descriptor < 0 {
                descriptor = open(path, O_RDONLY)
                guard descriptor >= 0 else { throw FleetAPIError.unreadableFile(path: path, reason: String(cString: strerror(errno))) }
            }
            var buffer = [UInt8](repeating: 0, count: 1024 * 1024)
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else {
                close(descriptor)
                done = true
                if count < 0 { throw FleetAPIError.unreadableFile(path: path, reason: String(cString: strerror(errno))) }
                return nil
            }
            return ByteBuffer(bytes: buffer[0..<count])
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(path: path) }
}
