import FleetProtocol
import Testing

@Suite("Node selectors")
struct NodeSelectorTests {
    // MARK: - Valid selectors

    /// Input and the canonical description it must print; every row also parses back from that description.
    static let valid: [(input: String, canonical: String)] = [
        ("region=eu-west", "region=eu-west"),
        ("region==eu-west", "region=eu-west"),
        ("role!=db", "role!=db"),
        ("role in (web,db)", "role in (web,db)"),
        ("role notin (web)", "role notin (web)"),
        ("gpu", "gpu"),
        ("!gpu", "!gpu"),
        ("! gpu", "!gpu"),
        ("*", "*"),
        ("  *  ", "*"),
        ("\t*\n", "*"),
        ("  region = eu-west ,  role != db  ", "region=eu-west,role!=db"),
        ("\trole\t==\tweb\r\n", "role=web"),
        ("role in ( web , db )", "role in (web,db)"),
        ("role in(web)", "role in (web)"),
        ("role notin(web,db)", "role notin (web,db)"),
        ("role in (web,web)", "role in (web,web)"),
        ("region=", "region="),
        ("region=,role=web", "region=,role=web"),
        ("example.com/team=infra", "example.com/team=infra"),
        ("version=1.2.3+build.7", "version=1.2.3+build.7"),
        ("owner=ops@example.com", "owner=ops@example.com"),
        ("endpoint in (host:8080/path,a_b-c.d)", "endpoint in (host:8080/path,a_b-c.d)"),
        ("Role=Web", "Role=Web"),
        ("in=x", "in=x"),
        ("in in (in,notin)", "in in (in,notin)"),
        ("!notin", "!notin"),
        ("a=b,c!=d,e in (f),g notin (h),i,!j", "a=b,c!=d,e in (f),g notin (h),i,!j"),
        ("region=eu-west,region!=us-east", "region=eu-west,region!=us-east"),
    ]

    @Test("valid selectors print their canonical form", arguments: valid)
    func canonicalDescription(input: String, canonical: String) throws {
        let selector = try NodeSelector(parsing: input)
        #expect(selector.description == canonical)
        #expect(try NodeSelector(parsing: canonical) == selector, "the canonical form parses back")
        #expect(selector.isEveryNode == (canonical == "*"))
    }

    @Test("the parsed requirements are exposed in input order")
    func requirements() throws {
        let selector = try NodeSelector(parsing: "region==eu, role!=db, tier in (a,b), zone notin (c), gpu, !spot")
        #expect(
            selector.requirements == [
                .equals(key: "region", value: "eu"), .notEquals(key: "role", value: "db"), .in(key: "tier", values: ["a", "b"]),
                .notIn(key: "zone", values: ["c"]), .exists(key: "gpu"), .notExists(key: "spot"),
            ])
        #expect(selector.requirements.map(\.key) == ["region", "role", "tier", "zone", "gpu", "spot"])
    }

    @Test("'=' and '==' give equal selectors with equal hashes")
    func equalityOperatorsAreOneRequirement() throws {
        let single = try NodeSelector(parsing: "role=web")
        let double = try NodeSelector(parsing: " role == web ")
        #expect(single == double)
        #expect(Set([single, double]).count == 1)
        #expect(try NodeSelector(parsing: "role=web") != NodeSelector(parsing: "role!=web"))
    }

    // MARK: - Invalid selectors

    /// Input, the byte offset the error must name, and a phrase its problem must contain.
    static let invalid: [(input: String, position: Int, phrase: String)] = [
        ("", 0, "empty selector: write '*'"),
        ("   ", 0, "empty selector"),
        ("role=web,", 8, "trailing comma"),
        ("role=web, ", 8, "trailing comma"),
        (",role=web", 0, "empty requirement"),
        ("a=b,,c=d", 4, "empty requirement"),
        ("=web", 0, "empty key"),
        ("!=web", 0, "empty key"),
        ("!", 1, "missing key after '!'"),
        ("role in (web,db", 15, "unclosed '(': expected ')' after the values of 'role in (web,db'"),
        ("role in (", 9, "unclosed '('"),
        ("role in ()", 9, "empty list: 'in' needs at least one value"),
        ("role notin ( )", 13, "empty list: 'notin'"),
        ("role in (web,)", 12, "trailing comma in the list of 'role'"),
        ("role in (,web)", 9, "missing value before ','"),
        ("role in (a,,b)", 11, "missing value before ','"),
        ("role in (a b)", 11, "expected ',' or ')' after 'a'"),
        ("role in web", 8, "expected '(' after 'in', found 'w'"),
        ("role in", 7, "missing '(' after 'in'"),
        ("role in (a)) ", 11, "unexpected character ')' after 'role in (a)'"),
        ("role > 3", 5, "unknown operator '>'"),
        ("role IN (a)", 5, "operators are lowercase, write 'in'"),
        ("role like web", 5, "unknown operator 'like'"),
        ("role!web", 4, "unknown operator '!'"),
        ("ro#le=web", 2, "unexpected character '#' in key 'ro'"),
        ("role=w#b", 6, "unexpected character '#' in the value of 'role'"),
        ("role=a=b", 6, "unexpected character '=' in the value of 'role'"),
        ("role=(a,b)", 5, "write 'role in (a,b)'"),
        ("role=*", 5, "'*' is not a wildcard"),
        ("role=web db=x", 9, "missing ',' between requirements"),
        ("*,role=web", 0, "'*' selects every node and must be the whole selector"),
        ("role=web,*", 9, "must be the whole selector"),
        ("* *", 0, "must be the whole selector"),
        ("!role=web", 5, "takes no value"),
        ("!role in (a)", 6, "takes no operator"),
        ("région=eu", 1, "unexpected character 'é' (U+00E9)"),
        ("role=wéb", 6, "unexpected character 'é' (U+00E9) in the value"),
        ("role\u{A0}=web", 4, "unexpected character U+00A0 in key"),
        ("role = web\u{0}", 10, "unexpected character U+0000"),
    ]

    @Test("invalid selectors name the position and the problem", arguments: invalid)
    func errors(input: String, position: Int, phrase: String) {
        let error = #expect(throws: NodeSelectorError.self) { try NodeSelector(parsing: input) }
        #expect(error?.position == position, "\(error?.description ?? "no error")")
        #expect(error?.problem.contains(phrase) == true, "\(error?.description ?? "no error")")
    }

    @Test("the error description reads 'selector error at position N: problem'")
    func errorDescription() {
        let error = #expect(throws: NodeSelectorError.self) { try NodeSelector(parsing: "role in (a,b") }
        #expect(error?.description == "selector error at position 12: unclosed '(': expected ')' after the values of 'role in (a,b'")
    }

    @Test("positions count UTF-8 bytes, not Characters")
    func positionsAreBytes() {
        // "b" + U+0301 is one Character, but the combining mark is refused on its own at byte 3.
        let mark = #expect(throws: NodeSelectorError.self) { try NodeSelector(parsing: "a=b\u{301}") }
        #expect(mark?.position == 3)
        #expect(mark?.problem.contains("U+0301") == true)
        // 2049 "é" are 2049 Characters but 4098 bytes: over the limit, reported at byte 4096.
        let long = #expect(throws: NodeSelectorError.self) { try NodeSelector(parsing: String(repeating: "é", count: 2049)) }
        #expect(long?.position == 4096)
        #expect(long?.problem == "selector is too long: 4098 bytes, at most 4096")
    }

    // MARK: - Matching

    static let web: [String: String] = ["region": "eu-west", "role": "web"]
    static let db: [String: String] = ["region": "us-east", "role": "db", "gpu": "a100"]
    static let bare: [String: String] = [:]
    static let odd: [String: String] = ["note": "has spaces, commas"]

    /// Selector, attrs, and whether it matches.
    static let matching: [(selector: String, attrs: [String: String], matches: Bool)] = [
        ("region=eu-west", web, true), ("region=eu-west", db, false), ("region=eu-west", bare, false),
        ("region==us-east", db, true),
        ("role!=db", web, true), ("role!=db", db, false), ("role!=db", bare, true),
        ("role in (web,db)", web, true), ("role in (web,db)", db, true), ("role in (web)", db, false),
        ("role in (web,db)", bare, false),
        ("role notin (db)", web, true), ("role notin (db)", db, false), ("role notin (db)", bare, true),
        ("gpu", db, true), ("gpu", web, false), ("gpu", bare, false),
        ("!gpu", web, true), ("!gpu", db, false), ("!gpu", bare, true),
        ("region=eu-west,role=web", web, true), ("region=eu-west,role=db", web, false),
        ("region in (eu-west,us-east),!gpu", web, true), ("region in (eu-west,us-east),!gpu", db, false),
        ("region=", ["region": ""], true), ("region=", bare, false), ("region!=", bare, true),
        ("Role=web", web, false),
        ("note", odd, true), ("note!=x", odd, true), ("note notin (x)", odd, true), ("note=has", odd, false),
        ("*", web, true), ("*", db, true), ("*", bare, true), ("*", odd, true),
    ]

    @Test("matching against attrs, absent keys included", arguments: matching)
    func matches(selector: String, attrs: [String: String], matches: Bool) throws {
        #expect(try NodeSelector(parsing: selector).matches(attrs) == matches)
    }

    @Test("everyNode is '*' and matches everything, even no attrs")
    func everyNode() throws {
        #expect(NodeSelector.everyNode == (try NodeSelector(parsing: " * ")))
        #expect(NodeSelector.everyNode.isEveryNode)
        #expect(NodeSelector.everyNode.requirements.isEmpty)
        #expect(NodeSelector.everyNode.description == "*")
        #expect(NodeSelector.everyNode.matches([:]))
        #expect(NodeSelector.everyNode.matches(Self.db))
        #expect(try !NodeSelector(parsing: "gpu").isEveryNode)
    }

    @Test(
        "whitespace around every token is ignored",
        arguments: [
            "role=web,gpu", " role=web,gpu ", "role = web , gpu", "\trole\t=\tweb\t,\tgpu\t", "\nrole\r\n=\nweb\n,\ngpu\n",
            "role == web ,gpu",
        ])
    func whitespace(input: String) throws {
        #expect(try NodeSelector(parsing: input).description == "role=web,gpu")
    }

    @Test(
        "whitespace inside lists and around '!' is ignored",
        arguments: [
            "role in (a,b),!gpu", "role in(a,b),! gpu", "role  in  (  a  ,  b  )  ,  !  gpu  ", "role\tin\t(\ta\t,\tb\t)\t,\t!\tgpu",
        ])
    func whitespaceInLists(input: String) throws {
        #expect(try NodeSelector(parsing: input).description == "role in (a,b),!gpu")
    }

    // MARK: - Limits

    @Test("a selector of 4096 bytes is accepted, 4097 is refused at byte 4096")
    func totalLength() throws {
        let atLimit = "a=b" + String(repeating: " ", count: 4093)
        #expect(try NodeSelector(parsing: atLimit).description == "a=b")
        let error = #expect(throws: NodeSelectorError.self) { try NodeSelector(parsing: atLimit + " ") }
        #expect(error?.position == 4096)
        #expect(error?.problem.contains("too long: 4097 bytes") == true)
    }

    @Test("keys up to 64 bytes, refused at the 65th")
    func keyLength() throws {
        let key = String(repeating: "k", count: 64)
        #expect(try NodeSelector(parsing: key + "=v").requirements == [.equals(key: key, value: "v")])
        let error = #expect(throws: NodeSelectorError.self) { try NodeSelector(parsing: "a=b," + key + "k=v") }
        #expect(error?.position == 4 + 64)
        #expect(error?.problem.contains("is too long: 65 bytes, at most 64") == true)
        #expect(error?.problem.hasPrefix("key '") == true)
    }

    @Test("values up to 256 bytes, refused at the 257th, in lists too")
    func valueLength() throws {
        let value = String(repeating: "v", count: 256)
        #expect(try NodeSelector(parsing: "k=" + value).requirements == [.equals(key: "k", value: value)])
        #expect(try NodeSelector(parsing: "k in (" + value + ")").requirements == [.in(key: "k", values: [value])])
        let equals = #expect(throws: NodeSelectorError.self) { try NodeSelector(parsing: "k=" + value + "v") }
        #expect(equals?.position == 2 + 256)
        #expect(equals?.problem.contains("too long: 257 bytes, at most 256") == true)
        let list = #expect(throws: NodeSelectorError.self) { try NodeSelector(parsing: "k in (a," + value + "v)") }
        #expect(list?.position == 8 + 256)
    }

    @Test("64 requirements are accepted, the 65th is refused where it starts")
    func requirementCount() throws {
        let requirements = (0..<64).map { "k\($0)=v" }
        #expect(try NodeSelector(parsing: requirements.joined(separator: ",")).requirements.count == 64)
        let prefix = requirements.joined(separator: ",") + ", "
        let error = #expect(throws: NodeSelectorError.self) { try NodeSelector(parsing: prefix + "extra") }
        #expect(error?.position == prefix.utf8.count)
        #expect(error?.problem == "too many requirements: at most 64")
    }

    @Test("256 values per list are accepted, the 257th is refused where it starts")
    func valueCount() throws {
        let values = (0..<256).map { "v\($0)" }
        let selector = try NodeSelector(parsing: "k in (" + values.joined(separator: ",") + ")")
        #expect(selector.requirements == [.in(key: "k", values: values)])
        let prefix = "k notin (" + values.joined(separator: ",") + ","
        let error = #expect(throws: NodeSelectorError.self) { try NodeSelector(parsing: prefix + "extra)") }
        #expect(error?.position == prefix.utf8.count)
        #expect(error?.problem == "too many values in the list of 'k': at most 256")
    }
}
