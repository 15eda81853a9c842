import Foundation

/// What `Tests/Fixtures/gzip_referee.py check` says about a stored-gzip blob: the tar as Python's
/// zlib and PyPI's zlib-ng decompress it, and the blob rewritten by a stored-block writer that
/// shares no code with kiln.
public struct GzipRefereeReport: Decodable, Sendable {
    /// `sha256:` digest of the tar decompressed by Python's zlib.
    public var zlib: String
    /// `sha256:` digest of the tar decompressed by zlib-ng.
    public var zlibNG: String
    public var zlibVersion: String
    public var zlibNGVersion: String
    /// `sha256:` digest of the referee's own stored-gzip of the tar.
    public var restored: String
    public var restoredIdentical: Bool
    /// Deflate blocks in the blob (every one stored, or the referee fails).
    public var blocks: Int

    enum CodingKeys: String, CodingKey {
        case zlib, restored, blocks
        case zlibNG = "zlib_ng"
        case zlibVersion = "zlib_version"
        case zlibNGVersion = "zlib_ng_version"
        case restoredIdentical = "restored_identical"
    }
}

/// Runs the referee on a blob. A missing `zlib_ng` module fails the test (README's test command
/// installs it), never skips it.
public func gzipReferee(check blob: String) throws -> GzipRefereeReport {
    let result = try runChecked("python3", ["\(repositoryRoot)/Tests/Fixtures/gzip_referee.py", "check", blob])
    var report = try JSONDecoder().decode(GzipRefereeReport.self, from: Data(result.stdout.utf8))
    report.zlib = "sha256:" + report.zlib
    report.zlibNG = "sha256:" + report.zlibNG
    report.restored = "sha256:" + report.restored
    return report
}

/// The referee's own stored-block gzip of the file `input`, written to `output`.
public func gzipReferee(store input: String, to output: String) throws {
    try runChecked("python3", ["\(repositoryRoot)/Tests/Fixtures/gzip_referee.py", "stored", input, output])
}

/// Each regular file's and directory's tar mtime, read by Python's `tarfile` (any compression it
/// detects), keyed by member name without a trailing slash.
public func tarModificationTimes(_ blob: String) throws -> [String: Int64] {
    let script = "import json, sys, tarfile; print(json.dumps({m.name.rstrip('/'): m.mtime for m in tarfile.open(sys.argv[1])}))"
    let result = try runChecked("python3", ["-c", script, blob])
    return try JSONDecoder().decode([String: Int64].self, from: Data(result.stdout.utf8))
}
