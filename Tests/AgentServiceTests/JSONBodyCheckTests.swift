import Testing

@testable import AgentService

@Suite("JSON body check")
struct JSONBodyCheckTests {
    @Test(
        "bodies a careful reader must refuse",
        arguments: [
            (#"{"payload":{"cmd":"echo first","cmd":"echo second"}}"#, "duplicate key 'cmd' in payload"),
            (#"{"a":1,"a":2}"#, "duplicate key 'a' in body"),
            (#"{"a":{"x":1},"b":[{"k":1,"k":2}]}"#, "duplicate key 'k' in b"),
            (#"{"c\u006Dd":"x","cmd":"y"}"#, "duplicate key 'cmd'"),
            (#"{"wait_sec": 17500686229317330944}"#, "field 'wait_sec': number 17500686229317330944 is out of range"),
            (#"{"exit_code": -99999999999999999999}"#, "out of range"),
            // A huge number is only reported if nothing worse follows it.
            (#"{"n":99999999999999999999,"a":1,"a":2}"#, "duplicate key 'a'"),
            (#"{"node_id":"edge-1","attrs":null}"#, "field 'attrs' is null"),
            (#"{"payload":{"cmd":"x","timeout_sec":null}}"#, "field 'payload.timeout_sec' is null"),
        ])
    func refused(body: String, message: String) {
        let problem = JSONBodyCheck.check(Array(body.utf8))
        #expect(problem?.message.contains(message) == true, "\(String(describing: problem))")
    }

    @Test(
        "valid JSON passes, whatever its shape",
        arguments: [
            #"{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}"#,
            #"{"s":"with \"quotes\", colons: and {braces}, null","n":-12.5e3,"t":true,"f":false}"#,
            #"{"é":"\ud83d\ude80","e":"é"}"#,
            #"[1,2,3,9223372036854775807,-9223372036854775808]"#,
            #"{"a":"x","A":"y"}"#,
            "{}",
        ])
    func passes(body: String) {
        #expect(JSONBodyCheck.check(Array(body.utf8)) == nil)
    }

    @Test("bodies that are not UTF-8 are refused")
    func encodings() {
        let utf16: [UInt8] = [0xFF, 0xFE] + Array("{}".utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        #expect(JSONBodyCheck.check(utf16)?.message.contains("UTF-16") == true)
        #expect(JSONBodyCheck.check(Array(#"{"x":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8))?.message == "body is not valid UTF-8")
    }
}
