import Foundation
import KilnProject
import KilnTestSupport
import Testing

/// `kiln build` attaches an in-toto statement with a SLSA provenance v1 predicate to each image
/// it pushes (tag schema on the real registry, the referrers API through the declared shim),
/// deterministically, and `kiln verify` finds it; the statement is validated with the in-toto
/// attestation framework's own bindings (PyPI in-toto-attestation).
@Suite struct ProvenanceTests {
    final class Fixture {
        let dir: TemporaryDirectory
        let registry: RegistryServer
        var root: String { dir("repo") }
        let github = ["GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.example", "GITHUB_REPOSITORY": "acme/config",
                      "GITHUB_WORKFLOW_REF": "acme/config/.github/workflows/images.yml@refs/heads/main", "GITHUB_RUN_ID": "123456"]

        init(base: String = "1.0", repository: String = "svc/app") throws {
            dir = try TemporaryDirectory()
            registry = try RegistryServer()
            if base == "multi" {
                try PeerImages.makeTwoPlatformBase(at: dir("repo/base"), tag: "multi", work: dir)
            } else {
                try PeerImages.makeOCIBase(at: dir("repo/base"), tag: "1.0", work: dir)
            }
            try dir.write("kiln.yaml", "registries: {}\n")
            try dir.write("repo/overlays/app.conf", "x = 1\n")
            try dir.write("repo/images/app.yaml", """
                base: oci:\(dir("repo/base")):\(base)
                target: \(registry.host)/\(repository)
                tags: [latest]
                overlays:
                  - from: overlays/app.conf
                    to: /etc/app.conf
                config:
                  env: {STAGE: prod}
                """)
        }

        func kiln(_ arguments: [String], environment: [String: String] = [:]) throws -> ProcessResult {
            // The CI variables of whatever runs the tests never take part.
            let ci = ["GITHUB_ACTIONS", "GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_WORKFLOW_REF", "GITLAB_CI", "CI_SERVER_URL", "CI_PROJECT_PATH", "CODEBUILD_BUILD_ARN"]
            return try KilnTestSupport.kiln(arguments + ["--root", root], extraEnvironment: ["KILN_CONFIG": dir("kiln.yaml")].merging(environment) { $1 },
                                            removing: ["SOURCE_DATE_EPOCH"] + ci.filter { environment[$0] == nil })
        }

        func raw(_ reference: String) throws -> (json: [String: Any], bytes: Data)? {
            let result = try run("skopeo", ["inspect", "--raw"] + registry.skopeoFlags(dest: nil) + ["docker://\(reference)"])
            guard result.status == 0 else { return nil }
            let bytes = Data(result.stdout.utf8)
            return (try #require(try JSONSerialization.jsonObject(with: bytes) as? [String: Any]), bytes)
        }
    }

    /// The SHA-256 (hex) of `data`, by sha256sum.
    static func sha256(_ data: Data) throws -> String {
        let dir = try TemporaryDirectory()
        try data.write(to: URL(fileURLWithPath: dir("bytes")))
        return String(try runChecked("sha256sum", [dir("bytes")]).output.prefix(64))
    }

    @Test func buildAttachesDeterministicProvenanceThatVerifyFinds() throws {
        let f = try Fixture()
        #expect(try f.kiln(["lock"]).status == 0)
        let build = try f.kiln(["build", "--json", "--quiet", "--provenance-file", f.dir("{name}.intoto.json"), "--predicate-file", f.dir("{name}.predicate.json")], environment: f.github)
        #expect(build.status == 0, "\(build.stderr)")
        let image = try #require((try JSONSerialization.jsonObject(with: Data(build.stdout.utf8)) as? [String: Any])?["images"] as? [String: [String: String]])["app"]
        let digest = try #require(image?["digest"])
        let hex = String(digest.dropFirst("sha256:".count))

        // The statement's shape, by the in-toto attestation framework's own bindings.
        let validation = try run("python3", ["\(repositoryRoot)/Tests/Fixtures/validate_provenance.py", f.dir("app.intoto.json"), f.dir("app.predicate.json")])
        #expect(validation.output == "ok", "\(validation.stdout)\(validation.stderr)")
        let statementFile = try Data(contentsOf: URL(fileURLWithPath: f.dir("app.intoto.json")))
        let statement = try #require(try JSONSerialization.jsonObject(with: statementFile) as? [String: Any])
        #expect(statement["_type"] as? String == "https://in-toto.io/Statement/v1")
        #expect(statement["predicateType"] as? String == "https://slsa.dev/provenance/v1")
        let subject = try #require((statement["subject"] as? [[String: Any]])?.first)
        #expect((subject["digest"] as? [String: String])?["sha256"] == hex)
        let predicate = try #require(statement["predicate"] as? [String: Any])
        let definition = try #require(predicate["buildDefinition"] as? [String: Any])
        #expect(definition["buildType"] as? String == "https://github.com/OWNER/kiln/blob/main/docs/provenance.md#buildtype-v1")
        #expect(((predicate["runDetails"] as? [String: Any])?["builder"] as? [String: Any])?["id"] as? String
                == "https://github.example/acme/config/.github/workflows/images.yml@refs/heads/main")
        #expect((definition["internalParameters"] as? [String: Any])?["kilnVersion"] as? String == (try KilnTestSupport.kiln(["--version"]).output))
        let external = try #require(definition["externalParameters"] as? [String: Any])
        #expect((external["spec"] as? [String: Any])?["path"] as? String == "images/app.yaml")
        #expect(((external["configEdits"] as? [String: Any])?["env"] as? [String]) == ["STAGE=prod"])
        #expect((external["tags"] as? [String]) == ["kiln.sha256.\(hex)", "latest"])
        let dependencies = try #require(definition["resolvedDependencies"] as? [[String: Any]])
        let overlay = try #require(dependencies.first { $0["uri"] as? String == "file:overlays/app.conf" })
        #expect((overlay["digest"] as? [String: String])?["sha256"] == (try Self.sha256(Data("x = 1\n".utf8))))
        #expect((overlay["annotations"] as? [String: String])?["kiln.destination"] == "/etc/app.conf")
        #expect(dependencies.first?["name"] as? String != nil && ((dependencies.first?["digest"] as? [String: String])?["sha256"]) != nil)
        // No timestamps, no run ids.
        let text = String(decoding: statementFile, as: UTF8.self)
        #expect(!text.contains("123456") && !text.contains("startedOn") && !text.contains("finishedOn") && !text.contains("invocationId"))

        // Attached by the tag schema (the registry has no referrers API): an OCI 1.1 artifact
        // whose subject is the image and whose one layer is the statement as written.
        let index = try #require(try f.raw("\(f.registry.host)/svc/app:sha256-\(hex)"))
        let listed = try #require(index.json["manifests"] as? [[String: Any]])
        #expect(listed.count == 1 && listed.first?["artifactType"] as? String == "application/vnd.in-toto+json")
        let artifactDigest = try #require(listed.first?["digest"] as? String)
        let artifact = try #require(try f.raw("\(f.registry.host)/svc/app@\(artifactDigest)")).json
        #expect(artifact["artifactType"] as? String == "application/vnd.in-toto+json")
        #expect((artifact["subject"] as? [String: Any])?["digest"] as? String == digest)
        #expect((artifact["config"] as? [String: Any])?["mediaType"] as? String == "application/vnd.oci.empty.v1+json")
        let layer = try #require((artifact["layers"] as? [[String: Any]])?.first)
        #expect(layer["digest"] as? String == "sha256:" + (try Self.sha256(statementFile.dropLast())))
        #expect(try ReferrerPeer.isComplete(registry: f.registry.host, repository: "svc/app", manifest: artifactDigest))

        // A no-op build: up to date, the provenance found with one HEAD, nothing written.
        let before = f.registry.requests().count
        let again = try f.kiln(["build"], environment: f.github)
        #expect(again.status == 0 && again.output.hasSuffix("(up to date)"), "\(again.stdout)\(again.stderr)")
        let requests = f.registry.requests().dropFirst(before)
        #expect(!requests.contains { $0.hasPrefix("PUT") || $0.hasPrefix("POST") }, "\(requests)")
        #expect(requests.filter { $0.contains("/manifests/\(artifactDigest)") }.count == 1, "\(requests)")
        #expect(try f.raw("\(f.registry.host)/svc/app:sha256-\(hex)")?.bytes == index.bytes)

        // verify recomputes it (same builder) and finds it; another builder's is not there.
        let verify = try f.kiln(["verify"], environment: f.github)
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        let other = try f.kiln(["verify", "--builder-id", "https://ci.example/other"], environment: f.github)
        #expect(other.status == 1 && other.stdout.contains("provenance sha256:") && other.stdout.contains("is not attached"), "\(other.stdout)\(other.stderr)")
        #expect(try f.kiln(["verify", "--no-provenance", "--builder-id", "https://ci.example/other"]).status == 0)
        // Built elsewhere, the builder differs: attached once more, beside the first.
        let local = try f.kiln(["build", "--quiet"])
        #expect(local.status == 0, "\(local.stderr)")
        #expect((try f.raw("\(f.registry.host)/svc/app:sha256-\(hex)")?.json["manifests"] as? [[String: Any]])?.count == 2)
    }

    @Test func builderIDComesFromTheFlagOrTheCISystemNeverARunID() {
        #expect(Provenance.builderID(flag: "https://ci.example/x", environment: ["GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "a/b"]) == "https://ci.example/x")
        #expect(Provenance.builderID(flag: nil, environment: ["GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "a/b", "GITHUB_RUN_ID": "9"]) == "https://github.com/a/b")
        #expect(Provenance.builderID(flag: nil, environment: ["GITLAB_CI": "true", "CI_SERVER_URL": "https://gitlab.example", "CI_PROJECT_PATH": "g/p", "CI_PIPELINE_ID": "9"])
                == "https://gitlab.example/g/p")
        #expect(Provenance.builderID(flag: nil, environment: ["CODEBUILD_BUILD_ARN": "arn:aws:codebuild:eu-west-1:123456789012:build/images:0d7e-11aa"])
                == "arn:aws:codebuild:eu-west-1:123456789012:project/images")
        #expect(Provenance.builderID(flag: "", environment: [:]) == Provenance.localBuilderID)
        #expect(Provenance.builderID(flag: nil, environment: ["CODEBUILD_BUILD_ARN": "garbage"]) == Provenance.localBuilderID)
    }

    @Test func multiPlatformProvenanceThroughTheReferrersAPI() throws {
        let f = try Fixture(base: "multi")
        let shim = try ReferrersShim(upstream: f.registry)
        #expect(try f.kiln(["lock"]).status == 0)
        let build = try f.kiln(["build", "--json", "--quiet", "--builder-id", "https://ci.example/kiln", "--registry-endpoint", "\(f.registry.host)=\(shim.url)"])
        #expect(build.status == 0, "\(build.stderr)")
        let image = try #require((try JSONSerialization.jsonObject(with: Data(build.stdout.utf8)) as? [String: Any])?["images"] as? [String: [String: String]])["app"]
        let digest = try #require(image?["digest"])
        let index = try #require(try f.raw("\(f.registry.host)/svc/app@\(digest)")).json
        let children = ((index["manifests"] as? [[String: Any]]) ?? []).compactMap { $0["digest"] as? String }
        #expect(children.count == 2)
        // One artifact per subject (ECR refuses index subjects), each listed by the API, and no
        // schema tag written.
        for subject in [digest] + children {
            let listed = try ReferrerPeer.listed(registry: shim.host, repository: "svc/app", subject: subject) ?? []
            #expect(listed.count == 1 && listed.first?["artifactType"] as? String == "application/vnd.in-toto+json", "\(subject): \(listed)")
            #expect(try f.raw("\(f.registry.host)/svc/app:\(subject.replacingOccurrences(of: ":", with: "-"))") == nil)
        }
        let verify = try f.kiln(["verify", "--builder-id", "https://ci.example/kiln", "--registry-endpoint", "\(f.registry.host)=\(shim.url)"])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
    }

    /// `--provenance-file -` and `--predicate-file -` wrote a file named `-` in the working
    /// directory; standard output carries kiln's result lines, so they are bad usage now (bake
    /// and build), as is an empty name, and nothing is written.
    @Test func provenanceFilesNamedDashOrNothingAreRefused() throws {
        let dir = try TemporaryDirectory()
        var environment = ProcessInfo.processInfo.environment
        environment["SOURCE_DATE_EPOCH"] = nil
        for (flag, value, message) in [("--provenance-file", "-", "kiln: error: --provenance-file -: standard output carries kiln's results; name a file"),
                                       ("--predicate-file", "-", "kiln: error: --predicate-file -: standard output carries kiln's results; name a file"),
                                       ("--provenance-file", "", "kiln: error: --provenance-file needs a file name")] {
            let baked = try run(kilnExecutable, ["bake", "--base", "oci:\(dir("base")):1.0", "--env", "A=1", "--output", "oci:\(dir("out")):v1", "--provenance", flag, value],
                                environment: environment, currentDirectory: dir.path)
            #expect(baked.status == 64 && baked.stderr.hasPrefix(message + "\n"), "\(baked.stderr)")
            let built = try run(kilnExecutable, ["build", "--root", dir("nowhere"), flag, value], environment: environment, currentDirectory: dir.path)
            #expect(built.status == 64 && built.stderr.hasPrefix(message + "\n"), "\(built.stderr)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

}
