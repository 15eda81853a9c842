import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat

/// `AssumeRoleWithWebIdentity`: trades an OIDC token (GitHub Actions, GitLab CI) in
/// `AWS_WEB_IDENTITY_TOKEN_FILE` for credentials of `AWS_ROLE_ARN`. The call is unsigned.
struct WebIdentity {
    let tokenFile: String
    let roleARN: String
    let sessionName: String
    let endpoint: String

    init(tokenFile: String, roleARN: String, environment: [String: String], region: String?) {
        self.tokenFile = tokenFile
        self.roleARN = roleARN
        sessionName = environment["AWS_ROLE_SESSION_NAME"].flatMap { $0.isEmpty ? nil : $0 } ?? "kiln-\(Int(Date().timeIntervalSince1970))"
        endpoint = environment["AWS_ENDPOINT_URL_STS"].flatMap { $0.isEmpty ? nil : $0 }
            ?? environment["AWS_ENDPOINT_URL"].flatMap { $0.isEmpty ? nil : $0 }
            ?? region.map { "https://sts.\($0).amazonaws.com" } ?? "https://sts.amazonaws.com"
    }

    func assumeRole() async throws -> AWSCredentials {
        guard let token = try? String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), !token.isEmpty else {
            throw AWSError.invalidProfile(profile: "web identity", reason: "AWS_WEB_IDENTITY_TOKEN_FILE '\(tokenFile)' cannot be read or is empty")
        }
        let form = [("Action", "AssumeRoleWithWebIdentity"), ("Version", "2011-06-15"), ("RoleArn", roleARN),
                    ("RoleSessionName", sessionName), ("WebIdentityToken", token)]
            .map { "\($0.0)=\(SigV4Signer.encode($0.1, keepSlash: false))" }.joined(separator: "&")
        var request = HTTPClientRequest(url: endpoint.hasSuffix("/") ? endpoint : endpoint + "/")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded; charset=utf-8")
        request.body = .bytes(ByteBuffer(string: form))
        let (status, body) = try await sendAWSRequest(request, endpoint: endpoint)
        let text = String(decoding: body, as: UTF8.self)
        guard status == 200 else {
            throw AWSErrorResponse(status: status, body: body).error(action: "sts:AssumeRoleWithWebIdentity on \(roleARN)", credentialSource: "web identity token \(tokenFile)")
        }
        guard let key = AWSQueryXML.text("AccessKeyId", in: text), let secret = AWSQueryXML.text("SecretAccessKey", in: text) else {
            throw AWSError.api(action: "sts:AssumeRoleWithWebIdentity", code: "InvalidResponse", message: "no credentials in the answer")
        }
        return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: AWSQueryXML.text("SessionToken", in: text),
                              source: "web identity (\(roleARN))")
    }
}
