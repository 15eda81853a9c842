import Foundation
import KilnLayer
import KilnTestSupport
import OCI
import Testing

/// kiln's own gzip writer against a referee that shares none of its code
/// (`Tests/Fixtures/gzip_referee.py`): the same bytes for every length and every way of
/// cutting the input into writes, and both Python's zlib and zlib-ng read them back.
@Suite struct StoredGzipTests {
    @Test func crc32MatchesTheStandardCheckValue() {
        // The check value of CRC-32/ISO-HDLC, the CRC gzip uses.
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([]) == 0)
        // Fed in odd pieces (the eight-byte path and the byte path in turn): the same value.
        let bytes = (0..<1_000).map { UInt8(truncatingIfNeeded: $0 &* 7919 &+ 13) }
        var pieces = CRC32()
        var offset = 0
        for size in [1, 3, 8, 17, 64, 907] {
            bytes[offset..<(offset + size)].withUnsafeBytes { pieces.update($0) }
            offset += size
        }
        #expect(pieces.value == CRC32.checksum(bytes))
    }

    /// Lengths around the 65,535-byte block limit, written in pieces of several sizes.
    @Test(arguments: [0, 1, 512, 65_534, 65_535, 65_536, 131_070, 131_071, 300_000])
    func bytesEqualTheRefereesAndBothZlibsReadThem(length: Int) throws {
        let dir = try TemporaryDirectory()
        var generator = SplitMix(seed: UInt64(length))
        let input = (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        try Data(input).write(to: URL(fileURLWithPath: dir("input")))
        try gzipReferee(store: dir("input"), to: dir("referee.gz"))
        let expected = Array(try Data(contentsOf: URL(fileURLWithPath: dir("referee.gz"))))

        for piece in [1 << 20, 10_240, 65_535, 65_536, 4_093] {
            var output: [UInt8] = []
            let writer = try StoredGzipWriter { output += Array($0) }
            var offset = 0
            while offset < input.count {
                let end = min(offset + piece, input.count)
                try input[offset..<end].withUnsafeBytes { try writer.write($0) }
                offset = end
            }
            try writer.finish()
            #expect(output == expected, "length \(length), pieces of \(piece)")
        }

        let report = try gzipReferee(check: dir("referee.gz"))
        #expect(report.zlib == Digest.of(input).description)
        #expect(report.zlibNG == Digest.of(input).description)
        #expect(report.restoredIdentical)
        #expect(report.blocks == max(1, (length + 65_534) / 65_535))
        // gzip(1) agrees too.
        let gunzipped = try runChecked("sh", ["-c", "gzip -dc '\(dir("referee.gz"))' | sha256sum"]).stdout
        #expect(gunzipped.hasPrefix(Digest.of(input).hex))
    }
}

/// A small deterministic generator (SplitMix64), so every run tests the same bytes.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
