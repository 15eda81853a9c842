import Foundation
import KilnAWS
import KilnCrypto
import KilnTestSupport
import Testing

/// Every case of the AWS Signature Version 4 test suite, as published with botocore (Apache-2.0:
/// its LICENSE and NOTICE are beside it in Tests/Fixtures/sigv4-testsuite).
@Suite struct SigV4TestSuiteTests {
    static let suite = "\(repositoryRoot)/Tests/Fixtures/sigv4-testsuite"
    static let credentials = AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    static let date: Int64 = 1_440_938_160  // 2015-08-30T12:36:00Z

    /// Folders holding a `.req` file, relative to the suite.
    static let cases: [String] = {
        guard let walker = FileManager.default.enumerator(atPath: suite) else { return [] }
        return (walker.allObjects as? [String] ?? []).filter { $0.hasSuffix(".req") }.map { ($0 as NSString).deletingLastPathComponent }.sorted()
    }()

    @Test func theSuiteIsThere() {
        // 26 cases: a missing or moved suite must fail, not pass with nothing checked.
        #expect(Self.cases.count >= 26, "found \(Self.cases.count) cases in \(Self.suite)")
    }

    /// A user's clone has nothing beside it: no test may read the build machines' `../shared`.
    @Test func noTestReadsBesideTheRepository() throws {
        let tests = "\(repositoryRoot)/Tests"
        let walker = FileManager.default.enumerator(atPath: tests)
        var offenders: [String] = []
        while let path = walker?.nextObject() as? String {
            guard path.hasSuffix(".swift") || path.hasSuffix(".py") || path.hasSuffix(".sh") else { continue }
            let text = try String(contentsOfFile: "\(tests)/\(path)", encoding: .utf8)
            if text.contains("/../" + "shared") || text.contains("\"../" + "shared") { offenders.append(path) }
        }
        #expect(offenders.isEmpty, "tests reading outside the repository: \(offenders)")
    }

    @Test(arguments: cases)
    func signsLikeTheSuite(_ folder: String) throws {
        let name = (folder as NSString).lastPathComponent
        let base = "\(Self.suite)/\(folder)/\(name)"
        let request = try Self.parseRequest(try String(contentsOfFile: base + ".req", encoding: .utf8))
        // A case whose canonical request has an x-amz-security-token header signs with that
        // value as the session token (the suite's README); the signer adds the header itself
        // when the request lacks it.
        let expectedCanonical = try String(contentsOfFile: base + ".creq", encoding: .utf8)
        let token = expectedCanonical.split(separator: "\n").first { $0.hasPrefix("x-amz-security-token:") }.map { String($0.dropFirst("x-amz-security-token:".count)) }
        var credentials = Self.credentials
        credentials.sessionToken = token
        let signer = SigV4Signer(region: "us-east-1", service: "service")
        let (_, signature) = signer.sign(request, credentials: credentials, date: Self.date)
        #expect(signature.canonicalRequest == expectedCanonical, "\(name): canonical request")
        #expect(signature.stringToSign == (try String(contentsOfFile: base + ".sts", encoding: .utf8)), "\(name): string to sign")
        #expect(signature.authorization == (try String(contentsOfFile: base + ".authz", encoding: .utf8)), "\(name): authorization")
    }

    /// Parses a `.req` file: request line, headers (continuation lines start with white space),
    /// an empty line, the body.
    static func parseRequest(_ text: String) throws -> SigV4Request {
        var lines = text.components(separatedBy: "\n")
        let requestLine = lines.removeFirst()
        guard let space = requestLine.firstIndex(of: " "), requestLine.hasSuffix(" HTTP/1.1") else {
            throw TestFailure("bad request line: \(requestLine)")
        }
        let method = String(requestLine[..<space])
        let target = String(requestLine[requestLine.index(after: space)..<requestLine.index(requestLine.endIndex, offsetBy: -" HTTP/1.1".count)])
        let (path, query) = target.firstIndex(of: "?").map { (String(target[..<$0]), String(target[target.index(after: $0)...])) } ?? (target, "")
        var headers: [(name: String, value: String)] = []
        var bodyLines: [String]?
        for line in lines {
            if bodyLines != nil { bodyLines?.append(line); continue }
            if line.isEmpty { bodyLines = []; continue }
            if line.first == " " || line.first == "\t", !headers.isEmpty {
                headers[headers.count - 1].value += "\n" + line
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { throw TestFailure("bad header line: \(line)") }
            headers.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
        }
        let body = Array((bodyLines ?? []).joined(separator: "\n").utf8)
        return SigV4Request(method: method, path: path, query: query, headers: headers, body: body)
    }
}

@Suite struct HMACTests {
    @Test func rfc4231Vectors() {
        // RFC 4231 test cases 1 and 2.
        #expect(HMACSHA256.authenticate(Array("Hi There".utf8), key: [UInt8](repeating: 0x0b, count: 20)).hexString
                == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        #expect(HMACSHA256.authenticate(Array("what do ya want for nothing?".utf8), key: Array("Jefe".utf8)).hexString
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }
}
