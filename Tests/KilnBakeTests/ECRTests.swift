import Foundation
import KilnTestSupport
import Testing

/// Pushing to an ECR host with nothing but AWS credentials: moto is the ECR API, a TLS registry
/// with htpasswd user `AWS` and moto's token password stands in for the registry, reached
/// through the endpoint override while the auth flow stays ECR's.
@Suite struct ECRTests {
    static let ecrHost = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"

    final class Fixture {
        let moto: MotoServer
        let registry: RegistryServer
        let dir: TemporaryDirectory

        init(motoEnvironment: [String: String] = [:]) throws {
            moto = try MotoServer(environment: motoEnvironment)
            // moto's GetAuthorizationToken answers base64("AWS:<account>-auth-token").
            registry = try RegistryServer(tls: true, user: ("AWS", "123456789012-auth-token"))
            dir = try TemporaryDirectory()
            try PeerImages.makeOCIBase(at: dir("base"), work: dir)
            try dir.write("overlay/kong.conf", "database = off\n")
            try dir.write("docker/config.json", #"{"auths":{}}"#)
        }

        /// An environment with no AWS settings of the machine's, pointing ECR at moto.
        func environment(_ extra: [String: String]) -> [String: String] {
            ["DOCKER_CONFIG": dir("docker"), "REGISTRY_AUTH_FILE": "", "HOME": dir.path,
             "AWS_ENDPOINT_URL_ECR": moto.url, "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "",
             "AWS_PROFILE": "", "AWS_CONFIG_FILE": "", "AWS_SHARED_CREDENTIALS_FILE": "", "AWS_REGION": "",
             "AWS_DEFAULT_REGION": "", "AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_ROLE_ARN": "", "AWS_EC2_METADATA_DISABLED": "true"]
                .merging(extra) { $1 }
        }

        func bake(tag: String, _ extra: [String: String], flags: [String] = [], repository: String = "um/gateway") throws -> ProcessResult {
            try kiln(["bake", "--base", "oci:\(dir("base")):base", "--overlay", "\(dir("overlay")):/etc/kong",
                      "--registry-endpoint", "\(ECRTests.ecrHost)=https://\(registry.host)", "--ca-file", registry.caFile!,
                      "--output", "\(ECRTests.ecrHost)/\(repository):\(tag)"] + flags, extraEnvironment: environment(extra))
        }

        /// `kiln copy SOURCE` to the ECR repository.
        func copy(_ source: String, tag: String, _ extra: [String: String], flags: [String] = [], repository: String) throws -> ProcessResult {
            try kiln(["copy", "--quiet", "--registry-endpoint", "\(ECRTests.ecrHost)=https://\(registry.host)", "--ca-file", registry.caFile!]
                     + flags + [source, "\(ECRTests.ecrHost)/\(repository):\(tag)"], extraEnvironment: environment(extra))
        }
    }

    @Test func pushesWithCredentialsFromEnvironmentProfileAndCredentialProcess() throws {
        let f = try Fixture()
        let fromEnv = try f.bake(tag: "env", ["AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret"], flags: ["--create-repository"])
        #expect(fromEnv.status == 0, "\(fromEnv.stderr)")
        #expect(fromEnv.output.hasPrefix("\(Self.ecrHost)/um/gateway@sha256:"))

        try f.dir.write("aws/credentials", "[ci]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = secret\n")
        let fromProfile = try f.bake(tag: "profile", ["AWS_SHARED_CREDENTIALS_FILE": f.dir("aws/credentials"), "AWS_PROFILE": "ci"])
        #expect(fromProfile.status == 0, "\(fromProfile.stderr)")

        try f.dir.write("aws/config", "[profile proc]\ncredential_process = printf '{\"Version\":1,\"AccessKeyId\":\"AKIDPROC\",\"SecretAccessKey\":\"s\"}'\n")
        let fromProcess = try f.bake(tag: "process", ["AWS_CONFIG_FILE": f.dir("aws/config"), "AWS_PROFILE": "proc"])
        #expect(fromProcess.status == 0, "\(fromProcess.stderr)")

        // Web identity, the GitHub Actions / GitLab OIDC path: STS (moto) trades the token.
        try f.dir.write("oidc-token", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOm9yZy9hcHAifQ.signature\n")
        let fromWebIdentity = try f.bake(tag: "oidc", ["AWS_WEB_IDENTITY_TOKEN_FILE": f.dir("oidc-token"),
                                                        "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/ci-push",
                                                        "AWS_ENDPOINT_URL_STS": f.moto.url])
        #expect(fromWebIdentity.status == 0, "\(fromWebIdentity.stderr)")
        let unreadable = try f.bake(tag: "oidc2", ["AWS_WEB_IDENTITY_TOKEN_FILE": f.dir("no-such-token"),
                                                   "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/ci-push", "AWS_ENDPOINT_URL_STS": f.moto.url])
        #expect(unreadable.status == 1)
        #expect(unreadable.stderr.contains("AWS_WEB_IDENTITY_TOKEN_FILE '\(f.dir("no-such-token"))' cannot be read"))

        // The registry saw the pushes under the ECR name's repository.
        #expect(f.registry.requests().contains("PUT /v2/um/gateway/manifests/process"))
        let inspect = try runChecked("skopeo", ["inspect", "--format", "{{.Digest}}"] + f.registry.skopeoFlags(dest: nil) + ["docker://\(f.registry.host)/um/gateway:env"]).output
        #expect(fromEnv.output.hasSuffix(inspect))
    }

    /// A `credential_process` printing what is not credentials: a key ID with CR LF (a header
    /// injection) or a session token with a newline reached the HTTP client, whose refusal was
    /// printed with the values (the session token in clear); output without end (`yes`) was read
    /// into memory until it ran out. Now one line each, the values never shown, nothing sent.
    @Test func hostileCredentialProcessOutputIsOneLineAndNeverShown() throws {
        let f = try Fixture()
        try f.dir.write("aws/config", #"""
            [profile evil]
            credential_process = printf '{"Version":1,"AccessKeyId":"AKIDEVIL\\r\\nX-Evil: 1","SecretAccessKey":"s3cr3t","SessionToken":"FQoGZXIvYXdzEXAMPLESESSION"}'
            [profile token]
            credential_process = printf '{"Version":1,"AccessKeyId":"AKIDTOKEN","SecretAccessKey":"s3cr3t","SessionToken":"FQoGZXIvYXdz\\nEXAMPLESESSION"}'
            [profile endless]
            credential_process = yes
            """#)
        for profile in ["evil", "token"] {
            let result = try f.bake(tag: profile, ["AWS_CONFIG_FILE": f.dir("aws/config"), "AWS_PROFILE": profile])
            #expect(result.status == 1)
            #expect(result.stderr == "kiln: error: the AWS credentials from credential_process of profile '\(profile)' have an access key ID or session token that is empty or holds a blank, control or non-ASCII character (not shown); check what produced them\n", "\(result.stderr)")
            #expect(!result.stderr.contains("EXAMPLESESSION") && !result.stderr.contains("X-Evil"))
        }
        let started = Date()
        let endless = try f.bake(tag: "endless", ["AWS_CONFIG_FILE": f.dir("aws/config"), "AWS_PROFILE": "endless"])
        #expect(endless.status == 1)
        // (The command's own standard error is passed through, as the AWS CLI does: `yes` may
        // say its pipe broke.)
        #expect(endless.stderr.split(separator: "\n").filter { $0.hasPrefix("kiln:") } == ["kiln: error: credential_process of AWS profile 'endless' failed: it printed more than 65536 bytes"], "\(endless.stderr)")
        #expect(Date().timeIntervalSince(started) < 30)
        #expect(!f.registry.requests().contains { $0.hasPrefix("PUT") || $0.hasPrefix("POST") })
    }

    @Test func noCredentialsFailsClearlyAndPushesNothing() throws {
        let f = try Fixture()
        let result = try f.bake(tag: "none", [:])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("kiln: error: no AWS credentials found (looked in: environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY); web identity (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN); profile 'default' in"))
        #expect(!f.registry.requests().contains { $0.hasPrefix("PUT") || $0.hasPrefix("POST") })
    }

    static let keys = ["AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret"]

    @Test func missingRepositoryNeedsTheFlagAndCreateRepositoryMakesIt() throws {
        let f = try Fixture()
        let missing = try f.bake(tag: "v1", Self.keys, repository: "um/keycloak")
        #expect(missing.status == 1)
        #expect(missing.stderr == "kiln: error: ECR repository um/keycloak does not exist in registry 123456789012 in region eu-west-1 (check the account and region in the host name); create it or pass --create-repository\n", "\(missing.stderr)")
        #expect(!f.registry.requests().contains { $0.hasPrefix("PUT") || $0.hasPrefix("POST") })

        let created = try f.bake(tag: "v1", Self.keys, flags: ["--create-repository", "--tag-mutability", "IMMUTABLE"], repository: "um/keycloak")
        #expect(created.status == 0, "\(created.stderr)")
        #expect(try f.moto.describe("um/keycloak") == "um/keycloak IMMUTABLE")
        // A second job racing with the same flag finds it there: not an error.
        let again = try f.bake(tag: "v2", Self.keys, flags: ["--create-repository"], repository: "um/keycloak")
        #expect(again.status == 0, "\(again.stderr)")
    }

    /// `kiln copy` prepares its destination as a bake does: a missing repository is refused
    /// (or made with --create-repository) and an IMMUTABLE repository's tag is never moved.
    @Test func copyToAMissingOrImmutableRepositoryBehavesAsBake() throws {
        let f = try Fixture()
        try PeerImages.makeOCIBase(at: f.dir("other"), tag: "base", architecture: "arm64", work: f.dir)
        let base = "oci:\(f.dir("base")):base"
        let missing = try f.copy(base, tag: "v1", Self.keys, repository: "um/promoted")
        #expect(missing.status == 1)
        #expect(missing.stderr == "kiln: error: ECR repository um/promoted does not exist in registry 123456789012 in region eu-west-1 (check the account and region in the host name); create it or pass --create-repository\n", "\(missing.stderr)")
        #expect(!f.registry.requests().contains { $0.hasPrefix("PUT") || $0.hasPrefix("POST") })

        let created = try f.copy(base, tag: "v1", Self.keys, flags: ["--create-repository", "--tag-mutability", "IMMUTABLE"], repository: "um/promoted")
        #expect(created.status == 0, "\(created.stderr)")
        #expect(try f.moto.describe("um/promoted") == "um/promoted IMMUTABLE")
        let puts = { f.registry.requests().filter { $0 == "PUT /v2/um/promoted/manifests/v1" }.count }
        #expect(puts() == 1)
        let same = try f.copy(base, tag: "v1", Self.keys, repository: "um/promoted")
        #expect(same.status == 0, "\(same.stderr)")
        #expect(same.output == created.output)
        #expect(puts() == 1, "an identical copy must not PUT the manifest again")

        let different = try f.copy("oci:\(f.dir("other")):base", tag: "v1", Self.keys, repository: "um/promoted")
        #expect(different.status == 1)
        let digest = created.output.split(separator: "@").last.map(String.init) ?? ""
        let errorLine = different.stderr.split(separator: "\n").last.map(String.init) ?? ""
        #expect(errorLine.hasPrefix("kiln: error: \(Self.ecrHost)/um/promoted:v1 already holds \(digest) and the repository's tags are immutable; not replacing it with sha256:"), "\(different.stderr)")
        #expect(puts() == 1)
    }

    @Test func immutableTagsAreNeverMovedAndIdenticalRePushesSkipThePut() throws {
        let f = try Fixture()
        let first = try f.bake(tag: "v1", Self.keys, flags: ["--create-repository", "--tag-mutability", "IMMUTABLE"])
        #expect(first.status == 0, "\(first.stderr)")
        let puts = { f.registry.requests().filter { $0 == "PUT /v2/um/gateway/manifests/v1" }.count }
        #expect(puts() == 1)

        let same = try f.bake(tag: "v1", Self.keys)
        #expect(same.status == 0, "\(same.stderr)")
        #expect(same.output == first.output)
        #expect(puts() == 1, "an identical re-push must not PUT the manifest again")

        try f.dir.write("overlay/kong.conf", "database = postgres\n")
        let different = try f.bake(tag: "v1", Self.keys)
        #expect(different.status == 1)
        let digest = first.output.split(separator: "@").last.map(String.init) ?? ""
        let errorLine = different.stderr.split(separator: "\n").last.map(String.init) ?? ""
        #expect(errorLine.hasPrefix("kiln: error: \(Self.ecrHost)/um/gateway:v1 already holds \(digest) and the repository's tags are immutable; not replacing it with sha256:"), "\(different.stderr)")
        #expect(puts() == 1)
        let current = try runChecked("skopeo", ["inspect", "--format", "{{.Digest}}"] + f.registry.skopeoFlags(dest: nil) + ["docker://\(f.registry.host)/um/gateway:v1"]).output
        #expect(current == digest)
    }

    @Test func pushesWithContainerAndInstanceRoleCredentials() throws {
        let f = try Fixture()
        let container = try f.bake(tag: "ecs", ["AWS_CONTAINER_CREDENTIALS_FULL_URI": f.moto.url + "/latest/meta-data/iam/security-credentials/default-role"],
                                   flags: ["--create-repository"])
        #expect(container.status == 0, "\(container.stderr)")
        let instance = try f.bake(tag: "ec2", ["AWS_EC2_METADATA_DISABLED": "", "AWS_EC2_METADATA_SERVICE_ENDPOINT": f.moto.url])
        #expect(instance.status == 0, "\(instance.stderr)")
        #expect(instance.output == container.output.replacingOccurrences(of: ":ecs", with: ":ec2"))
        #expect(f.registry.requests().contains("PUT /v2/um/gateway/manifests/ec2"))
    }

    /// moto checking signatures and IAM policies (after the set-up calls): kiln's SigV4 is
    /// accepted, and a denied action or bad keys give one line naming the action and where the
    /// credentials came from, never the secret.
    @Test func deniedActionsAndRejectedKeysAreNamed() throws {
        // Seven unauthenticated set-up calls below; every later call is checked.
        let f = try Fixture(motoEnvironment: ["INITIAL_NO_AUTH_ACTION_COUNT": "7"])
        let keys = try runChecked("python3", ["-c", """
            import boto3, json
            kw = dict(endpoint_url="\(f.moto.url)", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="y")
            boto3.client("ecr", **kw).create_repository(repositoryName="um/gateway")
            iam = boto3.client("iam", **kw)
            for user, actions in (("pusher", ["ecr:*"]), ("reader", ["ecr:DescribeRepositories"])):
                iam.create_user(UserName=user)
                key = iam.create_access_key(UserName=user)["AccessKey"]
                iam.put_user_policy(UserName=user, PolicyName="ecr", PolicyDocument=json.dumps(
                    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}))
                print(key["AccessKeyId"], key["SecretAccessKey"])
            """]).output.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        try #require(keys.count == 2 && keys.allSatisfy { $0.count == 2 })
        let (pusher, reader) = ((id: keys[0][0], secret: keys[0][1]), (id: keys[1][0], secret: keys[1][1]))

        let signed = try f.bake(tag: "signed", ["AWS_ACCESS_KEY_ID": pusher.id, "AWS_SECRET_ACCESS_KEY": pusher.secret])
        #expect(signed.status == 0, "moto must accept kiln's signatures: \(signed.stderr)")

        let denied = try f.bake(tag: "denied", ["AWS_ACCESS_KEY_ID": reader.id, "AWS_SECRET_ACCESS_KEY": reader.secret])
        #expect(denied.status == 1)
        #expect(denied.stderr == "kiln: error: AWS denied ecr:GetAuthorizationToken: User: arn:aws:iam::123456789012:user/reader is not authorized to perform: ecr:GetAuthorizationToken (check the IAM policy of these credentials)\n", "\(denied.stderr)")

        try f.dir.write("aws/credentials", "[ci]\naws_access_key_id = \(reader.id)\naws_secret_access_key = not-\(reader.secret)\n")
        let badSecret = try f.bake(tag: "bad", ["AWS_SHARED_CREDENTIALS_FILE": f.dir("aws/credentials"), "AWS_PROFILE": "ci"])
        #expect(badSecret.status == 1)
        #expect(badSecret.stderr == "kiln: error: AWS rejected the credentials from profile 'ci' for ecr:DescribeRepositories: their secret key does not match their access key\n", "\(badSecret.stderr)")
        #expect(!badSecret.stderr.contains(reader.secret))

        let unknown = try f.bake(tag: "unknown", ["AWS_ACCESS_KEY_ID": "AKIAUNKNOWN000000000", "AWS_SECRET_ACCESS_KEY": "whatever"])
        #expect(unknown.stderr == "kiln: error: AWS rejected the credentials from the environment for ecr:DescribeRepositories: AWS does not know their access key\n", "\(unknown.stderr)")
        #expect(!f.registry.requests().contains { $0.contains("/manifests/denied") || $0.contains("/manifests/bad") || $0.contains("/manifests/unknown") })
    }
}
