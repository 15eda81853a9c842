import OCI
import Testing

@Suite struct JSONValueTests {
    private func roundTrip(_ text: String) throws -> String {
        String(decoding: try JSONValue(parsing: Array(text.utf8), what: "test").serialized(), as: UTF8.self)
    }

    @Test func keepsKeyOrderNumbersAndUnknownFields() throws {
        let text = #"{"z":1,"a":{"Healthcheck":{"Test":["CMD","true"],"Interval":30000000000},"x-vendor":1.50e3},"n":-0.0,"t":true,"f":false,"u":null,"e":[]}"#
        #expect(try roundTrip(text) == text)
    }

    @Test func foldsWhitespaceAndEscapesMinimally() throws {
        #expect(try roundTrip(" { \"a\" : [ 1 , 2 ] ,\n\"s\":\"\\u00e9\\/\\n\\u0001\\\"\" } ") == "{\"a\":[1,2],\"s\":\"é/\\n\\u0001\\\"\"}")
        #expect(try roundTrip(#""\ud83d\ude00""#) == "\"😀\"")
    }

    @Test func subscriptSetReplacesInPlaceAndAppends() throws {
        var value = try JSONValue(parsing: Array(#"{"a":1,"b":2}"#.utf8), what: "test")
        value["a"] = .string("x")
        value["c"] = .null
        value["b"] = nil
        #expect(String(decoding: value.serialized(), as: UTF8.self) == #"{"a":"x","c":null}"#)
    }

    @Test(arguments: [
        "", "{", "{\"a\":}", "[1,]", "{\"a\":1,}", "01", "1.", "-", "\"\u{01}\"", "{\"a\":1}x",
        "\"\\x\"", "\"\\ud800\"", "tru", "{\"a\":1,\"a\":2}", String(repeating: "[", count: 300) + String(repeating: "]", count: 300),
    ])
    func rejectsInvalidJSON(_ text: String) {
        #expect(throws: OCIError.self) { try JSONValue(parsing: Array(text.utf8), what: "test") }
    }

    @Test func errorNamesTheDocument() {
        do {
            _ = try JSONValue(parsing: Array("{oops".utf8), what: "config sha256:1234")
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".hasPrefix("config sha256:1234 is not valid JSON"))
        }
    }

    /// Text from the document in an error (a duplicate key, a media type, a digest) is a bounded
    /// excerpt with control characters escaped: a registry's `\u001b]0;…` once reached the
    /// terminal raw.
    @Test func documentTextInErrorsIsEscapedAndBounded() {
        let key = #"\u001b]0;owned\u0007"# + String(repeating: "k", count: 1000)
        do {
            _ = try JSONValue(parsing: Array(#"{"\#(key)":1,"\#(key)":2}"#.utf8), what: "t")
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".hasPrefix(#"t is not valid JSON: duplicate key '\u{1b}]0;owned\u{7}kkk"#), "\(error)")
            #expect("\(error)".count < 200 && !"\(error)".contains("\u{1B}"))
        }
        let hostile = "\u{1B}[2J" + String(repeating: "x", count: 100_000)
        for error in [OCIError.invalidDigest(hostile), .unsupportedMediaType(what: "layer", mediaType: hostile), .invalidPlatform(hostile)] {
            #expect("\(error)".contains("'\\u{1b}[2Jxxx") && "\(error)".count < 300, "\(error)")
        }
    }

    /// JSON does not normalize Unicode: "café" precomposed (U+00E9) and decomposed (e + U+0301)
    /// are two keys, and a lookup finds only its own.
    @Test func keysCompareByBytesNotUnicodeEquivalence() throws {
        let precomposed = "caf\u{E9}", decomposed = "cafe\u{301}"
        let text = #"{"\#(precomposed)": 1, "\#(decomposed)": 2}"#
        let value = try JSONValue(parsing: Array(text.utf8), what: "t")
        #expect(value[precomposed] == .number("1"))
        #expect(value[decomposed] == .number("2"))
        #expect(value.serialized() == Array(#"{"\#(precomposed)":1,"\#(decomposed)":2}"#.utf8))
        #expect(throws: OCIError.self) { try JSONValue(parsing: Array(#"{"\#(decomposed)": 1, "\#(decomposed)": 2}"#.utf8), what: "t") }
    }

    /// 400,000 distinct keys (a 3.9 MB config) took 337 s of CPU with the quadratic duplicate
    /// check; this parses them all and still catches a duplicate at the very end.
    @Test func manyKeysParseAndTheLastDuplicateIsFound() throws {
        var text = "{" + (0..<400_000).map { "\"k\($0)\":\($0)" }.joined(separator: ",")
        let value = try JSONValue(parsing: Array((text + "}").utf8), what: "big")
        guard case .object(let members) = value else { Issue.record("not an object"); return }
        #expect(members.count == 400_000)
        #expect(value["k399999"] == .number("399999"))
        text += ",\"k17\":0}"
        #expect(throws: OCIError.self) { try JSONValue(parsing: Array(text.utf8), what: "big") }
    }
}
