import Foundation
import OCI

/// An AWS API error answer, in either of its wire forms: JSON 1.1 (`{"__type": "…#Code",
/// "message": …}`, what ECR sends) or query-protocol XML (`<Error><Code>…</Code><Message>…`,
/// what STS and IAM-checking front ends send).
struct AWSErrorResponse: Equatable {
    var code: String
    var message: String

    init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    /// Reads the body of a non-200 answer; an unreadable body gives `HTTP <status>`.
    init(status: UInt, body: Data) {
        if let object = JSONValue.object(parsing: Array(body), what: "AWS error"),
           let type = object["__type"]?.stringValue ?? object["code"]?.stringValue {
            code = type.split(separator: "#").last.map(String.init) ?? type
            message = object["message"]?.stringValue ?? object["Message"]?.stringValue ?? ""
            return
        }
        let text = String(decoding: body, as: UTF8.self)
        code = AWSQueryXML.text("Code", in: text) ?? "HTTP \(status)"
        message = AWSQueryXML.text("Message", in: text) ?? ""
    }

    /// The error a CI user can act on, for `action` (like `ecr:GetAuthorizationToken`) made with
    /// credentials from `source`.
    func error(action: String, credentialSource: String) -> AWSError {
        switch code {
        case "AccessDenied", "AccessDeniedException":
            return .accessDenied(action: action, message: message)
        case "ExpiredToken", "ExpiredTokenException", "RequestExpired":
            return .expiredToken(action: action)
        case "UnrecognizedClientException", "InvalidClientTokenId":
            return .rejectedCredentials(action: action, source: credentialSource, reason: "AWS does not know their access key")
        case "SignatureDoesNotMatch":
            return .rejectedCredentials(action: action, source: credentialSource, reason: "their secret key does not match their access key")
        case "InvalidSignatureException" where message.lowercased().contains("region"):
            return .wrongRegion(action: action, message: message)
        default:
            return .api(action: action, code: code, message: message)
        }
    }
}

/// The flat XML of AWS query-protocol answers (STS, IAM-checking front ends).
enum AWSQueryXML {
    /// The text of the first `<name>…</name>` element (AWS query answers are flat enough for this).
    static func text(_ name: String, in xml: String) -> String? {
        guard let start = xml.range(of: "<\(name)>"), let end = xml.range(of: "</\(name)>", range: start.upperBound..<xml.endIndex) else { return nil }
        return String(xml[start.upperBound..<end.lowerBound])
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
    }
}
