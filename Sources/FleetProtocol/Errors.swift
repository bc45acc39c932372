/// The body of every error response: `{"error":{"code":"…","message":"…"}}`.
public struct ErrorResponse: Codable, Sendable, Hashable {
    /// Machine-readable code and human-readable message.
    public struct Detail: Codable, Sendable, Hashable {
        public var code: String
        public var message: String

        public init(code: String, message: String) {
            self.code = code
            self.message = message
        }
    }

    public var error: Detail

    public init(code: String, message: String) {
        self.error = Detail(code: code, message: message)
    }
}

/// `GET /healthz` and `GET /readyz`.
public struct HealthResponse: Codable, Sendable, Hashable {
    public var status: String
    public var detail: String?

    public init(status: String, detail: String? = nil) {
        self.status = status
        self.detail = detail
    }
}
