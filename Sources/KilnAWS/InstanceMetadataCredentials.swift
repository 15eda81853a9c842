import AsyncHTTPClient
import Foundation
import NIOCore

/// EC2 instance metadata, IMDSv2 only (a session token first; IMDSv1's unauthenticated GETs
/// are what SSRF attacks use). Last in the chain, with one-second deadlines, so a machine that
/// is not on EC2 loses at most about a second; `AWS_EC2_METADATA_DISABLED=true` skips it.
struct InstanceMetadataCredentials {
    let endpoint: String

    /// - Returns: `nil` when instance metadata is disabled.
    init?(environment: [String: String]) {
        if environment["AWS_EC2_METADATA_DISABLED"]?.lowercased() == "true" { return nil }
        if let configured = environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"], !configured.isEmpty {
            endpoint = configured.hasSuffix("/") ? String(configured.dropLast()) : configured
        } else if environment["AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"]?.lowercased() == "ipv6" {
            endpoint = "http://[fd00:ec2::254]"
        } else {
            endpoint = "http://169.254.169.254"
        }
    }

    /// - Returns: the instance role's credentials, or `nil` when there is no instance metadata
    ///   service or no role attached.
    func fetch() async throws -> AWSCredentials? {
        var tokenRequest = HTTPClientRequest(url: endpoint + "/latest/api/token")
        tokenRequest.method = .PUT
        tokenRequest.headers.add(name: "X-aws-ec2-metadata-token-ttl-seconds", value: "300")
        guard let tokenBytes = try? await get(tokenRequest), !tokenBytes.isEmpty else { return nil }
        let token = String(decoding: tokenBytes, as: UTF8.self)
        var rolesRequest = HTTPClientRequest(url: endpoint + "/latest/meta-data/iam/security-credentials/")
        rolesRequest.headers.add(name: "X-aws-ec2-metadata-token", value: token)
        guard let roles = try? await get(rolesRequest),
              let role = String(decoding: roles, as: UTF8.self).split(whereSeparator: \.isNewline).first.map(String.init),
              !role.isEmpty else { return nil }
        var roleRequest = HTTPClientRequest(url: endpoint + "/latest/meta-data/iam/security-credentials/" + role)
        roleRequest.headers.add(name: "X-aws-ec2-metadata-token", value: token)
        let document = try await get(roleRequest)
        guard let credentials = RoleCredentialsDocument.parse(document, source: "EC2 instance role '\(role)'") else {
            throw AWSError.api(action: "EC2 instance metadata", code: "InvalidResponse", message: "the credentials of role '\(role)' are not readable")
        }
        return credentials
    }

    private func get(_ request: HTTPClientRequest) async throws -> Data {
        let (status, body) = try await sendAWSRequest(request, endpoint: endpoint, timeout: .seconds(1))
        guard status == 200 else {
            throw AWSError.api(action: "EC2 instance metadata", code: "HTTP \(status)", message: "")
        }
        return body
    }
}
