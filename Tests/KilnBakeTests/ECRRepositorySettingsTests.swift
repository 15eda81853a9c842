import Foundation
import KilnTestSupport
import Testing

/// ECR's repository settings of 2025-26: tag mutability with exclusion filters (against moto,
/// which stores and describes them) and repository creation templates with CREATE_ON_PUSH (moto
/// 5 has no DescribeRepositoryCreationTemplates: a proxy in front of moto answers that one call
/// with ECR's documented answer and records what kiln sent; everything else is moto's).
@Suite struct ECRRepositorySettingsTests {
    typealias Fixture = ECRTests.Fixture
    static let keys = ECRTests.keys

    /// What moto says about a repository: `SETTING filter,filter`.
    private func describe(_ f: Fixture, _ repository: String) throws -> String {
        try runChecked("python3", ["-c", """
            import boto3
            c = boto3.client("ecr", region_name="eu-west-1", endpoint_url="\(f.moto.url)", aws_access_key_id="x", aws_secret_access_key="y")
            r = c.describe_repositories(repositoryNames=["\(repository)"])["repositories"][0]
            print(r["imageTagMutability"], ",".join(x["filterType"] + ":" + x["filter"] for x in r.get("imageTagMutabilityExclusionFilters", [])))
            """]).output
    }

    private func lastLine(_ text: String) -> String { text.split(separator: "\n").last.map(String.init) ?? "" }

    /// `--create-repository --tag-mutability IMMUTABLE_WITH_EXCLUSION` with filters makes the
    /// repository so (moto stores it), and the push then follows the rule per tag: a tag matching
    /// a filter moves, any other is refused once it holds another digest.
    @Test func createsWithExclusionFiltersAndFollowsThemPerTag() throws {
        let f = try Fixture()
        let flags = ["--create-repository", "--tag-mutability", "IMMUTABLE_WITH_EXCLUSION", "--tag-mutability-exclusion", "dev-*", "--tag-mutability-exclusion", "latest"]
        let v1 = try f.bake(tag: "v1", Self.keys, flags: flags)
        #expect(v1.status == 0, "\(v1.stderr)")
        #expect(try describe(f, "um/gateway") == "IMMUTABLE_WITH_EXCLUSION WILDCARD:dev-*,WILDCARD:latest")
        #expect(try f.bake(tag: "dev-7", Self.keys).status == 0)

        try f.dir.write("overlay/kong.conf", "database = postgres\n")
        let moved = try f.bake(tag: "dev-7", Self.keys)
        #expect(moved.status == 0, "a tag matching an exclusion filter is mutable: \(moved.stderr)")
        #expect(f.registry.requests().filter { $0 == "PUT /v2/um/gateway/manifests/dev-7" }.count == 2)
        let refused = try f.bake(tag: "v1", Self.keys)
        #expect(refused.status == 1)
        let digest = v1.output.split(separator: "@").last.map(String.init) ?? ""
        #expect(lastLine(refused.stderr).hasPrefix("kiln: error: \(ECRTests.ecrHost)/um/gateway:v1 already holds \(digest) and the repository's tags are immutable (IMMUTABLE_WITH_EXCLUSION; the tag matches none of its exclusion filters); not replacing it with sha256:"), "\(refused.stderr)")
        #expect(f.registry.requests().filter { $0 == "PUT /v2/um/gateway/manifests/v1" }.count == 1)
    }

    /// A repository someone else made MUTABLE_WITH_EXCLUSION (Terraform, the console): tags move,
    /// except those matching a filter, which kiln refuses to move, naming the filter.
    @Test func readsMutableWithExclusionOfAnExistingRepository() throws {
        let f = try Fixture()
        _ = try runChecked("python3", ["-c", """
            import boto3
            c = boto3.client("ecr", region_name="eu-west-1", endpoint_url="\(f.moto.url)", aws_access_key_id="x", aws_secret_access_key="y")
            c.create_repository(repositoryName="um/gateway", imageTagMutability="MUTABLE_WITH_EXCLUSION",
                                imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD", "filter": "release-*"}])
            """])
        #expect(try f.bake(tag: "release-1", Self.keys).status == 0)
        #expect(try f.bake(tag: "main", Self.keys).status == 0)
        try f.dir.write("overlay/kong.conf", "database = postgres\n")
        let moved = try f.bake(tag: "main", Self.keys)
        #expect(moved.status == 0, "\(moved.stderr)")
        let refused = try f.bake(tag: "release-1", Self.keys)
        #expect(refused.status == 1)
        #expect(lastLine(refused.stderr).contains("and the tag is immutable in this repository (MUTABLE_WITH_EXCLUSION; it matches the exclusion filter 'release-*'); not replacing it with sha256:"), "\(refused.stderr)")
        #expect(f.registry.requests().filter { $0 == "PUT /v2/um/gateway/manifests/release-1" }.count == 1)
    }

    /// The flags are checked as ECR checks them, before anything is sent.
    @Test func exclusionFlagsAreCheckedFirst() throws {
        let f = try Fixture()
        for (flags, message) in [
            (["--tag-mutability", "IMMUTABLE_WITH_EXCLUSION"], "--tag-mutability IMMUTABLE_WITH_EXCLUSION needs 1 to 5 --tag-mutability-exclusion filters (got 0)"),
            (["--tag-mutability-exclusion", "dev-*"], "--tag-mutability-exclusion needs --tag-mutability MUTABLE_WITH_EXCLUSION or IMMUTABLE_WITH_EXCLUSION"),
            (["--tag-mutability", "MUTABLE_WITH_EXCLUSION", "--tag-mutability-exclusion", "a/b"], "--tag-mutability-exclusion 'a/b': a filter is 1 to 128 of the characters 0-9 a-z A-Z . _ - and * (any run)"),
            (["--tag-mutability", "MUTABLE_WITH_EXCLUSION"] + (1...6).flatMap { ["--tag-mutability-exclusion", "t\($0)"] }, "needs 1 to 5 --tag-mutability-exclusion filters (got 6)"),
        ] {
            let result = try f.bake(tag: "v1", Self.keys, flags: ["--create-repository"] + flags)
            #expect(result.status == 64 && result.stderr.contains(message), "\(flags): \(result.stderr)")
        }
        #expect(f.registry.requests().isEmpty)
    }

    /// `--tag-mutability`, `--tag-mutability-exclusion` and `--kms-key` shape only a repository
    /// `--create-repository` creates: without it they were ignored, and an existing MUTABLE,
    /// unencrypted repository was pushed to as if the flags had been honoured. Now bad usage.
    @Test func repositorySettingsWithoutCreateRepositoryAreRefused() throws {
        let f = try Fixture()
        for (flags, message) in [
            (["--tag-mutability", "IMMUTABLE"], "kiln: error: --tag-mutability only goes with --create-repository"),
            (["--kms-key", "arn:aws:kms:eu-west-1:123456789012:key/x"], "kiln: error: --kms-key only goes with --create-repository"),
            (["--tag-mutability", "IMMUTABLE_WITH_EXCLUSION", "--tag-mutability-exclusion", "dev-*", "--kms-key", "k"],
             "kiln: error: --tag-mutability, --tag-mutability-exclusion, --kms-key only go with --create-repository"),
        ] {
            let baked = try f.bake(tag: "v1", Self.keys, flags: flags)
            #expect(baked.status == 64 && baked.stderr.hasPrefix(message + "\n"), "\(flags): \(baked.stderr)")
            let copied = try f.copy("oci:\(f.dir("base")):base", tag: "v1", Self.keys, flags: flags, repository: "um/gateway")
            #expect(copied.status == 64 && copied.stderr.hasPrefix(message + "\n"), "\(flags): \(copied.stderr)")
        }
        let built = try kiln(["build", "--tag-mutability", "IMMUTABLE", "--root", f.dir("nowhere")])
        #expect(built.status == 64 && built.stderr.hasPrefix("kiln: error: --tag-mutability only goes with --create-repository\n"), "\(built.stderr)")
        #expect(f.registry.requests().isEmpty)
    }

    /// `--kms-key ""` was sent to CreateRepository as an empty key; now it is bad usage for
    /// bake, copy and build alike, before anything is sent. `kiln build` takes `--kms-key` as
    /// bake and copy do (it creates repositories too) and moto stores the key.
    @Test func kmsKeyMustNameAKeyAndBuildTakesIt() throws {
        let f = try Fixture()
        let message = "kiln: error: --kms-key needs a KMS key ARN, key ID or alias (got ''); leave it out for AES-256\n"
        for key in ["", " "] {
            let baked = try f.bake(tag: "v1", Self.keys, flags: ["--create-repository", "--kms-key", key])
            #expect(baked.status == 64 && baked.stderr == message.replacingOccurrences(of: "''", with: "'\(key)'"), "\(baked.stderr)")
            let copied = try f.copy("oci:\(f.dir("base")):base", tag: "v1", Self.keys, flags: ["--create-repository", "--kms-key", key], repository: "um/gateway")
            #expect(copied.status == 64 && copied.stderr == message.replacingOccurrences(of: "''", with: "'\(key)'"), "\(copied.stderr)")
        }
        let controlled = try f.bake(tag: "v1", Self.keys, flags: ["--create-repository", "--kms-key", "alias/x\ny"])
        #expect(controlled.status == 64 && controlled.stderr == "kiln: error: --kms-key needs a KMS key ARN, key ID or alias (got 'alias/x?y'); leave it out for AES-256\n", "\(controlled.stderr)")
        #expect(f.registry.requests().isEmpty)

        // A project whose one spec goes to the ECR host.
        try f.dir.write("repo/overlay/kong.conf", "database = off\n")
        _ = try runChecked("cp", ["-R", f.dir("base"), f.dir("repo/base")])
        try f.dir.write("repo/images/gateway.yaml", """
            base: oci:\(f.dir("repo/base")):base
            target: \(ECRTests.ecrHost)/um/built
            overlays:
              - from: overlay/kong.conf
                to: /etc/kong/kong.conf
            """)
        func build(_ flags: [String]) throws -> ProcessResult {
            try kiln(["build", "--quiet", "--root", f.dir("repo"), "--registry-endpoint", "\(ECRTests.ecrHost)=https://\(f.registry.host)", "--ca-file", f.registry.caFile!] + flags,
                     extraEnvironment: f.environment(Self.keys))
        }
        let lock = try kiln(["lock", "--quiet", "--root", f.dir("repo")], extraEnvironment: f.environment(Self.keys))
        #expect(lock.status == 0, "\(lock.stderr)")
        let empty = try build(["--create-repository", "--kms-key", ""])
        #expect(empty.status == 64 && empty.stderr == message, "\(empty.stderr)")
        let alone = try build(["--kms-key", "alias/kiln"])
        #expect(alone.status == 64 && alone.stderr.hasPrefix("kiln: error: --kms-key only goes with --create-repository\n"), "\(alone.stderr)")
        #expect(f.registry.requests().isEmpty)
        let key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        let built = try build(["--create-repository", "--tag-mutability", "IMMUTABLE", "--kms-key", key])
        #expect(built.status == 0, "\(built.stderr)")
        let encryption = try runChecked("python3", ["-c", """
            import boto3
            c = boto3.client("ecr", region_name="eu-west-1", endpoint_url="\(f.moto.url)", aws_access_key_id="x", aws_secret_access_key="y")
            r = c.describe_repositories(repositoryNames=["um/built"])["repositories"][0]
            print(r["imageTagMutability"], r["encryptionConfiguration"]["encryptionType"], r["encryptionConfiguration"].get("kmsKey"))
            """]).output
        #expect(encryption == "IMMUTABLE KMS \(key)")
    }

    /// A missing repository that a creation template with CREATE_ON_PUSH applies to is pushed to
    /// with a note (ECR creates it); the template's tag rule is the repository's. kiln asks with
    /// a signed JSON 1.1 DescribeRepositoryCreationTemplates and follows `nextToken`.
    @Test func createOnPushTemplatesLetAMissingRepositoryBePushedTo() throws {
        let f = try Fixture()
        let proxy = try ECRTemplatesProxy(moto: f.moto, directory: f.dir)
        let through = ["AWS_ENDPOINT_URL_ECR": proxy.url].merging(Self.keys) { $1 }
        try proxy.setPages("""
            [{"registryId": "123456789012", "nextToken": "1", "repositoryCreationTemplates": [
               {"prefix": "ROOT", "appliedFor": ["PULL_THROUGH_CACHE"], "imageTagMutability": "MUTABLE"}]},
             {"registryId": "123456789012", "repositoryCreationTemplates": [
               {"prefix": "um", "appliedFor": ["REPLICATION", "CREATE_ON_PUSH"], "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
                "imageTagMutabilityExclusionFilters": [{"filterType": "WILDCARD", "filter": "latest"}],
                "createdAt": 1.7e9, "updatedAt": 1.7e9}]}]
            """)
        let pushed = try f.bake(tag: "v1", through, repository: "um/new-service")
        #expect(pushed.status == 0, "\(pushed.stderr)")
        #expect(pushed.stderr.contains("ECR repository um/new-service does not exist yet; ECR creates it on this push from the repository creation template 'um' (CREATE_ON_PUSH, tags IMMUTABLE_WITH_EXCLUSION (excluding latest))"), "\(pushed.stderr)")
        #expect(f.registry.requests().contains("PUT /v2/um/new-service/manifests/v1"))
        let requests = try proxy.requests()
        #expect(requests == [
            #"{"target": "AmazonEC2ContainerRegistry_V20150921.DescribeRepositoryCreationTemplates", "signed": true, "contentType": "application/x-amz-json-1.1", "body": {}}"#,
            #"{"target": "AmazonEC2ContainerRegistry_V20150921.DescribeRepositoryCreationTemplates", "signed": true, "contentType": "application/x-amz-json-1.1", "body": {"nextToken": "1"}}"#,
        ])
    }

    /// No template, one for another prefix (ROOT not among them), one without CREATE_ON_PUSH, or
    /// credentials that may not read templates: the missing repository is refused as before,
    /// and nothing is pushed.
    @Test func withoutAnApplyingCreateOnPushTemplateAMissingRepositoryIsRefused() throws {
        let f = try Fixture()
        let proxy = try ECRTemplatesProxy(moto: f.moto, directory: f.dir)
        let through = ["AWS_ENDPOINT_URL_ECR": proxy.url].merging(Self.keys) { $1 }
        let missing = "kiln: error: ECR repository um/new-service does not exist in registry 123456789012 in region eu-west-1 (check the account and region in the host name); create it or pass --create-repository\n"
        for pages in [
            #"[{"repositoryCreationTemplates": []}]"#,
            #"[{"repositoryCreationTemplates": [{"prefix": "other", "appliedFor": ["CREATE_ON_PUSH"]}, {"prefix": "um/new", "appliedFor": ["CREATE_ON_PUSH"]}]}]"#,
            #"[{"repositoryCreationTemplates": [{"prefix": "um", "appliedFor": ["REPLICATION"]}, {"prefix": "ROOT", "appliedFor": ["CREATE_ON_PUSH"]}]}]"#,
            #"{"status": 400, "error": {"__type": "AccessDeniedException", "message": "not authorized to perform: ecr:DescribeRepositoryCreationTemplates"}}"#,
        ] {
            try proxy.setPages(pages)
            let result = try f.bake(tag: "v1", through, repository: "um/new-service")
            #expect(result.status == 1 && result.stderr == missing, "\(pages): \(result.stderr)")
        }
        // ROOT applies to what no other template claims.
        try proxy.setPages(#"[{"repositoryCreationTemplates": [{"prefix": "other", "appliedFor": ["REPLICATION"]}, {"prefix": "ROOT", "appliedFor": ["CREATE_ON_PUSH"]}]}]"#)
        let root = try f.bake(tag: "v1", through, repository: "um/new-service")
        #expect(root.status == 0 && root.stderr.contains("from the repository creation template 'ROOT'"), "\(root.stderr)")
        #expect(f.registry.requests().filter { $0.hasPrefix("PUT /v2/um/new-service/manifests/") }.count == 1)
    }
}
