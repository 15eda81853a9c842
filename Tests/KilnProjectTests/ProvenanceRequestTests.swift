import Foundation
import KilnTestSupport
import Testing

/// What provenance costs a build and where it goes in the write (issue 24), counted in the real
/// registry's access log (distribution 2.8: no referrers API, so the tag schema): a handful of
/// requests per new image, one HEAD per image found up to date, and every provenance request
/// before the image's first tag.
@Suite struct ProvenanceRequestTests {
    typealias Fixture = ProvenanceTests.Fixture

    /// Points the fixture's spec at another repository of its registry (the lock stays valid).
    static func target(_ f: Fixture, _ repository: String) throws {
        let path = f.dir("repo/images/app.yaml")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasPrefix("target: ") ? "target: \(f.registry.host)/\(repository)" : String($0) }
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Runs `kiln` and returns its result with the registry requests it made.
    static func counted(_ f: Fixture, _ arguments: [String], environment: [String: String] = [:]) throws -> (result: ProcessResult, requests: [String]) {
        let before = f.registry.requests().count
        let result = try f.kiln(arguments, environment: environment)
        return (result, Array(f.registry.requests().dropFirst(before)))
    }

    static func digest(_ result: ProcessResult) throws -> String {
        let images = (try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])?["images"] as? [String: [String: String]]
        return try #require(images?["app"]?["digest"])
    }

    @Test func aNewImageCostsSevenRequestsMoreAndItsTagsComeLast() throws {
        let f = try Fixture()
        #expect(try f.kiln(["lock"]).status == 0)
        // The same image without provenance, in a repository of its own: the baseline.
        try Self.target(f, "svc/plain")
        let plain = try Self.counted(f, ["build", "--quiet", "--no-provenance"])
        #expect(plain.result.status == 0, "\(plain.result.stderr)")
        let plainNoop = try Self.counted(f, ["build", "--quiet", "--no-provenance"])
        #expect(plainNoop.result.output.hasSuffix("(up to date)"), "\(plainNoop.result.stdout)")

        try Self.target(f, "svc/app")
        // With a cache of its own: the blob locations it remembers serve the third build below.
        let cache = ["KILN_CACHE_DIR": f.dir("cache"), "XDG_CONFIG_HOME": f.dir("config")]
        let full = try Self.counted(f, ["build", "--quiet", "--json"], environment: cache)
        #expect(full.result.status == 0, "\(full.result.stderr)")
        let hex = String(try Self.digest(full.result).dropFirst("sha256:".count))
        let requests = full.requests
        // Two small uploads, each started as a mount from the repository itself (202: not held,
        // so one PUT each), the artifact, and the tag schema's index read once (404) and
        // written once: seven requests, no HEAD and no read-back.
        #expect(requests.count - plain.requests.count == 7, "\(plain.requests)\n\(requests)")
        #expect(requests.filter { $0.hasPrefix("POST /v2/svc/app/blobs/uploads/?mount=") && $0.hasSuffix("&from=svc/app") }.count == 2, "\(requests)")
        #expect(requests.filter { $0.hasPrefix("HEAD /v2/svc/app/blobs/") }.count == plain.requests.filter { $0.hasPrefix("HEAD /v2/svc/plain/blobs/") }.count, "\(requests)")
        #expect(requests.filter { $0 == "GET /v2/svc/app/manifests/sha256-\(hex)" }.count == 1, "\(requests)")
        #expect(requests.filter { $0 == "PUT /v2/svc/app/manifests/sha256-\(hex)" }.count == 1, "\(requests)")

        // Every provenance request before the first tag: the image is never visible under a
        // tag without its provenance.
        let firstTag = try #require(requests.firstIndex { $0.hasPrefix("PUT /v2/svc/app/manifests/kiln.sha256.") })
        let schemaIndex = try #require(requests.firstIndex { $0 == "PUT /v2/svc/app/manifests/sha256-\(hex)" })
        let artifact = try #require(requests.firstIndex { $0.hasPrefix("PUT /v2/svc/app/manifests/sha256:") })
        #expect(artifact < schemaIndex && schemaIndex < firstTag, "\(requests)")
        #expect(requests.last == "PUT /v2/svc/app/manifests/latest", "\(requests)")
        // The root went under its tags only, never by digest (this registry takes a referrer
        // before its subject, as distribution-spec 1.1 says registries must).
        #expect(!requests.contains("PUT /v2/svc/app/manifests/sha256:\(hex)"), "\(requests)")

        // Found up to date: one HEAD more than without provenance, for the root's artifact.
        let noop = try Self.counted(f, ["build", "--quiet"])
        #expect(noop.result.output.hasSuffix("(up to date)"), "\(noop.result.stdout)\(noop.result.stderr)")
        #expect(noop.requests.count == plainNoop.requests.count + 1, "\(plainNoop.requests)\n\(noop.requests)")
        #expect(noop.requests.allSatisfy { $0.hasPrefix("HEAD ") || $0 == "GET /v2/" }, "\(noop.requests)")
        #expect(try f.kiln(["verify"]).status == 0)

        // The next repository of the registry mounts the empty config from the last one that
        // took it (one request, no upload): six more than without provenance.
        try Self.target(f, "svc/third")
        let third = try Self.counted(f, ["build", "--quiet"], environment: cache)
        #expect(third.result.status == 0, "\(third.result.stderr)")
        #expect(third.requests.contains("POST /v2/svc/third/blobs/uploads/?mount=sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a&from=svc/app"), "\(third.requests)")
        #expect(third.requests.count - plain.requests.count <= 6, "\(third.requests)")
    }

    /// Every request a new and an up-to-date image costs, by kind, in the shape of
    /// Benchmarks/build-many.sh (a base on the registry itself, one repository per image), so
    /// that none can come back unnoticed (issue 24: "make provenance nearly free"). Per image,
    /// for a base of L layers (here 1):
    /// - without provenance, new: the content tag's HEAD (is it built?); per base layer a HEAD
    ///   and a mount; the new layer and the config a HEAD, a POST and a PUT each; per tag (the
    ///   content tag, `latest`) a HEAD and a PUT: 2L + 11.
    /// - with provenance, new: six more: the empty config mounted from the repository that
    ///   took it before in the run (from the repository itself, a 202 and a PUT, for the first
    ///   image), the statement's upload (a mount from the repository itself answered 202, and
    ///   one PUT), the artifact's PUT, the tag schema's index GET (404) and PUT.
    /// - up to date: a HEAD per tag, and with provenance one HEAD of the root's artifact.
    @Test func requestsPerImageByKindCannotRegrowUnnoticed() throws {
        let dir = try TemporaryDirectory()
        let registry = try RegistryServer()
        try PeerImages.pushBase(to: registry, work: dir)
        try dir.write("kiln.yaml", "registries: {}\n")
        let names = ["one", "two"]
        for name in names {
            try dir.write("repo/files/\(name).conf", "service = \(name)\n")
            try dir.write("repo/images/\(name).yaml", """
                base: \(registry.host)/base/app:1.0
                target: \(registry.host)/run/\(name)
                tags: [latest]
                overlays:
                  - {from: files/\(name).conf, to: /etc/svc/app.conf}
                config:
                  env: {SERVICE_NAME: \(name)}
                """)
        }
        func kiln(_ arguments: [String]) throws -> (result: ProcessResult, requests: [String]) {
            let ci = ["GITHUB_ACTIONS", "GITLAB_CI", "CODEBUILD_BUILD_ARN"]
            let before = registry.requests().count
            let result = try KilnTestSupport.kiln(arguments + ["--root", dir("repo"), "--quiet"], extraEnvironment: ["KILN_CONFIG": dir("kiln.yaml"), "KILN_CACHE_DIR": dir("cache")],
                                                  removing: ["SOURCE_DATE_EPOCH"] + ci)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            return (result, Array(registry.requests().dropFirst(before)))
        }
        func retarget(_ prefix: String) throws {
            for name in names {
                let path = dir("repo/images/\(name).yaml")
                let text = try String(contentsOfFile: path, encoding: .utf8)
                try text.replacingOccurrences(of: "/run/\(name)\n", with: "/\(prefix)/\(name)\n").replacingOccurrences(of: "/plain/\(name)\n", with: "/\(prefix)/\(name)\n")
                    .write(toFile: path, atomically: true, encoding: .utf8)
            }
        }
        /// The requests of one repository, counted by kind.
        func kinds(_ requests: [String], _ repository: String) -> [String: Int] {
            var counts: [String: Int] = [:]
            for request in requests where request.contains(" /v2/\(repository)/") {
                let kind: String
                if request.contains("/blobs/uploads/?mount=") { kind = "POST mount" }
                else if request.hasPrefix("POST ") { kind = "POST upload" }
                else if request.contains("/blobs/uploads/") { kind = "\(request.prefix { $0 != " " }) upload" }
                else if request.contains("/blobs/") { kind = "\(request.prefix { $0 != " " }) blob" }
                else if request.contains("/manifests/sha256-") { kind = "\(request.prefix { $0 != " " }) schema index" }
                else if request.contains("/manifests/sha256:") { kind = "\(request.prefix { $0 != " " }) manifest by digest" }
                else { kind = "\(request.prefix { $0 != " " }) tag" }
                counts[kind, default: 0] += 1
            }
            return counts
        }
        #expect(try KilnTestSupport.kiln(["lock", "--root", dir("repo"), "--quiet"], extraEnvironment: ["KILN_CONFIG": dir("kiln.yaml")]).status == 0)

        // --parallel 1: the second image mounts the empty config from the first.
        try retarget("plain")
        let plain = try kiln(["build", "--parallel", "1", "--no-provenance"])
        let plainNoop = try kiln(["build", "--no-provenance"])
        try retarget("run")
        let full = try kiln(["build", "--parallel", "1"])
        let noop = try kiln(["build"])
        #expect(noop.result.output.split(separator: "\n").allSatisfy { $0.hasSuffix("(up to date)") }, "\(noop.result.output)")

        let bare: [String: Int] = ["HEAD tag": 3, "HEAD blob": 3, "POST mount": 1, "POST upload": 2, "PUT upload": 2, "PUT tag": 2]
        #expect(kinds(plain.requests, "plain/two") == bare, "\(plain.requests)")
        #expect(kinds(plain.requests, "plain/two").values.reduce(0, +) == 13)
        var attested = bare
        attested["POST mount", default: 0] += 2 // the empty config (from "run/one"), the statement (from itself: 202)
        attested["PUT upload", default: 0] += 1 // the statement
        attested["PUT manifest by digest"] = 1  // the artifact
        attested["GET schema index"] = 1
        attested["PUT schema index"] = 1
        #expect(kinds(full.requests, "run/two") == attested, "\(full.requests)")
        #expect(full.requests.contains { $0.hasPrefix("POST /v2/run/two/blobs/uploads/?mount=sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a&from=run/one") }, "\(full.requests)")
        // The first image of the run has no sibling to mount the empty config from: one PUT more.
        attested["PUT upload", default: 0] += 1
        #expect(kinds(full.requests, "run/one") == attested, "\(full.requests)")

        for name in names {
            #expect(kinds(plainNoop.requests, "plain/\(name)") == ["HEAD tag": 2], "\(plainNoop.requests)")
            #expect(kinds(noop.requests, "run/\(name)") == ["HEAD tag": 2, "HEAD manifest by digest": 1], "\(noop.requests)")
        }
        // One probe per command; outside the images' repositories only the base's (read once
        // per command at most, whatever the number of images).
        for requests in [plain.requests, plainNoop.requests, full.requests, noop.requests] {
            #expect(requests.filter { $0 == "GET /v2/" }.count == 1, "\(requests)")
            #expect(requests.filter { !$0.contains(" /v2/plain/") && !$0.contains(" /v2/run/") && $0 != "GET /v2/" }.allSatisfy { $0.contains(" /v2/base/app/") }, "\(requests)")
        }
    }

    @Test func anImageTaggedWithoutItsProvenanceGetsItWhenFoundUpToDate() throws {
        // What a run of an older kiln leaves when it dies between its tag and its attach (it
        // attached after tagging), or what --no-provenance leaves.
        let f = try Fixture()
        #expect(try f.kiln(["lock"]).status == 0)
        let bare = try f.kiln(["build", "--quiet", "--json", "--no-provenance"])
        #expect(bare.status == 0, "\(bare.stderr)")
        let hex = String(try Self.digest(bare).dropFirst("sha256:".count))
        #expect(try f.raw("\(f.registry.host)/svc/app:sha256-\(hex)") == nil)
        #expect(try f.kiln(["verify"]).status == 1)

        let again = try Self.counted(f, ["build"])
        #expect(again.result.status == 0 && again.result.output.hasSuffix("(up to date)"), "\(again.result.stdout)\(again.result.stderr)")
        let listed = try #require(try f.raw("\(f.registry.host)/svc/app:sha256-\(hex)")?.json["manifests"] as? [[String: Any]])
        #expect(listed.count == 1 && listed.first?["artifactType"] as? String == "application/vnd.in-toto+json")
        // No tag moved: only the provenance was written.
        #expect(!again.requests.contains { $0.hasPrefix("PUT /v2/svc/app/manifests/kiln.") || $0 == "PUT /v2/svc/app/manifests/latest" }, "\(again.requests)")
        #expect(try f.kiln(["verify"]).status == 0)
    }

    @Test func aRegistryThatWantsTheSubjectFirstGetsTheRootByDigest() throws {
        let f = try Fixture()
        let shim = try ReferrersShim(upstream: f.registry, requireSubject: true)
        let endpoint = ["--registry-endpoint", "\(f.registry.host)=\(shim.url)"]
        #expect(try f.kiln(["lock"]).status == 0)
        let build = try Self.counted(f, ["build", "--quiet", "--json"] + endpoint)
        #expect(build.result.status == 0, "\(build.result.stderr)")
        let digest = try Self.digest(build.result)
        let requests = build.requests
        // The refused artifact is not in the upstream log; the root by digest, then the
        // artifact, then the tags.
        let root = try #require(requests.firstIndex(of: "PUT /v2/svc/app/manifests/\(digest)"))
        let artifact = try #require(requests.firstIndex { $0.hasPrefix("PUT /v2/svc/app/manifests/sha256:") && $0 != "PUT /v2/svc/app/manifests/\(digest)" })
        let firstTag = try #require(requests.firstIndex { $0.hasPrefix("PUT /v2/svc/app/manifests/kiln.sha256.") })
        #expect(root < artifact && artifact < firstTag, "\(requests)")
        let listed = try ReferrerPeer.listed(registry: shim.host, repository: "svc/app", subject: digest) ?? []
        #expect(listed.count == 1 && listed.first?["artifactType"] as? String == "application/vnd.in-toto+json", "\(listed)")
        let verify = try f.kiln(["verify"] + endpoint)
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
    }
}
