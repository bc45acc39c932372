import Testing

@testable import FleetTLS

@Suite("Plain http stays on loopback")
struct PlainHTTPPolicyTests {
    @Test(arguments: [
        "http://127.0.0.1:8080", "http://127.4.5.6", "http://localhost:8080/", "http://[::1]:8080", "http://LOCALHOST",
        "https://10.1.2.3:8443", "https://kong:8443", "https://example.com",
    ])
    func allowed(url: String) {
        #expect(PlainHTTPPolicy.refusal(url: url, variable: "AGENT_SVC_URL", allowInsecure: false) == nil)
    }

    @Test(arguments: ["http://10.1.2.3:8080", "http://kong:8000", "http://128.0.0.1", "http://127.0.0.1.example.com", "http://[::2]"])
    func refusedWithoutTheOptIn(url: String) throws {
        let refusal = try #require(PlainHTTPPolicy.refusal(url: url, variable: "AGENT_SVC_URL", allowInsecure: false))
        #expect(refusal.contains("AGENT_SVC_URL"))
        #expect(refusal.contains("ALLOW_INSECURE_HTTP=1"))
        #expect(refusal.contains("https://"))
        #expect(PlainHTTPPolicy.refusal(url: url, variable: "AGENT_SVC_URL", allowInsecure: true) == nil)
    }

    @Test func theOptInIsExactlyOne() {
        #expect(PlainHTTPPolicy.allowsInsecure(["ALLOW_INSECURE_HTTP": "1"]))
        #expect(!PlainHTTPPolicy.allowsInsecure(["ALLOW_INSECURE_HTTP": "yes"]))
        #expect(!PlainHTTPPolicy.allowsInsecure([:]))
    }
}
