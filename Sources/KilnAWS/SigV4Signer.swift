import KilnCrypto
import OCI

/// A request as AWS Signature Version 4 sees it.
package struct SigV4Request: Sendable {
    package var method: String
    /// The path as it will be sent (may hold raw UTF-8, spaces, `.` and `..` segments).
    package var path: String
    /// The raw query string, without `?` (may be percent-encoded already).
    package var query: String
    /// Header fields in the order they are sent; repeated names allowed.
    package var headers: [(name: String, value: String)]
    package var body: [UInt8]

    package init(method: String, path: String, query: String = "", headers: [(name: String, value: String)], body: [UInt8] = []) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }
}

/// The intermediate results of signing, each checkable against the AWS test suite.
package struct SigV4Signature: Sendable, Equatable {
    package var canonicalRequest: String
    package var stringToSign: String
    package var signedHeaders: String
    package var signature: String
    /// The value of the `Authorization` header.
    package var authorization: String
}

/// AWS Signature Version 4 (header-based), on OpenSSL's SHA-256 and HMAC-SHA256.
///
/// Follows the published algorithm: normalized, percent-encoded path (not for S3); query
/// parameters decoded, re-encoded and sorted; header names lower-cased, values trimmed with
/// inner white space folded, repeated headers joined with commas; every header signed.
package struct SigV4Signer: Sendable {
    package var region: String
    package var service: String

    package init(region: String, service: String) {
        self.region = region
        self.service = service
    }

    /// Signs `request` as of `date` (seconds since the epoch).
    ///
    /// Adds `X-Amz-Date` when the request lacks it, and `X-Amz-Security-Token` when the
    /// credentials carry a session token and the request lacks it; both are signed.
    /// - Returns: the headers to send (the request's plus those added and `Authorization`) and
    ///   the signature's parts.
    package func sign(_ request: SigV4Request, credentials: AWSCredentials, date: Int64) -> (headers: [(name: String, value: String)], signature: SigV4Signature) {
        var request = request
        let (amzDate, day) = SigV4Signer.timestamps(date)
        func has(_ name: String) -> Bool { request.headers.contains { $0.name.lowercased() == name } }
        if !has("x-amz-date") { request.headers.append(("X-Amz-Date", amzDate)) }
        if let token = credentials.sessionToken, !has("x-amz-security-token") {
            request.headers.append(("X-Amz-Security-Token", token))
        }
        let signature = signature(for: request, credentials: credentials, amzDate: amzDate, day: day)
        return (request.headers + [("Authorization", signature.authorization)], signature)
    }

    /// The signature of a request whose headers are final.
    package func signature(for request: SigV4Request, credentials: AWSCredentials, amzDate: String, day: String) -> SigV4Signature {
        let (canonicalHeaders, signedHeaders) = SigV4Signer.canonicalHeaders(request.headers)
        let canonicalRequest = [
            request.method.uppercased(),
            service == "s3" ? SigV4Signer.encode(request.path, keepSlash: true) : SigV4Signer.canonicalPath(request.path),
            SigV4Signer.canonicalQuery(request.query),
            canonicalHeaders,
            signedHeaders,
            SHA256.hash(request.body).hexString,
        ].joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, SHA256.hash(Array(canonicalRequest.utf8)).hexString].joined(separator: "\n")
        var key = Array("AWS4\(credentials.secretAccessKey)".utf8)
        for part in [day, region, service, "aws4_request"] {
            key = HMACSHA256.authenticate(Array(part.utf8), key: key)
        }
        let signature = HMACSHA256.authenticate(Array(stringToSign.utf8), key: key).hexString
        let authorization = "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        return SigV4Signature(canonicalRequest: canonicalRequest, stringToSign: stringToSign, signedHeaders: signedHeaders, signature: signature, authorization: authorization)
    }

    /// `20150830T123600Z` and `20150830` for a time, in UTC whatever `TZ` says.
    package static func timestamps(_ seconds: Int64) -> (amzDate: String, day: String) {
        let time = UTCTime(seconds)
        return (time.compactDateTime, time.compactDate)
    }

    /// Header block and signed-header list: names lower-cased and sorted; values trimmed,
    /// inner runs of white space (and folded continuation lines) made one space; repeated names
    /// joined with commas in the order sent.
    static func canonicalHeaders(_ headers: [(name: String, value: String)]) -> (String, String) {
        var order: [String] = []
        var values: [String: [String]] = [:]
        for (name, value) in headers {
            let key = name.lowercased()
            if values[key] == nil { order.append(key) }
            let folded = value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }).joined(separator: " ")
            values[key, default: []].append(folded)
        }
        let names = order.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        let block = names.map { "\($0):\(values[$0, default: []].joined(separator: ","))\n" }.joined()
        return (block, names.joined(separator: ";"))
    }

    /// The path with `.`/`..` segments resolved and empty segments dropped, then encoded.
    static func canonicalPath(_ path: String) -> String {
        var segments: [String] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch segment {
            case ".": continue
            case "..": if !segments.isEmpty { segments.removeLast() }
            default: segments.append(String(segment))
            }
        }
        var normalized = "/" + segments.joined(separator: "/")
        if path.hasSuffix("/"), !segments.isEmpty { normalized += "/" }
        return encode(normalized, keepSlash: true)
    }

    /// Parameters decoded, re-encoded with the unreserved set, sorted by key then value.
    static func canonicalQuery(_ query: String) -> String {
        guard !query.isEmpty else { return "" }
        let pairs: [(String, String)] = query.split(separator: "&", omittingEmptySubsequences: true).map { parameter in
            let parts = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = encode(decode(String(parts[0])), keepSlash: false)
            let value = parts.count > 1 ? encode(decode(String(parts[1])), keepSlash: false) : ""
            return (key, value)
        }
        return pairs.sorted { a, b in
            a.0 == b.0 ? Array(a.1.utf8).lexicographicallyPrecedes(Array(b.1.utf8)) : Array(a.0.utf8).lexicographicallyPrecedes(Array(b.0.utf8))
        }.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    /// RFC 3986 percent-encoding: everything but `A-Z a-z 0-9 - _ . ~` (and `/` when kept).
    package static func encode(_ text: String, keepSlash: Bool) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for byte in text.utf8 {
            let unreserved = (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
                || byte == 0x2D || byte == 0x5F || byte == 0x2E || byte == 0x7E || (keepSlash && byte == 0x2F)
            if unreserved { out.append(byte) } else { out += [0x25, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]] }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Percent-decoding (`+` stays `+`); malformed escapes are kept as they are.
    static func decode(_ text: String) -> String {
        var bytes = Array(text.utf8)
        var out: [UInt8] = []
        var index = 0
        func hexValue(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x41...0x46: return c - 0x41 + 10
            case 0x61...0x66: return c - 0x61 + 10
            default: return nil
            }
        }
        while index < bytes.count {
            if bytes[index] == 0x25, index + 2 < bytes.count, let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2]) {
                out.append(high << 4 | low)
                index += 3
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        bytes = out
        return String(decoding: bytes, as: UTF8.self)
    }
}
