import OCI
import Testing

/// `JSONValue.parsingWithStringRanges`: where each string value stands, for edits that splice.
@Suite struct JSONValueStringRangesTests {
    @Test func rangesCoverStringValuesInDocumentOrderNotKeys() throws {
        let text = "{\"a\": \"x\\/y\", \"b\": [1, \"\\u00e9\", {\"c\": \"z\"}], \"d\": true}"
        let bytes = Array(text.utf8)
        let (value, ranges) = try JSONValue.parsingWithStringRanges(bytes, what: "test")
        #expect(value == (try JSONValue(parsing: bytes, what: "test")))
        #expect(ranges.map { String(decoding: bytes[$0], as: UTF8.self) } == ["\"x\\/y\"", "\"\\u00e9\"", "\"z\""])
        #expect(try JSONValue.parsingWithStringRanges(Array("\"top\"".utf8), what: "test").1 == [0..<5])
        #expect(throws: OCIError.self) { try JSONValue.parsingWithStringRanges(Array("[\"a\"".utf8), what: "test") }
    }
}
