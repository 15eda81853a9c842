import Foundation
import KilnTestSupport
import Testing

/// One build, every account and region: a spec with several targets (`targets:`) and `kiln copy
/// SRC DST DST…`, against real registries (two plain, one TLS with htpasswd), read back with
/// skopeo; the source registry's access log shows each base blob served once.
@Suite struct FanOutTests {
    /// A source registry holding the base, and the repository the spec writes to.
    struct Setup {
        let dir: TemporaryDirectory
        let source: RegistryServer
        let plainA: RegistryServer
        let plainB: RegistryServer
        let secure: RegistryServer
        var environment: [String: String] { ["KILN_CONFIG": dir("kiln.yaml"), "DOCKER_CONFIG": dir("docker"), "REGISTRY_AUTH_FILE": "", "KILN_CACHE_DIR": dir("cache")] }

        init() throws {
            dir = try TemporaryDirectory()
            source = try RegistryServer()
            plainA = try RegistryServer()
            plainB = try RegistryServer()
            secure = try RegistryServer(tls: true, user: ("ci", "s3cret"))
            try PeerImages.pushBase(to: source, work: dir)
            try dir.write("kiln.yaml", "registries: {}\n")
            let auth = Data("ci:s3cret".utf8).base64EncodedString()
            try dir.write("docker/config.json", #"{"auths":{"\#(secure.host)":{"auth":"\#(auth)"}}}"#)
            try dir.write("repo/overlays/app.conf", "answer = 42\n")
        }

        func spec(targets: [String]) throws {
            try dir.write("repo/images/app.yaml", """
                base: \(source.host)/base/app:1.0
                targets:
                \(targets.map { "  - \($0)" }.joined(separator: "\n"))
                tags: [latest]
                overlays:
                  - from: overlays/app.conf
                    to: /etc/app/app.conf
                """)
        }

        func kiln(_ arguments: [String]) throws -> ProcessResult {
            try KilnTestSupport.kiln(arguments + ["--root", dir("repo"), "--ca-file", secure.caFile!], extraEnvironment: environment)
        }

        /// The base's layer digests, as the source registry serves them.
        func baseLayers() throws -> [String] {
            let raw = try runChecked("skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(source.host)/base/app:1.0"]).stdout
            let manifest = try #require(try JSONSerialization.jsonObject(with: Data(raw.utf8)) as? [String: Any])
            return try #require(manifest["layers"] as? [[String: Any]]).compactMap { $0["digest"] as? String }
        }

        /// How often the source served each blob (GETs of blob bodies).
        func served(_ digest: String) -> Int {
            source.requests().filter { $0 == "GET /v2/base/app/blobs/\(digest)" }.count
        }

        /// The digest a tag holds, read by skopeo.
        func digest(at reference: String, registry: RegistryServer) throws -> String? {
            let inspect = try run("skopeo", ["inspect", "--format", "{{.Digest}}"] + registry.skopeoFlags(dest: nil) + ["docker://\(reference)"])
            return inspect.status == 0 ? inspect.stdout.trimmingCharacters(in: .whitespacesAndNewlines) : nil
        }
    }

    @Test func oneBuildToThreeRegistriesReadsEachBaseBlobOnce() throws {
        let setup = try Setup()
        let targets = ["\(setup.plainA.host)/svc/app", "\(setup.plainA.host)/mirror/app", "\(setup.plainB.host)/svc/app", "\(setup.secure.host)/svc/app"]
        try setup.spec(targets: targets)
        let lock = try setup.kiln(["lock"])
        #expect(lock.status == 0, "\(lock.stderr)")

        // The plan: one digest, one reference per target.
        let plan = try setup.kiln(["plan"])
        #expect(plan.status == 0, "\(plan.stderr)")
        let lines = plan.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 4)
        let digest = try #require(lines.first?.split(separator: "@").last.map(String.init))
        #expect(lines == targets.map { "app \($0)@\(digest)" })
        let json = try setup.kiln(["plan", "--json"])
        let image = try #require(((try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])?["images"] as? [String: Any])?["app"] as? [String: Any])
        #expect(image["repository"] as? String == targets[0])
        #expect((image["targets"] as? [[String: String]])?.map { $0["image"] ?? "" } == targets.map { "\($0)@\(digest)" })

        let layers = try setup.baseLayers()
        #expect(!layers.isEmpty)
        let before = layers.map(setup.served)
        let build = try setup.kiln(["build", "--quiet"])
        #expect(build.status == 0, "\(build.stderr)")
        let tag = "kiln.sha256." + digest.dropFirst("sha256:".count)
        #expect(build.stdout == targets.map { "app \($0)@\(digest) (built)\n" }.joined())
        // Each base blob crossed from the source once for all four targets.
        #expect(zip(layers.map(setup.served), before).map { $0 - $1 } == layers.map { _ in 1 })
        // Every target holds the image under the content tag and the extra tag.
        for (target, registry) in zip(targets, [setup.plainA, setup.plainA, setup.plainB, setup.secure]) {
            #expect(try setup.digest(at: "\(target):\(tag)", registry: registry) == digest, "\(target)")
            #expect(try setup.digest(at: "\(target):latest", registry: registry) == digest, "\(target)")
        }
        // The second repository on registry A mounted the base layer from the first.
        let mounts = setup.plainA.requests().filter { $0.hasPrefix("POST /v2/mirror/app/blobs/uploads/?") && $0.contains("from=svc") }
        #expect(mounts.count >= layers.count, "\(setup.plainA.requests())")
        #expect(!setup.plainA.requests().contains { $0.hasPrefix("PUT /v2/mirror/app/blobs/uploads/") && layers.contains(where: $0.contains) })

        // Again: nothing to do at any target; verify finds every target as planned.
        let again = try setup.kiln(["build", "--quiet"])
        #expect(again.stdout == targets.map { "app \($0)@\(digest) (up to date)\n" }.joined(), "\(again.stderr)")
        let noop = try setup.kiln(["build", "--quiet", "--json"])
        let built = try #require(((try JSONSerialization.jsonObject(with: Data(noop.stdout.utf8)) as? [String: Any])?["images"] as? [String: Any])?["app"] as? [String: Any])
        #expect(built["action"] as? String == "up to date")
        #expect((built["targets"] as? [[String: String]])?.map { "\($0["repository"] ?? "") \($0["action"] ?? "")" } == targets.map { "\($0) up to date" })
        let verify = try setup.kiln(["verify"])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        // One target lost the extra tag: only it is retagged; the matrix lists the spec.
        _ = try runChecked("skopeo", ["delete", "--tls-verify=false", "docker://\(targets[2]):latest"])
        let matrix = try setup.kiln(["plan", "--matrix"])
        #expect(matrix.stdout.contains(#""spec":"app""#), "\(matrix.stdout)\(matrix.stderr)")
    }

    /// More targets than `--jobs`: the fan-out works on two at a time (FanOutLimitTests checks
    /// the bound itself) and still pushes and tags every one, the source read once.
    @Test func manyTargetsWithASmallJobLimitAreAllPushed() throws {
        let setup = try Setup()
        let placed: [(String, RegistryServer)] = (1...3).map { ("\(setup.plainA.host)/team\($0)/app", setup.plainA) }
            + (1...3).map { ("\(setup.plainB.host)/team\($0)/app", setup.plainB) }
            + (1...2).map { ("\(setup.secure.host)/team\($0)/app", setup.secure) }
        try setup.spec(targets: placed.map(\.0))
        #expect(try setup.kiln(["lock"]).status == 0)
        let layers = try setup.baseLayers()
        let before = layers.map(setup.served)
        let build = try setup.kiln(["build", "--quiet", "--jobs", "2"])
        #expect(build.status == 0, "\(build.stderr)")
        let digest = try #require(build.stdout.split(separator: "\n").first?.split(separator: "@").last?.split(separator: " ").first.map(String.init))
        #expect(build.stdout == placed.map { "app \($0.0)@\(digest) (built)\n" }.joined())
        #expect(zip(layers.map(setup.served), before).map { $0 - $1 } == layers.map { _ in 1 })
        for (target, registry) in placed {
            #expect(try setup.digest(at: "\(target):latest", registry: registry) == digest, "\(target)")
        }
    }

    @Test func aFailingTargetLeavesTheOthersPushedAndTagged() throws {
        let setup = try Setup()
        let closed = "127.0.0.1:\(try freePort())"
        let targets = ["\(setup.plainA.host)/svc/app", "\(closed)/svc/app", "\(setup.secure.host)/svc/app"]
        try setup.spec(targets: targets)
        #expect(try setup.kiln(["lock"]).status == 0)
        let build = try setup.kiln(["build", "--quiet"])
        #expect(build.status == 1, "\(build.stdout)\(build.stderr)")
        let digest = try #require(build.stdout.split(separator: "\n").first?.split(separator: "@").last?.split(separator: " ").first.map(String.init))
        #expect(build.stdout == "app \(targets[0])@\(digest) (built)\napp \(targets[2])@\(digest) (built)\n")
        let errors = build.stderr.split(separator: "\n").filter { $0.hasPrefix("kiln: error:") }
        #expect(errors.count == 1 && errors[0].hasPrefix("kiln: error: app: \(closed)/svc/app: "), "\(build.stderr)")
        let tag = "kiln.sha256." + digest.dropFirst("sha256:".count)
        #expect(try setup.digest(at: "\(targets[0]):\(tag)", registry: setup.plainA) == digest)
        #expect(try setup.digest(at: "\(targets[2]):latest", registry: setup.secure) == digest)
    }

    /// One of three targets is an ECR repository whose tags are IMMUTABLE (moto's ECR API, a
    /// TLS registry standing in for the ECR host) and whose `latest` already holds another
    /// image: that target alone is refused and named, before any tag of it is written (not even
    /// the new content tag); the other two are pushed and tagged.
    @Test func anImmutableTagAtOneTargetLeavesTheOthersPushedAndTagged() throws {
        let setup = try Setup()
        let moto = try MotoServer()
        let ecrHost = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
        let standIn = try RegistryServer(tls: true, user: ("AWS", "123456789012-auth-token"))
        let dir = setup.dir
        let pem = try [setup.secure.caFile!, standIn.caFile!].map { try String(contentsOfFile: $0, encoding: .utf8) }.joined()
        try dir.write("ca.pem", pem)
        try dir.write("kiln.yaml", "registries:\n  \(ecrHost):\n    endpoint: https://\(standIn.host)\n")
        // The repository exists, IMMUTABLE, and its `latest` holds the base (another image).
        _ = try runChecked("python3", ["-c", """
            import boto3
            c = boto3.client("ecr", region_name="eu-west-1", endpoint_url="\(moto.url)", aws_access_key_id="x", aws_secret_access_key="y")
            c.create_repository(repositoryName="um/app", imageTagMutability="IMMUTABLE")
            """])
        _ = try runChecked("skopeo", ["copy", "--quiet", "--src-tls-verify=false"] + standIn.skopeoFlags(dest: true)
                           + ["docker://\(setup.source.host)/base/app:1.0", "docker://\(standIn.host)/um/app:latest"])
        let old = try #require(try setup.digest(at: "\(standIn.host)/um/app:latest", registry: standIn))

        let targets = ["\(setup.plainA.host)/svc/app", "\(ecrHost)/um/app", "\(setup.secure.host)/svc/app"]
        try setup.spec(targets: targets)
        let environment = setup.environment.merging([
            "HOME": dir.path, "AWS_ENDPOINT_URL": moto.url, "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret",
            "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_CONFIG_FILE": dir("aws/none"), "AWS_SHARED_CREDENTIALS_FILE": dir("aws/none"),
            "AWS_REGION": "", "AWS_DEFAULT_REGION": "", "AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_ROLE_ARN": "", "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ENDPOINT_URL_ECR": "", "AWS_ENDPOINT_URL_STS": "",
        ]) { $1 }
        func kiln(_ arguments: [String]) throws -> ProcessResult {
            try KilnTestSupport.kiln(arguments + ["--root", dir("repo"), "--ca-file", dir("ca.pem")], extraEnvironment: environment)
        }
        #expect(try kiln(["lock"]).status == 0)
        let build = try kiln(["build", "--quiet"])
        #expect(build.status == 1, "\(build.stdout)\(build.stderr)")
        let digest = try #require(build.stdout.split(separator: "\n").first?.split(separator: "@").last?.split(separator: " ").first.map(String.init))
        #expect(digest != old)
        #expect(build.stdout == "app \(targets[0])@\(digest) (built)\napp \(targets[2])@\(digest) (built)\n", "\(build.stderr)")
        let errors = build.stderr.split(separator: "\n").filter { $0.hasPrefix("kiln: error:") }
        #expect(errors == ["kiln: error: app: \(ecrHost)/um/app: \(ecrHost)/um/app:latest already holds \(old) and the repository's tags are immutable; not replacing it with \(digest) (use a new tag)"],
                "\(build.stderr)")
        #expect(!build.stderr.contains("secret"))
        // The others hold the image under both tags.
        let tag = "kiln.sha256." + digest.dropFirst("sha256:".count)
        for (target, registry) in [(targets[0], setup.plainA), (targets[2], setup.secure)] {
            #expect(try setup.digest(at: "\(target):\(tag)", registry: registry) == digest, "\(target)")
            #expect(try setup.digest(at: "\(target):latest", registry: registry) == digest, "\(target)")
        }
        // At the immutable one no tag moved or appeared: `latest` still holds the old image, the
        // content tag does not exist, and neither was PUT (the one `latest` PUT is skopeo's).
        let tagPuts = standIn.requests().filter { $0 == "PUT /v2/um/app/manifests/latest" || $0 == "PUT /v2/um/app/manifests/\(tag)" }
        #expect(tagPuts == ["PUT /v2/um/app/manifests/latest"], "\(standIn.requests())")

        // Again: the same refusal, the others up to date.
        let again = try kiln(["build", "--quiet"])
        #expect(again.status == 1)
        #expect(again.stdout == "app \(targets[0])@\(digest) (up to date)\napp \(targets[2])@\(digest) (up to date)\n", "\(again.stderr)")
        #expect(again.stderr.contains("kiln: error: app: \(ecrHost)/um/app: "), "\(again.stderr)")
        #expect(try setup.digest(at: "\(standIn.host)/um/app:\(tag)", registry: standIn) == nil)
    }

    @Test func copyToSeveralDestinationsReadsTheSourceOnce() throws {
        let setup = try Setup()
        let destinations = ["\(setup.plainA.host)/prod/app:v1", "\(setup.plainB.host)/prod/app:v1", "\(setup.secure.host)/prod/app:v1"]
        let layers = try setup.baseLayers()
        let before = layers.map(setup.served)
        let copy = try KilnTestSupport.kiln(["copy", "--quiet", "--ca-file", setup.secure.caFile!, "\(setup.source.host)/base/app:1.0"] + destinations,
                                            extraEnvironment: setup.environment)
        #expect(copy.status == 0, "\(copy.stderr)")
        let digest = try #require(try setup.digest(at: "\(setup.source.host)/base/app:1.0", registry: setup.source))
        #expect(copy.stdout == destinations.map { "\($0.dropLast(":v1".count))@\(digest)\n" }.joined())
        #expect(zip(layers.map(setup.served), before).map { $0 - $1 } == layers.map { _ in 1 })
        for (destination, registry) in zip(destinations, [setup.plainA, setup.plainB, setup.secure]) {
            #expect(try setup.digest(at: destination, registry: registry) == digest)
        }
        // A closed destination among them: named, exit 1, the others copied.
        let closed = "127.0.0.1:\(try freePort())/prod/app:v2"
        let partly = try KilnTestSupport.kiln(["copy", "--quiet", "\(setup.source.host)/base/app:1.0", "\(setup.plainA.host)/prod/app:v2", closed],
                                              extraEnvironment: setup.environment)
        #expect(partly.status == 1)
        #expect(partly.stdout == "\(setup.plainA.host)/prod/app@\(digest)\n")
        #expect(partly.stderr.contains("kiln: error: \(closed): "), "\(partly.stderr)")
        #expect(try setup.digest(at: "\(setup.plainA.host)/prod/app:v2", registry: setup.plainA) == digest)
    }

    /// `kiln copy SRC DST DST…` with one destination under two spellings (which two uploads
    /// would write at once) or more than 256: bad usage, before anything is read or written.
    @Test func copyRefusesADestinationNamedTwiceAndMoreThan256() throws {
        let dir = try TemporaryDirectory()
        try PeerImages.makeOCIBase(at: dir("base"), tag: "1.0", work: dir)
        let source = "oci:\(dir("base")):1.0"
        let port = try freePort()
        for (first, second) in [("127.0.0.1:\(port)/a:v1", "docker://127.0.0.1:\(port)/a:v1"),
                                ("localhost:\(port)/a:v1", "LOCALHOST:\(port)/a:v1"),
                                ("localhost:5/a:v1", "localhost.:05/a:v1"),
                                ("acme/a", "docker.io/acme/a:latest"),
                                ("oci:\(dir("out")):v1", "oci:\(dir.path)/./out:v1")] {
            let copy = try run(kilnExecutable, ["copy", "--quiet", source, first, second], currentDirectory: dir.path)
            #expect(copy.status == 64 && copy.stderr.hasPrefix("kiln: error: destination '\(second)' is named twice\n"), "\(first) \(second): \(copy.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir("out")))
        let many = (0...256).map { "127.0.0.1:\(port)/a\($0):v1" }
        let tooMany = try run(kilnExecutable, ["copy", "--quiet", source] + many)
        #expect(tooMany.status == 64 && tooMany.stderr.hasPrefix("kiln: error: 257 destinations; at most 256\n"), "\(tooMany.stderr)")
        // Two tags of one repository, or one repository on two ports, are two destinations.
        let two = try run(kilnExecutable, ["copy", "--quiet", source, "oci:\(dir("out")):v1", "oci:\(dir("out")):v2"], currentDirectory: dir.path)
        #expect(two.status == 0, "\(two.stderr)")
    }

    /// A profile whose role is in another account than the host's (account 222's role named
    /// for account 111's registry): kiln's ECR calls named no registry, so ECR answered for the
    /// caller's account, and a repository of that name there (moto: created in account 222)
    /// passed for the host's, and the push went on with the other account's token. Now every
    /// call names the host's account (`registryId`): the repository is missing in 111, one
    /// line, nothing sent to the registry.
    @Test func aRoleOfAnotherAccountActsOnNothingThere() throws {
        let setup = try Setup()
        let moto = try MotoServer()
        let host = "111111111111.dkr.ecr.eu-west-1.amazonaws.com"
        let standIn = try RegistryServer(tls: true, user: ("AWS", "111111111111-auth-token"))
        let dir = setup.dir
        try dir.write("aws/config", """
            [profile ci]
            aws_access_key_id = AKIDCIEXAMPLE
            aws_secret_access_key = secret
            [profile production]
            role_arn = arn:aws:iam::222222222222:role/kiln-push
            source_profile = ci

            """)
        try dir.write("kiln.yaml", "registries:\n  \(host):\n    endpoint: https://\(standIn.host)\n    aws-profile: production\n")
        // Account 222 has a repository of that name.
        _ = try runChecked("python3", ["-c", """
            import boto3
            kw = dict(endpoint_url="\(moto.url)", region_name="eu-west-1")
            c = boto3.client("sts", aws_access_key_id="x", aws_secret_access_key="y", **kw).assume_role(RoleArn="arn:aws:iam::222222222222:role/kiln-push", RoleSessionName="setup")["Credentials"]
            ecr = boto3.client("ecr", aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"], **kw)
            ecr.create_repository(repositoryName="um/app")
            assert ecr.describe_repositories()["repositories"][0]["registryId"] == "222222222222"
            """])
        let environment = setup.environment.merging([
            "HOME": dir.path, "AWS_ENDPOINT_URL": moto.url, "AWS_CONFIG_FILE": dir("aws/config"), "AWS_SHARED_CREDENTIALS_FILE": dir("aws/none"),
            "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_REGION": "", "AWS_DEFAULT_REGION": "",
            "AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_ROLE_ARN": "", "AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL_ECR": "", "AWS_ENDPOINT_URL_STS": "",
        ]) { $1 }
        let copy = try KilnTestSupport.kiln(["copy", "--quiet", "--ca-file", standIn.caFile!, "\(setup.source.host)/base/app:1.0", "\(host)/um/app:v1"], extraEnvironment: environment)
        #expect(copy.status == 1)
        #expect(copy.stderr == "kiln: error: ECR repository um/app does not exist in registry 111111111111 in region eu-west-1 (check the account and region in the host name); create it or pass --create-repository\n", "\(copy.stderr)")
        #expect(!standIn.requests().contains { $0.hasPrefix("POST") || $0.hasPrefix("PUT") }, "\(standIn.requests())")
    }

    /// Two ECR accounts in two regions and a plain registry, one build: each ECR host is
    /// reached with its own account's role (`registries.HOST.aws-profile`, profiles with
    /// `role_arn` + `source_profile`, STS AssumeRole in moto). moto hands out a registry
    /// password naming the caller's account, and each stand-in registry accepts only its own
    /// account's, so a host reached with the wrong role fails.
    @Test func twoAccountsInTwoRegionsEachWithItsRole() throws {
        let setup = try Setup()
        let moto = try MotoServer()
        let hosts = ["111111111111.dkr.ecr.eu-west-1.amazonaws.com", "222222222222.dkr.ecr.us-east-1.amazonaws.com"]
        let accounts = [try RegistryServer(tls: true, user: ("AWS", "111111111111-auth-token")),
                        try RegistryServer(tls: true, user: ("AWS", "222222222222-auth-token"))]
        let dir = setup.dir
        // One PEM with both stand-ins' CAs (and the htpasswd registry's of the setup).
        let pem = try ([setup.secure.caFile!] + accounts.map { $0.caFile! }).map { try String(contentsOfFile: $0, encoding: .utf8) }.joined()
        try dir.write("ca.pem", pem)
        try dir.write("aws/config", """
            [profile ci]
            aws_access_key_id = AKIDCIEXAMPLE
            aws_secret_access_key = secret
            [profile acceptance]
            role_arn = arn:aws:iam::111111111111:role/kiln-push
            source_profile = ci
            [profile production]
            role_arn = arn:aws:iam::222222222222:role/kiln-push
            source_profile = ci
            region = us-east-1

            """)
        let mapping = zip(hosts, zip(accounts, ["acceptance", "production"])).map { host, pair in
            "  \(host):\n    endpoint: https://\(pair.0.host)\n    aws-profile: \(pair.1)\n"
        }.joined()
        try dir.write("kiln.yaml", "registries:\n" + mapping)
        let targets = hosts.map { "\($0)/um/app" } + ["\(setup.plainA.host)/um/app"]
        try setup.spec(targets: targets)
        let environment = setup.environment.merging([
            "HOME": dir.path, "AWS_ENDPOINT_URL": moto.url, "AWS_CONFIG_FILE": dir("aws/config"), "AWS_SHARED_CREDENTIALS_FILE": dir("aws/none"),
            "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_REGION": "", "AWS_DEFAULT_REGION": "",
            "AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_ROLE_ARN": "", "AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL_ECR": "", "AWS_ENDPOINT_URL_STS": "",
        ]) { $1 }
        func kiln(_ arguments: [String]) throws -> ProcessResult {
            try KilnTestSupport.kiln(arguments + ["--root", dir("repo"), "--ca-file", dir("ca.pem")], extraEnvironment: environment)
        }
        #expect(try kiln(["lock"]).status == 0)
        let layers = try setup.baseLayers()
        let before = layers.map(setup.served)
        let build = try kiln(["build", "--quiet", "--create-repository"])
        #expect(build.status == 0, "\(build.stdout)\(build.stderr)")
        let digest = try #require(build.stdout.split(separator: "\n").first?.split(separator: "@").last?.split(separator: " ").first.map(String.init))
        #expect(build.stdout == targets.map { "app \($0)@\(digest) (built)\n" }.joined())
        #expect(zip(layers.map(setup.served), before).map { $0 - $1 } == layers.map { _ in 1 })
        let tag = "kiln.sha256." + digest.dropFirst("sha256:".count)
        for registry in accounts {
            #expect(try setup.digest(at: "\(registry.host)/um/app:\(tag)", registry: registry) == digest)
            #expect(registry.requests().contains("PUT /v2/um/app/manifests/latest"))
        }

        // A promotion to both accounts where neither repository exists (no --create-repository):
        // each refused at its preparation, each named with its own account and region.
        let promote = try KilnTestSupport.kiln(["copy", "--quiet", "--ca-file", dir("ca.pem"), "\(setup.source.host)/base/app:1.0"] + hosts.map { "\($0)/um/missing:v1" },
                                               extraEnvironment: environment)
        #expect(promote.status == 1 && promote.stdout.isEmpty, "\(promote.stdout)\(promote.stderr)")
        let refusals = promote.stderr.split(separator: "\n").filter { $0.hasPrefix("kiln: error: ") }
        #expect(refusals.count == 2, "\(promote.stderr)")
        for (host, account) in zip(hosts, ["111111111111", "222222222222"]) {
            #expect(refusals.contains { $0.hasPrefix("kiln: error: \(host)/um/missing:v1: ") && $0.contains(account) }, "\(promote.stderr)")
        }

        // Without the mapping every ECR host gets the chain's one identity (profile ci, account
        // 123456789012 in moto): both accounts' registries refuse it, the plain registry is
        // written, and each failed target is named.
        try dir.write("kiln.yaml", "registries:\n" + zip(hosts, accounts).map { "  \($0):\n    endpoint: https://\($1.host)\n" }.joined())
        try setup.spec(targets: hosts.map { "\($0)/um/other" } + ["\(setup.plainA.host)/um/other"])
        var single = environment
        single["AWS_PROFILE"] = "ci"
        let wrong = try KilnTestSupport.kiln(["build", "--quiet", "--create-repository", "--root", dir("repo"), "--ca-file", dir("ca.pem")], extraEnvironment: single)
        #expect(wrong.status == 1)
        #expect(wrong.stdout == "app \(setup.plainA.host)/um/other@\(digest) (built)\n", "\(wrong.stderr)")
        for host in hosts { #expect(wrong.stderr.contains("kiln: error: app: \(host)/um/other: "), "\(wrong.stderr)") }
    }
}
