import Foundation
@testable import KilnAWS
import KilnTestSupport
import Testing

/// The chain's last two sources against moto's server mode, which serves the role-credentials
/// document both the ECS agent and EC2 instance metadata (IMDSv2, token first) hand out.
@Suite struct ContainerAndInstanceCredentialsTests {
    static let roleURL = "/latest/meta-data/iam/security-credentials/default-role"
    /// moto's fixed instance-role credentials.
    static let motoRole = AWSCredentials(accessKeyID: "test-key", secretAccessKey: "test-secret-key", sessionToken: "test-session-token")

    /// Nothing of the machine's own AWS settings; a home without `.aws`.
    static func isolated(_ dir: TemporaryDirectory, _ extra: [String: String]) -> [String: String] {
        ["HOME": dir.path].merging(extra) { $1 }
    }

    /// `source_profile` loops (a -> b -> a, a profile naming itself without keys) are one line
    /// naming the loop, found before any STS call (`AWS_ENDPOINT_URL` leads nowhere); a profile
    /// naming itself with keys takes them; a chain deeper than 4 is named with its path.
    @Test func sourceProfileLoopsAndChainsAreNamed() async throws {
        let dir = try TemporaryDirectory()
        try dir.write("config", """
            [profile a]
            role_arn = arn:aws:iam::111111111111:role/a
            source_profile = b
            [profile b]
            role_arn = arn:aws:iam::111111111111:role/b
            source_profile = a
            [profile self]
            role_arn = arn:aws:iam::111111111111:role/s
            source_profile = self
            [profile p1]
            role_arn = arn:aws:iam::111111111111:role/1
            source_profile = p2
            [profile p2]
            role_arn = arn:aws:iam::111111111111:role/2
            source_profile = p3
            [profile p3]
            role_arn = arn:aws:iam::111111111111:role/3
            source_profile = p4
            [profile p4]
            role_arn = arn:aws:iam::111111111111:role/4
            source_profile = p5
            [profile p5]
            role_arn = arn:aws:iam::111111111111:role/5
            source_profile = p6
            [profile p6]
            aws_access_key_id = AKID
            aws_secret_access_key = s

            """)
        let environment = Self.isolated(dir, ["AWS_CONFIG_FILE": dir("config"), "AWS_SHARED_CREDENTIALS_FILE": dir("none"), "AWS_ENDPOINT_URL": "http://127.0.0.1:\(try freePort())"])
        for (profile, message) in [("a", "AWS profile 'a': its source_profile chain loops without credentials (a -> b -> a)"),
                                   ("self", "AWS profile 'self': its source_profile chain loops without credentials (self -> self -> self)"),
                                   ("p1", "AWS profile 'p1': source_profile goes more than 4 profiles deep (p1 -> p2 -> p3 -> p4 -> p5 -> p6)")] {
            do {
                _ = try await AWSCredentialChain(environment: environment, profile: profile).resolve()
                Issue.record("\(profile) resolved")
            } catch {
                #expect("\(error)" == message)
            }
        }
    }

    @Test func containerCredentialsWithTheirAuthorizationToken() async throws {
        let moto = try MotoServer()
        let dir = try TemporaryDirectory()
        // The proxy records the Authorization header each request carried.
        let proxy = try FaultProxy(upstreamHost: "127.0.0.1:\(moto.port)", faults: ["--record-auth", dir("seen"), "--record-header", "Authorization"])
        try dir.write("token", "ecs-agent-token\n")
        let credentials = try await AWSCredentialChain(environment: Self.isolated(dir, [
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": proxy.url + Self.roleURL,
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": dir("token"),
            "AWS_CONTAINER_AUTHORIZATION_TOKEN": "loses-to-the-file",
        ])).resolve()
        #expect(credentials == Self.motoRole)
        #expect(credentials.source == "ECS container credentials")
        #expect(try String(contentsOfFile: dir("seen"), encoding: .utf8) == "ecs-agent-token\n")

        // The environment's keys come first; the profile files before the container.
        try dir.write("credentials", "[default]\naws_access_key_id = FROMFILE\naws_secret_access_key = s\n")
        let fromFile = try await AWSCredentialChain(environment: Self.isolated(dir, [
            "AWS_SHARED_CREDENTIALS_FILE": dir("credentials"), "AWS_CONTAINER_CREDENTIALS_FULL_URI": proxy.url + Self.roleURL,
        ])).resolve()
        #expect(fromFile.accessKeyID == "FROMFILE")
        #expect(fromFile.source == "profile 'default'")
    }

    @Test func containerEndpointsThatMustNotBeUsed() async throws {
        let dir = try TemporaryDirectory()
        await #expect(throws: AWSError.containerCredentials(endpoint: "http://10.0.0.8/creds", reason: "plain HTTP is only allowed to loopback or the ECS/EKS agent addresses")) {
            try await AWSCredentialChain(environment: Self.isolated(dir, ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://10.0.0.8/creds"])).resolve()
        }
        await #expect(throws: AWSError.containerCredentials(endpoint: "http://127.0.0.1:9/creds", reason: "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE '\(dir("none"))' cannot be read")) {
            try await AWSCredentialChain(environment: Self.isolated(dir, ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:9/creds",
                                                                         "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": dir("none")])).resolve()
        }
        #expect(ContainerCredentials.allowsPlainHTTP("169.254.170.2"))
        #expect(ContainerCredentials.allowsPlainHTTP("[fd00:ec2::23]"))
        #expect(!ContainerCredentials.allowsPlainHTTP("169.254.169.254"))
        #expect(try ContainerCredentials(environment: ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/abc"])?.url == "http://169.254.170.2/v2/credentials/abc")

        // A set container endpoint that fails is an error, not a silent fall-through.
        let moto = try MotoServer()
        do {
            _ = try await AWSCredentialChain(environment: Self.isolated(dir, ["AWS_CONTAINER_CREDENTIALS_FULL_URI": moto.url + "/latest/meta-data/iam/security-credentials/no-such-role",
                                                                             "AWS_EC2_METADATA_SERVICE_ENDPOINT": moto.url])).resolve()
            Issue.record("expected an error")
        } catch let error as AWSError {
            #expect("\(error)".hasPrefix("ECS container credentials from \(moto.url)/latest/meta-data/iam/security-credentials/no-such-role failed:"), "\(error)")
        }
    }

    @Test func instanceMetadataIsLastAndCanBeDisabled() async throws {
        let moto = try MotoServer()
        let dir = try TemporaryDirectory()
        let credentials = try await AWSCredentialChain(environment: Self.isolated(dir, ["AWS_EC2_METADATA_SERVICE_ENDPOINT": moto.url])).resolve()
        #expect(credentials == Self.motoRole)
        #expect(credentials.source == "EC2 instance role 'default-role'")

        do {
            _ = try await AWSCredentialChain(environment: Self.isolated(dir, ["AWS_EC2_METADATA_SERVICE_ENDPOINT": moto.url, "AWS_EC2_METADATA_DISABLED": "true"])).resolve()
            Issue.record("expected no credentials")
        } catch let error as AWSError {
            #expect("\(error)".hasSuffix("ECS container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, AWS_CONTAINER_CREDENTIALS_FULL_URI); EC2 instance metadata (disabled by AWS_EC2_METADATA_DISABLED))"), "\(error)")
        }

        // Nobody listening: no credentials, quickly, naming the endpoint it tried.
        let closed = "http://127.0.0.1:\(try freePort())"
        let start = Date()
        do {
            _ = try await AWSCredentialChain(environment: Self.isolated(dir, ["AWS_EC2_METADATA_SERVICE_ENDPOINT": closed])).resolve()
            Issue.record("expected no credentials")
        } catch let error as AWSError {
            #expect("\(error)".hasSuffix("EC2 instance metadata at \(closed))"), "\(error)")
        }
        // Not a speed test: a refused connection fails at once, but on a loaded 2-core machine
        // the suite's other tests (blocking on child processes) hold the cooperative threads,
        // and this has taken 9.9 s, 23 s and 31 s here. The bound catches a client that waits
        // out the AWS clients' default 30-second timeout and then retries (the metadata service
        // gets 1 s and no retry); a single waited-out timeout on a quiet machine shows as the
        // 30 s mark this test used to have, which load made flaky.
        #expect(Date().timeIntervalSince(start) < 60)
    }
}

/// AWS error answers in both wire forms become errors a CI user can act on.
@Suite struct AWSErrorResponseTests {
    @Test func jsonAndXMLBodies() {
        let json = AWSErrorResponse(status: 400, body: Data(#"{"__type":"com.amazon.coral.service#ExpiredTokenException","message":"The security token included in the request is expired"}"#.utf8))
        #expect(json == AWSErrorResponse(code: "ExpiredTokenException", message: "The security token included in the request is expired"))
        #expect(json.error(action: "ecr:GetAuthorizationToken", credentialSource: "the environment") == .expiredToken(action: "ecr:GetAuthorizationToken"))

        let xml = AWSErrorResponse(status: 403, body: Data("<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized &amp; sorry</Message></Error></ErrorResponse>".utf8))
        #expect(xml == AWSErrorResponse(code: "AccessDenied", message: "not authorized & sorry"))
        #expect(xml.error(action: "sts:AssumeRoleWithWebIdentity", credentialSource: "x") == .accessDenied(action: "sts:AssumeRoleWithWebIdentity", message: "not authorized & sorry"))

        let region = AWSErrorResponse(code: "InvalidSignatureException", message: "Credential should be scoped to a valid region.")
        #expect("\(region.error(action: "ecr:DescribeRepositories", credentialSource: "x"))" == "AWS ecr:DescribeRepositories was sent to the wrong region: Credential should be scoped to a valid region. (check the region in the ECR host name and AWS_ENDPOINT_URL_ECR)")
        #expect(AWSErrorResponse(status: 502, body: Data("<html>bad gateway</html>".utf8)) == AWSErrorResponse(code: "HTTP 502", message: ""))
    }
}
