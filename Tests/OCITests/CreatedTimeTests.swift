import OCI
import Testing

/// The parts of the OCI model `kiln outdated` adds: a config's `created` time read as seconds,
/// and config differences worded as changes.
@Suite struct CreatedTimeTests {
    @Test func rfc3339TimesAsImageConfigsWriteThem() {
        #expect(UTCTime.epochSeconds(rfc3339: "1970-01-01T00:00:00Z") == 0)
        #expect(UTCTime.epochSeconds(rfc3339: "2024-02-29T12:00:00Z") == 1_709_208_000)
        // Fractions (Go writes nanoseconds) are dropped; offsets are applied.
        #expect(UTCTime.epochSeconds(rfc3339: "2024-02-29T12:00:00.123456789Z") == 1_709_208_000)
        #expect(UTCTime.epochSeconds(rfc3339: "2024-02-29T14:00:00+02:00") == 1_709_208_000)
        #expect(UTCTime.epochSeconds(rfc3339: "2024-02-29T11:30:00-00:30") == 1_709_208_000)
        #expect(UTCTime.epochSeconds(rfc3339: "1960-01-01T00:00:00Z") == -315_619_200)
        // The inverse of UTCTime's own formatting.
        for seconds: Int64 in [0, 951_782_400, 1_709_208_000, 4_102_444_799] {
            #expect(UTCTime.epochSeconds(rfc3339: UTCTime(seconds).rfc3339) == seconds)
        }
    }

    @Test func anythingElseIsNilNeverATrap() {
        for text in ["", "2024-02-29", "2024-02-29T12:00:00", "2024-13-01T00:00:00Z", "2024-02-29T24:00:00Z", "2024-02-29T12:00:00.Z",
                     "2024-02-29T12:00:00+0200", "2024-02-29T12:00:00Zjunk", "２０２４-02-29T12:00:00Z", "9999999999999999-01-01T00:00:00Z",
                     String(repeating: "9", count: 100), "2024-02-29T12:00:00." + String(repeating: "1", count: 80) + "Z"] {
            #expect(UTCTime.epochSeconds(rfc3339: text) == nil, "\(text)")
        }
    }

    @Test func differencesWordedAsChanges() throws {
        let old = try JSONValue(parsing: Array(#"{"config":{"Env":["A=1"],"User":"kong","Labels":{"v":"1"}}}"#.utf8), what: "old")
        let new = try JSONValue(parsing: Array(#"{"config":{"Env":["A=2","B=1"],"Labels":{"v":"1","w":"x"}}}"#.utf8), what: "new")
        #expect(old.differences(to: new, wording: .change) == [
            #"config.Env[0]: "A=1" -> "A=2""#, #"config.Env[1]: added "B=1""#, #"config.User: removed "kong""#, #"config.Labels.w: added "x""#,
        ])
        // verify's wording is unchanged.
        #expect(old.differences(to: new).first == #"config.Env[0]: expected "A=1", found "A=2""#)
    }
}
