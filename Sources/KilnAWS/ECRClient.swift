import AsyncHTTPClient
import Foundation
import KilnRegistry
import OCI
import NIOCore
import NIOFoundationCompat

/// The few ECR API calls kiln makes (JSON 1.1 over HTTPS, signed with SigV4, service `ecr`).
package struct ECRClient: Sendable {
    package let region: String
    package let endpoint: String
    /// The account whose registry the calls are about (the host's), sent as `registryId`:
    /// without it ECR answers for the caller's own account, so credentials of another account
    /// (a profile's role not meant for this host) would read, or create, a repository there.
    package let registryID: String?
    private let credentials: AWSCredentials

    /// - Parameters:
    ///   - endpoint: `AWS_ENDPOINT_URL_ECR`, else `AWS_ENDPOINT_URL`, else the region's.
    package init(region: String, endpoint: String, credentials: AWSCredentials, registryID: String? = nil) {
        self.region = region
        self.endpoint = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        self.credentials = credentials
        self.registryID = registryID
    }

    /// The registry password and how long it is valid (`GetAuthorizationToken`).
    package func authorizationToken() async throws -> (username: String, password: String, expiresAt: Date?) {
        let object = try await call("GetAuthorizationToken", body: .object([]))
        guard let data = object["authorizationData"]?.arrayValue?.first,
              let token = data["authorizationToken"]?.stringValue,
              let decoded = Data(base64Encoded: token).flatMap({ String(data: $0, encoding: .utf8) }),
              let colon = decoded.firstIndex(of: ":") else {
            throw AWSError.api(action: "GetAuthorizationToken", code: "InvalidResponse", message: "no authorizationToken")
        }
        let expiresAt = data["expiresAt"]?.doubleValue.map { Date(timeIntervalSince1970: $0) }
        return (String(decoded[..<colon]), String(decoded[decoded.index(after: colon)...]), expiresAt)
    }

    /// Creates a repository; an existing one (two jobs racing) is not an error.
    /// - Returns: whether this call created it.
    package func createRepository(_ name: String, tagMutability: TagMutability, kmsKey: String?) async throws -> Bool {
        var body: JSONValue = .object([("repositoryName", .string(name)), ("imageTagMutability", .string(tagMutability.setting.rawValue))])
        if let registryID { body["registryId"] = .string(registryID) }
        if tagMutability.setting.takesExclusions {
            body["imageTagMutabilityExclusionFilters"] = .array(tagMutability.exclusions.map { .object([("filterType", .string("WILDCARD")), ("filter", .string($0))]) })
        }
        if let kmsKey { body["encryptionConfiguration"] = .object([("encryptionType", .string("KMS")), ("kmsKey", .string(kmsKey))]) }
        do {
            _ = try await call("CreateRepository", body: body)
            return true
        } catch AWSError.api(_, let code, _) where code == "RepositoryAlreadyExistsException" {
            return false
        }
    }

    /// A repository's tag rule (`imageTagMutability` and its exclusion filters), or `nil`
    /// when it does not exist.
    package func tagMutability(of repository: String) async throws -> TagMutability? {
        do {
            var body: JSONValue = .object([("repositoryNames", .strings([repository]))])
            if let registryID { body["registryId"] = .string(registryID) }
            let object = try await call("DescribeRepositories", body: body)
            return object["repositories"]?.arrayValue?.first.map(Self.tagMutability)
        } catch AWSError.api(_, let code, _) where code == "RepositoryNotFoundException" {
            return nil
        }
    }

    /// The tag rule of a repository or creation template document. A setting kiln does not
    /// know is read as MUTABLE: the registry still enforces its own rule. Filters outside ECR's
    /// own pattern are left out (they reach messages; none can come from ECR itself).
    package static func tagMutability(_ document: JSONValue) -> TagMutability {
        let setting = document["imageTagMutability"]?.stringValue.flatMap(TagMutability.Setting.init(rawValue:)) ?? .mutable
        let filters = document["imageTagMutabilityExclusionFilters"]?.arrayValue?.compactMap { $0["filter"]?.stringValue }.filter(TagMutability.isValidExclusion) ?? []
        return TagMutability(setting, exclusions: filters)
    }

    /// The registry's repository creation templates (`DescribeRepositoryCreationTemplates`,
    /// every page, at most 20 of them).
    package func creationTemplates() async throws -> [ECRCreationTemplate] {
        var templates: [ECRCreationTemplate] = []
        var token: String?
        for _ in 0..<20 {
            var body: JSONValue = .object([])
            if let token { body["nextToken"] = .string(token) }
            let object = try await call("DescribeRepositoryCreationTemplates", body: body)
            for document in object["repositoryCreationTemplates"]?.arrayValue ?? [] {
                // ECR's pattern for a prefix: lower-case names and separators, or ROOT.
                guard let prefix = document["prefix"]?.stringValue, (1...256).contains(prefix.utf8.count),
                      prefix == "ROOT" || prefix.utf8.allSatisfy({ (97...122).contains($0) || (48...57).contains($0) || "._-/".utf8.contains($0) }) else { continue }
                templates.append(ECRCreationTemplate(prefix: prefix, appliedFor: document["appliedFor"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                                                     tagMutability: Self.tagMutability(document)))
            }
            guard let next = object["nextToken"]?.stringValue, !next.isEmpty, next != token else { break }
            token = next
        }
        return templates
    }

    /// One signed JSON 1.1 call.
    func call(_ action: String, body: JSONValue) async throws -> JSONValue {
        try credentials.checkSendable()
        let payload = body.serialized()
        guard let url = URL(string: endpoint), let host = url.host else {
            throw AWSError.unreachable(endpoint: endpoint, reason: "not a URL")
        }
        let hostHeader = url.port.map { "\(host):\($0)" } ?? host
        let target = "AmazonEC2ContainerRegistry_V20150921.\(action)"
        let request = SigV4Request(method: "POST", path: url.path.isEmpty ? "/" : url.path,
                                   headers: [("Host", hostHeader), ("Content-Type", "application/x-amz-json-1.1"), ("X-Amz-Target", target)],
                                   body: payload)
        let (headers, _) = SigV4Signer(region: region, service: "ecr").sign(request, credentials: credentials, date: Int64(Date().timeIntervalSince1970))
        var http = HTTPClientRequest(url: endpoint + "/")
        http.method = .POST
        for (name, value) in headers where name != "Host" { http.headers.add(name: name, value: value) }
        http.body = .bytes(ByteBuffer(bytes: payload))
        let (status, data) = try await sendAWSRequest(http, endpoint: endpoint)
        guard status == 200 else {
            throw AWSErrorResponse(status: status, body: data).error(action: "ecr:\(action)", credentialSource: credentials.source)
        }
        return JSONValue.object(parsing: Array(data), what: "ecr:\(action) answer") ?? .object([])
    }
}
