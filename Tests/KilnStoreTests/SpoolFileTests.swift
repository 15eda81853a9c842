import Foundation
@testable import KilnStore
import Testing

/// The nameless scratch file: an error making it says what it was for and where, not only the
/// directory's own error (a TMPDIR that cannot hold files read "/proc: No such file or directory").
@Suite struct SpoolFileTests {
    @Test func aDirectoryThatCannotHoldTheSpoolIsNamedWithWhatItWasFor() throws {
        for directory in ["/proc", "/nonexistent-kiln-spool-dir"] {
            let error = #expect(throws: StoreError.self) { _ = try SpoolFile(in: directory, label: "the new layer's spool") }
            let text = error.map { "\($0)" } ?? ""
            #expect(text.hasPrefix("the new layer's spool: cannot make a temporary file in \(directory): "), "\(text)")
        }
    }

    @Test func bytesWrittenAreReadBackAndTheFileHasNoName() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-spool-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let spool = try SpoolFile(in: directory, label: "test")
        let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try bytes.withUnsafeBytes { try spool.write($0) }
        var read: [UInt8] = []
        try spool.read { read += $0 }
        #expect(read == bytes)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
    }
}
