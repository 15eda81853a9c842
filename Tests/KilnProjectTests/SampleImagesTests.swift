import Foundation
import KilnTestSupport
import Testing

/// The repository's own images/ specs, as a team's CI runs them: look-alike bases (umoci, pushed
/// with skopeo) under the real names, reached through the endpoint override; the ECR target
/// routed to a local registry while moto answers the ECR API.
@Suite struct SampleImagesTests {
    static let ecrHost = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"

    final class Fixture {
        let dir: TemporaryDirectory
        let registry: RegistryServer
        let moto: MotoServer

        init() throws {
            dir = try TemporaryDirectory()
            registry = try RegistryServer()
            moto = try MotoServer()
            for (repository, architecture) in [("library/kong:2.6.0-alpine", "amd64"), ("keycloak/keycloak:21.1", "arm64"),
                                               ("vngrci/werkzoekendenprofielen-bron:latest", "amd64")] {
                let layout = dir("bases/\(architecture)-\(repository.split(separator: "/")[0])")
                try PeerImages.makeOCIBase(at: layout, tag: "base", architecture: architecture, work: dir)
                try registry.push(layout: "\(layout):base", to: repository)
            }
            let endpoint = "    endpoint: http://\(registry.host)\n"
            try dir.write("kiln.yaml", "registries:\n  docker.io:\n\(endpoint)  quay.io:\n\(endpoint)  \(SampleImagesTests.ecrHost):\n\(endpoint)")
            try dir.write("docker/config.json", #"{"auths":{}}"#)
        }

        var environment: [String: String] {
            ["KILN_CONFIG": dir("kiln.yaml"), "DOCKER_CONFIG": dir("docker"), "REGISTRY_AUTH_FILE": "", "HOME": dir.path,
             "AWS_ENDPOINT_URL_ECR": moto.url, "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret",
             "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_EC2_METADATA_DISABLED": "true"]
        }

        func kiln(_ arguments: [String]) throws -> ProcessResult {
            try KilnTestSupport.kiln(arguments + ["--root", repositoryRoot, "--lock", dir("kiln.lock")], extraEnvironment: environment)
        }

        func plans() throws -> [String: [String: String]] {
            let plan = try kiln(["plan", "--json"])
            guard plan.status == 0, let object = try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any],
                  let images = object["images"] as? [String: [String: String]] else { throw TestFailure("plan failed: \(plan.stderr)") }
            return images
        }
    }

    @Test func lockPlanBuildVerifyAndANoOpRebuild() throws {
        let f = try Fixture()
        let lock = try f.kiln(["lock"])
        #expect(lock.status == 0, "\(lock.stderr)")
        let lines = lock.output.split(separator: "\n")
        #expect(lines.count == 3)
        for (line, pinned) in zip(lines, ["gateway: added docker.io/library/kong:2.6.0-alpine@sha256:", "keycloak: added quay.io/keycloak/keycloak:21.1@sha256:",
                                          "profielen-bron: added docker.io/vngrci/werkzoekendenprofielen-bron:latest@sha256:"]) {
            #expect(line.hasPrefix(pinned), "\(line)")
        }
        let plans = try f.plans()
        #expect(plans.keys.sorted() == ["gateway", "keycloak", "profielen-bron"])
        #expect(plans["gateway"]?["repository"] == "\(Self.ecrHost)/um/gateway")

        let build = try f.kiln(["build", "--create-repository", "--json", "--quiet"])
        #expect(build.status == 0, "\(build.stderr)")
        let built = try #require((try JSONSerialization.jsonObject(with: Data(build.stdout.utf8)) as? [String: Any])?["images"] as? [String: [String: String]])
        for (name, plan) in plans {
            // What build pushed is what plan printed.
            #expect(built[name]?["digest"] == plan["digest"], "\(name)")
            #expect(built[name]?["action"] == "built")
            let repository = plan["repository"]!.replacingOccurrences(of: Self.ecrHost, with: f.registry.host)
            let pushed = try runChecked("skopeo", ["inspect", "--format", "{{.Digest}}"] + f.registry.skopeoFlags(dest: nil) + ["docker://\(repository):\(plan["tag"]!)"]).output
            #expect(pushed == plan["digest"], "\(name)")
        }
        let latest = try runChecked("skopeo", ["inspect", "--format", "{{.Digest}}"] + f.registry.skopeoFlags(dest: nil) + ["docker://\(f.registry.host)/um/gateway:latest"]).output
        #expect(latest == plans["gateway"]?["digest"])

        // Again: nothing to do, and it takes only a few requests per image, none of them a write.
        let before = f.registry.requests().count
        let again = try f.kiln(["build"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.output.split(separator: "\n").allSatisfy { $0.hasSuffix("(up to date)") }, "\(again.output)")
        let requests = f.registry.requests().dropFirst(before)
        #expect(!requests.contains { !$0.hasPrefix("HEAD") && !$0.hasPrefix("GET /v2/ ") && $0 != "GET /v2/" }, "\(requests)")
        // One store for the run: one probe of the registry in all, then one HEAD per tag, and
        // one per image for its provenance artifact.
        #expect(requests.filter { $0.hasPrefix("GET /v2/") }.count == 1, "\(requests)")
        #expect(requests.filter { $0.hasPrefix("HEAD") }.count <= 3 * plans.count, "\(requests)")
        #expect(requests.filter { $0.hasPrefix("HEAD") && !$0.contains("/manifests/kiln.sha256.") && !$0.contains("/manifests/latest") }.count == plans.count, "\(requests)")

        let verify = try f.kiln(["verify"])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        #expect(verify.output.split(separator: "\n").count == 3 && verify.output.split(separator: "\n").allSatisfy { $0.hasSuffix(" verified") })

        // AWS CDK at synth: the Python app asks kiln plan and pins the task to the content tag.
        try runChecked("python3", ["-c", "import aws_cdk"])
        let synth = try run("python3", ["\(repositoryRoot)/examples/cdk/app.py"], environment: ProcessInfo.processInfo.environment.merging(f.environment) { $1 }.merging([
            "KILN": kilnExecutable, "KILN_ROOT": repositoryRoot, "KILN_LOCK": f.dir("kiln.lock"), "CDK_OUTDIR": f.dir("cdk.out"),
            "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
        ]) { $1 })
        #expect(synth.status == 0, "\(synth.stderr)")
        let template = try String(contentsOfFile: f.dir("cdk.out/UmGateway.template.json"), encoding: .utf8)
        let gateway = try #require(plans["gateway"])
        #expect(template.contains("/um/gateway:\(gateway["tag"]!)"), "the task definition must name kiln's content tag")
        #expect(template.contains(gateway["image"]!), "the output must be kiln's digest reference")
    }

    @Test func copyPromotesTheSameDigest() throws {
        let f = try Fixture()
        #expect(try f.kiln(["lock"]).status == 0)
        let build = try f.kiln(["build", "--create-repository", "--quiet", "--json"])
        #expect(build.status == 0, "\(build.stderr)")
        let gateway = try #require(try f.plans()["gateway"])

        // QA to prod within one registry: blobs are mounted, not uploaded.
        let before = f.registry.requests().count
        let copied = try KilnTestSupport.kiln(["copy", "--quiet", "--create-repository", "\(gateway["repository"]!):\(gateway["tag"]!)", "\(Self.ecrHost)/um/gateway-prod:1.4.0"], extraEnvironment: f.environment)
        #expect(copied.status == 0, "\(copied.stderr)")
        #expect(copied.output == "\(Self.ecrHost)/um/gateway-prod@\(gateway["digest"]!)")
        let requests = f.registry.requests().dropFirst(before)
        #expect(requests.contains { $0.hasPrefix("POST /v2/um/gateway-prod/blobs/uploads/?") && $0.contains("mount=") })
        #expect(!requests.contains { $0.hasPrefix("PUT /v2/um/gateway-prod/blobs/") }, "\(requests)")

        // To a layout and, for an index, from one: the digest never changes.
        let toLayout = try KilnTestSupport.kiln(["copy", "--quiet", "\(Self.ecrHost)/um/gateway-prod:1.4.0", "oci:\(f.dir("exported")):1.4.0"], extraEnvironment: f.environment)
        #expect(toLayout.output == "oci:\(f.dir("exported"))@\(gateway["digest"]!)", "\(toLayout.stderr)")
        try runChecked("oci-image-tool", ["validate", "--type", "image", "--ref", "name=1.4.0", f.dir("exported")])

        try PeerImages.makeTwoPlatformBase(at: f.dir("multi"), tag: "multi", work: f.dir)
        let indexDigest = try runChecked(kilnExecutable, ["digest", "oci:\(f.dir("multi")):multi"]).output
        let pushedIndex = try KilnTestSupport.kiln(["copy", "--quiet", "oci:\(f.dir("multi")):multi", "\(f.registry.host)/platforms/multi:v1"], extraEnvironment: f.environment)
        #expect(pushedIndex.output == "\(f.registry.host)/platforms/multi@\(indexDigest)", "\(pushedIndex.stderr)")
        // skopeo's raw bytes of what the registry holds hash to the same digest.
        let hashed = try runChecked("/bin/sh", ["-c", "skopeo inspect --raw \"$@\" | sha256sum", "sh"] + f.registry.skopeoFlags(dest: nil) + ["docker://\(f.registry.host)/platforms/multi:v1"]).output
        #expect("sha256:" + (hashed.split(separator: " ").first.map(String.init) ?? "") == indexDigest)
    }

    /// The GitHub Actions and GitLab CI jobs of docs/ci-and-iac.md, their shell lines run as
    /// written (kiln on PATH, in a checkout of images/ and overlays/), with OIDC web identity
    /// through STS (moto) as their credentials.
    @Test func documentedCIJobsRunAsWritten() throws {
        let f = try Fixture()
        let docs = try String(contentsOfFile: "\(repositoryRoot)/docs/ci-and-iac.md", encoding: .utf8)
        func block(after heading: String) throws -> String {
            guard let start = docs.range(of: heading), let open = docs.range(of: "```yaml\n", range: start.upperBound..<docs.endIndex),
                  let close = docs.range(of: "```", range: open.upperBound..<docs.endIndex) else { throw TestFailure("no yaml block after \(heading)") }
            return String(docs[open.upperBound..<close.lowerBound])
        }
        let gitHub = try block(after: "## GitHub Actions").split(separator: "\n").compactMap { line -> String? in
            let text = line.trimmingCharacters(in: .whitespaces)
            return text.hasPrefix("- run: ") ? String(text.dropFirst("- run: ".count)) : nil
        }
        let gitLab = try block(after: "## GitLab CI").components(separatedBy: "script:\n").last!.split(separator: "\n").compactMap { line -> String? in
            let text = line.trimmingCharacters(in: .whitespaces)
            return text.hasPrefix("- ") ? String(text.dropFirst(2)) : nil
        }
        #expect(gitHub == ["kiln lock --check", "kiln build --create-repository --tag-mutability IMMUTABLE", "kiln plan --json > images.json   # for later deploy steps"])
        #expect(gitLab.count == 4)

        // The checkout: the repository's specs and overlays, and a lock committed earlier.
        let checkout = f.dir("checkout")
        try runChecked("/bin/sh", ["-c", "mkdir -p \"$1\" && cp -r \"$2/images\" \"$2/overlays\" \"$1/\"", "sh", checkout, repositoryRoot])
        try FileManager.default.createDirectory(atPath: f.dir("bin"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: f.dir("bin/kiln"), withDestinationPath: kilnExecutable)
        try f.dir.write("oidc", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOm9yZy9hcHAifQ.signature\n")
        var environment = ProcessInfo.processInfo.environment.merging(f.environment) { $1 }.merging([
            "PATH": f.dir("bin") + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"),
            "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_ENDPOINT_URL_STS": f.moto.url,
            "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/ci-push", "AWS_WEB_IDENTITY_TOKEN_FILE": f.dir("oidc"),
        ]) { $1 }
        environment["SOURCE_DATE_EPOCH"] = nil
        func shell(_ line: String, _ environment: [String: String]) throws -> ProcessResult {
            try run("/bin/sh", ["-c", line], environment: environment, currentDirectory: checkout)
        }
        #expect(try shell("kiln lock", environment).status == 0)

        for line in gitHub {
            let result = try shell(line, environment)
            #expect(result.status == 0, "\(line): \(result.stderr)")
        }
        let planned = try #require((try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(checkout)/images.json"))) as? [String: Any])?["images"] as? [String: [String: String]])
        #expect(planned.count == 3)
        #expect(try f.moto.describe("um/gateway") == "um/gateway IMMUTABLE")

        // GitLab: the id_token arrives in a variable; the script writes it to a file.
        environment["AWS_OIDC_TOKEN"] = try String(contentsOfFile: f.dir("oidc"), encoding: .utf8)
        environment["AWS_WEB_IDENTITY_TOKEN_FILE"] = nil
        environment["AWS_ROLE_ARN"] = "arn:aws:iam::123456789012:role/gitlab-push"
        let script = gitLab.joined(separator: " && ")
        // The documented script writes its token file under /tmp; it is removed afterwards.
        defer { try? FileManager.default.removeItem(atPath: "/tmp/web-identity-token") }
        let gitLabRun = try shell(script, environment)
        #expect(gitLabRun.status == 0, "\(gitLabRun.stderr)")
        #expect(gitLabRun.output.split(separator: "\n").filter { $0.hasSuffix("(up to date)") }.count == 3, "\(gitLabRun.output)")
    }
}
