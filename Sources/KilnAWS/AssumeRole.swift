import AsyncHTTPClient
import Foundation
import NIOCore

/// `sts:AssumeRole` for a profile with `role_arn` and `source_profile` (one role per account,
/// the usual way to push to several accounts): the source profile's credentials sign the call,
/// and the role's temporary credentials are what the profile stands for.
struct AssumeRole {
    let roleARN: String
    let sessionName: String
    let externalID: String?
    let region: String
    let endpoint: String
    /// The profile, for messages.
    let profile: String

    init(profile: String, settings: [String: String], environment: [String: String], region: String?) {
        self.profile = profile
        roleARN = settings["role_arn"] ?? ""
        sessionName = settings["role_session_name"] ?? environment["AWS_ROLE_SESSION_NAME"].flatMap { $0.isEmpty ? nil : $0 } ?? "kiln-\(Int(Date().timeIntervalSince1970))"
        externalID = settings["external_id"]
        // The global endpoint signs as us-east-1; a region's endpoint as that region.
        self.region = region ?? "us-east-1"
        endpoint = environment["AWS_ENDPOINT_URL_STS"].flatMap { $0.isEmpty ? nil : $0 }
            ?? environment["AWS_ENDPOINT_URL"].flatMap { $0.isEmpty ? nil : $0 }
            ?? region.map { "https://sts.\($0).amazonaws.com" } ?? "https://sts.amazonaws.com"
    }

    func assume(with source: AWSCredentials) async throws -> AWSCredentials {
        try source.checkSendable()
        var parameters = [("Action", "AssumeRole"), ("Version", "2011-06-15"), ("RoleArn", roleARN), ("RoleSessionName", sessionName)]
        if let externalID { parameters.append(("ExternalId", externalID)) }
        let form = Array(parameters.map { "\($0.0)=\(SigV4Signer.encode($0.1, keepSlash: false))" }.joined(separator: "&").utf8)
        guard let url = URL(string: endpoint), let host = url.host else {
            throw AWSError.unreachable(endpoint: endpoint, reason: "not a URL")
        }
        let hostHeader = url.port.map { "\(host):\($0)" } ?? host
        let request = SigV4Request(method: "POST", path: url.path.isEmpty ? "/" : url.path,
                                   headers: [("Host", hostHeader), ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")], body: form)
        let (headers, _) = SigV4Signer(region: region, service: "sts").sign(request, credentials: source, date: Int64(Date().timeIntervalSince1970))
        var http = HTTPClientRequest(url: endpoint.hasSuffix("/") ? endpoint : endpoint + "/")
        http.method = .POST
        for (name, value) in headers where name != "Host" { http.headers.add(name: name, value: value) }
        http.body = .bytes(ByteBuffer(bytes: form))
        let (status, body) = try await sendAWSRequest(http, endpoint: endpoint)
        let text = String(decoding: body, as: UTF8.self)
        guard status == 200 else {
            throw AWSErrorResponse(status: status, body: body).error(action: "sts:AssumeRole on \(roleARN)", credentialSource: source.source)
        }
        guard let key = AWSQueryXML.text("AccessKeyId", in: text), let secret = AWSQueryXML.text("SecretAccessKey", in: text) else {
            throw AWSError.api(action: "sts:AssumeRole", code: "InvalidResponse", message: "no credentials in the answer")
        }
        return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: AWSQueryXML.text("SessionToken", in: text),
                              source: "profile '\(profile)' (role \(roleARN))")
    }
}
