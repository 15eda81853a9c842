import Foundation
import KilnTestSupport
import Testing

/// Pull-through mirrors with a repository prefix (`registries.NAME.mirrors` in the config file):
/// two real distribution registries, the upstream holding `library/kong:2.6` and the mirror the
/// same image as `docker-hub/library/kong:2.6`, the shape of an ECR pull-through cache rule.
/// Which one served is read from each registry's own access log.
@Suite struct MirrorTests {
    final class Fixture {
        let upstream: RegistryServer
        let dir: TemporaryDirectory
        var docker: [String: String] = [:]

        /// - Parameter user: htpasswd credentials the upstream requires.
        init(upstreamUser: (String, String)? = nil) throws {
            upstream = try RegistryServer(user: upstreamUser)
            dir = try TemporaryDirectory()
            try PeerImages.makeOCIBase(at: dir("base"), tag: "2.6", work: dir)
            try upstream.push(layout: "\(dir("base")):2.6", to: "library/kong:2.6")
            try dir.write("overlay/kong.conf", "database = off\n")
            if let (user, password) = upstreamUser { docker[upstream.host] = "\(user):\(password)" }
            try writeDockerConfig()
        }

        var base: String { "\(upstream.host)/library/kong:2.6" }

        func writeDockerConfig() throws {
            let auths = docker.map { #""\#($0.key)":{"auth":"\#(Data($0.value.utf8).base64EncodedString())"}"# }.joined(separator: ",")
            try dir.write("docker/config.json", #"{"auths":{\#(auths)}}"#)
        }

        /// A config file giving the upstream these mirrors (YAML list entries) and settings.
        func config(mirrors: [String], extra: String = "") throws {
            let entries = mirrors.map { "      - location: \($0)\n" }.joined()
            try dir.write("kiln.yaml", "registries:\n  \"\(upstream.host)\":\n    mirrors:\n\(entries)\(extra)")
        }

        func environment(_ extra: [String: String] = [:]) -> [String: String] {
            ["DOCKER_CONFIG": dir("docker"), "REGISTRY_AUTH_FILE": "", "KILN_CONFIG": dir("kiln.yaml")].merging(extra) { $1 }
        }

        /// `kiln bake --json` of the base plus one overlay into `oci:DIR:x`.
        func bake(_ output: String, flags: [String] = [], environment extra: [String: String] = [:]) throws -> ProcessResult {
            try kiln(["bake", "--base", base, "--overlay", "\(dir("overlay")):/etc/kong", "--output", "oci:\(dir(output)):x", "--json"] + flags,
                     extraEnvironment: environment(extra))
        }

        /// The derived digest without any mirror: what every mirrored bake must equal.
        func baseline() throws -> String {
            try dir.write("kiln.yaml", "registries: {}\n")
            return try BakeJSON(bake("baseline")).digest
        }
    }

    /// Requests of `registry` since `from` that read the image (manifests or blobs of `repository`).
    static func reads(_ registry: RegistryServer, _ repository: String, from: Int = 0) -> [String] {
        registry.requests().dropFirst(from).filter { $0.hasPrefix("GET /v2/\(repository)/") || $0.hasPrefix("HEAD /v2/\(repository)/") }
    }

    /// Whether `reads` of the upstream are only the tag's resolution (HEAD): with
    /// `pull-from-mirror: all` the registry itself resolves the tag, the mirror serves the rest.
    static func onlyResolvedTheTag(_ reads: [String]) -> Bool {
        !reads.isEmpty && reads.allSatisfy { $0 == "HEAD /v2/library/kong/manifests/2.6" }
    }

    @Test func mirrorWithAPrefixServesAndTheImageKeepsItsName() throws {
        let f = try Fixture()
        let mirror = try RegistryServer()
        try mirror.push(layout: "\(f.dir("base")):2.6", to: "docker-hub/library/kong:2.6")
        let expected = try f.baseline()
        let before = f.upstream.requests().count
        let pushed = mirror.requests().count

        try f.config(mirrors: ["\(mirror.host)/docker-hub"])
        let result = try f.bake("mirrored")
        let baked = try BakeJSON(result)
        #expect(baked.digest == expected, "a mirror changed the derived digest")
        #expect(Self.onlyResolvedTheTag(Self.reads(f.upstream, "library/kong", from: before)), "the upstream was read: \(f.upstream.requests()[before...])")
        #expect(mirror.requests().contains { $0.hasPrefix("GET /v2/docker-hub/library/kong/manifests/sha256:") })
        #expect(!mirror.requests().contains { $0.contains("/manifests/2.6") }, "the mirror resolved the tag")
        #expect(mirror.requests().contains { $0.hasPrefix("GET /v2/docker-hub/library/kong/blobs/sha256:") })
        #expect(result.stderr.contains("\(f.upstream.host)/library/kong: reading through mirror \(mirror.host)/docker-hub"), "\(result.stderr)")
        // The image keeps its name: the base.name annotation is the upstream's, as skopeo reads it.
        let manifest = try runChecked("skopeo", ["inspect", "--raw", "oci:\(f.dir("mirrored")):x"]).stdout
        #expect(manifest.contains(#""org.opencontainers.image.base.name":"\#(f.base)""#), "\(manifest)")
        #expect(try run("umoci", ["stat", "--image", "\(f.dir("mirrored")):x"]).status == 0)

        // A mirror is never written to nor used as a mount source: nothing but reads reached it.
        #expect(mirror.requests().dropFirst(pushed).allSatisfy { $0.hasPrefix("GET ") || $0.hasPrefix("HEAD ") }, "\(mirror.requests()[pushed...])")
    }

    @Test func fallsBackWhenAMirrorLacksTheImageOrIsDown() throws {
        let f = try Fixture()
        let expected = try f.baseline()
        let empty = try RegistryServer()
        let holding = try RegistryServer()
        try holding.push(layout: "\(f.dir("base")):2.6", to: "cache/library/kong:2.6")
        let closed = "127.0.0.1:\(try freePort())"

        // A mirror without the image (404), then the registry itself.
        var before = f.upstream.requests().count
        try f.config(mirrors: ["\(empty.host)/docker-hub"])
        let lacking = try f.bake("lacking")
        #expect(try BakeJSON(lacking).digest == expected)
        #expect(empty.requests().contains { $0.hasPrefix("GET /v2/docker-hub/library/kong/manifests/sha256:") })
        #expect(Self.reads(f.upstream, "library/kong", from: before).contains { $0.hasPrefix("GET /v2/library/kong/manifests/sha256:") })
        #expect(lacking.stderr.contains("mirror \(empty.host)/docker-hub did not serve document sha256:"), "\(lacking.stderr)")
        // Asked once for the image, not again for each document and blob.
        #expect(lacking.stderr.components(separatedBy: "did not serve").count == 2, "\(lacking.stderr)")

        // A mirror that is down (a closed port), then a mirror that has it: the registry is not read.
        before = f.upstream.requests().count
        try f.config(mirrors: [closed, "\(holding.host)/cache"])
        let second = try f.bake("second")
        #expect(try BakeJSON(second).digest == expected)
        #expect(Self.onlyResolvedTheTag(Self.reads(f.upstream, "library/kong", from: before)))
        #expect(holding.requests().contains { $0.hasPrefix("GET /v2/cache/library/kong/manifests/sha256:") })
        #expect(second.stderr.contains("mirror \(closed) did not serve"), "\(second.stderr)")
        // The dead host is asked once, not once per document and blob.
        #expect(second.stderr.components(separatedBy: "mirror \(closed) did not serve").count == 2, "\(second.stderr)")

        // Every mirror down: the registry itself.
        before = f.upstream.requests().count
        try f.config(mirrors: [closed])
        let down = try f.bake("down")
        #expect(try BakeJSON(down).digest == expected)
        #expect(Self.reads(f.upstream, "library/kong", from: before).contains { $0.hasPrefix("GET /v2/library/kong/manifests/sha256:") })
    }

    /// Digests protect bytes, not the choice of image: a mirror whose `2.6` is another image
    /// (self-consistent, every digest right) does not get to choose, because with
    /// `pull-from-mirror: all` the registry itself resolves the tag and the mirror serves the
    /// registry's image by digest. Only when the registry cannot be asked does the mirror's tag
    /// count, with a warning.
    @Test func aMirrorDoesNotChooseTheImageForATagWhileTheRegistryAnswers() throws {
        let f = try Fixture()
        let expected = try f.baseline()
        let mirror = try RegistryServer()
        try mirror.push(layout: "\(f.dir("base")):2.6", to: "docker-hub/library/kong:real")
        try PeerImages.makeOCIBase(at: f.dir("other"), tag: "2.6", architecture: "arm64", work: f.dir)
        try mirror.push(layout: "\(f.dir("other")):2.6", to: "docker-hub/library/kong:2.6")
        try f.config(mirrors: ["\(mirror.host)/docker-hub"], extra: "    pull-from-mirror: all\n")

        let pushed = mirror.requests().count
        let before = f.upstream.requests().count
        let result = try f.bake("substituted")
        #expect(try BakeJSON(result).digest == expected, "the mirror chose the image: \(result.stderr)")
        #expect(Self.onlyResolvedTheTag(Self.reads(f.upstream, "library/kong", from: before)), "\(f.upstream.requests()[before...])")
        #expect(!mirror.requests().dropFirst(pushed).contains { $0.contains("/manifests/2.6") }, "the mirror was asked for the tag")
        #expect(mirror.requests().dropFirst(pushed).contains { $0.hasPrefix("GET /v2/docker-hub/library/kong/blobs/sha256:") }, "the mirror served no blob")

        // The registry unreachable: the mirrors resolve the tag after all (mirrors exist for
        // that), and kiln says so.
        let closed = "127.0.0.1:\(try freePort())"
        let offline = try f.bake("offline", flags: ["--registry-endpoint", "\(f.upstream.host)=http://\(closed)"])
        #expect(offline.status == 0, "\(offline.stderr)")
        #expect(try BakeJSON(offline).digest != expected)
        #expect(offline.stderr.contains("\(f.upstream.host)/library/kong: the registry itself did not resolve tag 2.6 ("), "\(offline.stderr)")
        #expect(offline.stderr.contains("the mirrors resolve it, so they choose the image (pull-from-mirror: digest-only never lets them)"), "\(offline.stderr)")
    }

    @Test func aMirrorServingOtherBytesIsAnErrorNotAFallback() throws {
        let f = try Fixture()
        let mirror = try RegistryServer()
        try mirror.push(layout: "\(f.dir("base")):2.6", to: "docker-hub/library/kong:2.6")
        let hostile = try FaultProxy(upstream: mirror, faults: ["--corrupt-blobs"])
        let location = "127.0.0.1:\(hostile.port)/docker-hub"
        try f.config(mirrors: [location])
        let before = f.upstream.requests().count
        let result = try f.bake("hostile")
        #expect(result.status == 1)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.last?.hasPrefix("kiln: error: ") == true && lines.last?.contains("127.0.0.1:\(hostile.port)/docker-hub/library/kong (mirror of \(f.upstream.host)/library/kong)") == true, "\(result.stderr)")
        #expect(Self.reads(f.upstream, "library/kong", from: before).allSatisfy { !$0.contains("/blobs/") }, "fell back to the registry after wrong bytes")
        #expect(try run("skopeo", ["inspect", "oci:\(f.dir("hostile")):x"]).status != 0, "a failed bake left a tag")
    }

    @Test func digestOnlyLocksTagsAtTheRegistryAndBuildsThroughTheMirror() throws {
        let f = try Fixture()
        let mirror = try RegistryServer()
        // The mirror holds the upstream image by digest, but its tag 2.6 lags: another image.
        try mirror.push(layout: "\(f.dir("base")):2.6", to: "docker-hub/library/kong:pinned")
        try PeerImages.makeOCIBase(at: f.dir("stale"), tag: "old", architecture: "arm64", work: f.dir)
        try mirror.push(layout: "\(f.dir("stale")):old", to: "docker-hub/library/kong:2.6")
        try f.config(mirrors: ["\(mirror.host)/docker-hub"], extra: "    pull-from-mirror: digest-only\n")
        try f.dir.write("repo/overlays/kong.conf", "database = off\n")
        try f.dir.write("repo/images/gateway.yaml", """
            base: \(f.base)
            target: oci:\(f.dir("repo/out"))
            overlays:
              - from: overlays/kong.conf
                to: /etc/kong/kong.conf

            """)
        let pushed = mirror.requests().count
        let upstreamDigest = try runChecked("skopeo", ["inspect", "--format", "{{.Digest}}", "--tls-verify=false", "docker://\(f.base)"]).output

        let lock = try kiln(["lock", "--root", f.dir("repo")], extraEnvironment: f.environment())
        #expect(lock.status == 0, "\(lock.stderr)")
        #expect(lock.output.contains("\(f.base)@\(upstreamDigest)"), "\(lock.output)")
        #expect(!mirror.requests().dropFirst(pushed).contains { $0.contains("/manifests/2.6") }, "a tag was resolved at the mirror")
        #expect(f.upstream.requests().contains("GET /v2/library/kong/manifests/2.6"))

        let before = f.upstream.requests().count
        let build = try kiln(["build", "--root", f.dir("repo")], extraEnvironment: f.environment())
        #expect(build.status == 0, "\(build.stderr)")
        #expect(Self.reads(f.upstream, "library/kong", from: before).isEmpty, "build read the registry: \(f.upstream.requests()[before...])")
        #expect(mirror.requests().contains { $0.hasPrefix("GET /v2/docker-hub/library/kong/blobs/sha256:") })
        // What build wrote is what the plan (from the lock alone) says, and a bake without mirror.
        let plan = try kiln(["plan", "--root", f.dir("repo")], extraEnvironment: f.environment())
        #expect(plan.status == 0, "\(plan.stderr)")
        let verify = try kiln(["verify", "--root", f.dir("repo")], extraEnvironment: f.environment())
        #expect(verify.status == 0, "\(verify.stderr)")
        let lockText = try String(contentsOfFile: f.dir("repo/kiln.lock"), encoding: .utf8)
        #expect(lockText.contains(f.base) && !lockText.contains(mirror.host), "the lock names the mirror")

        // tag-only: the locked (digest) reference skips the mirror.
        try f.config(mirrors: ["\(mirror.host)/docker-hub"], extra: "    pull-from-mirror: tag-only\n")
        let mirrorBefore = mirror.requests().count
        try FileManager.default.removeItem(atPath: f.dir("repo/out"))
        let tagOnly = try kiln(["build", "--root", f.dir("repo")], extraEnvironment: f.environment())
        #expect(tagOnly.status == 0, "\(tagOnly.stderr)")
        #expect(mirror.requests().count == mirrorBefore, "tag-only used the mirror for a digest")
    }

    @Test func eachMirrorGetsOnlyItsOwnCredentials() throws {
        let f = try Fixture(upstreamUser: ("upstream-user", "upstream-s3cret"))
        let expected = try f.baseline()
        let mirror = try RegistryServer(user: ("mirror-user", "mirror-s3cret"))
        try mirror.push(layout: "\(f.dir("base")):2.6", to: "docker-hub/library/kong:2.6")
        // In front of the mirror: records every Authorization header the mirror is sent.
        let recorder = try FaultProxy(upstream: mirror, faults: ["--record-auth", f.dir("mirror-auth.log"), "--record-header", "Authorization"])
        let mirrorHost = "127.0.0.1:\(recorder.port)"
        try f.config(mirrors: ["\(mirrorHost)/docker-hub"])
        let upstreamSecret = Data("upstream-user:upstream-s3cret".utf8).base64EncodedString()
        let mirrorSecret = Data("mirror-user:mirror-s3cret".utf8).base64EncodedString()
        func seen() -> [String] {
            ((try? String(contentsOfFile: f.dir("mirror-auth.log"), encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }

        // Both hosts have credentials: each is sent its own.
        f.docker[mirrorHost] = "mirror-user:mirror-s3cret"
        try f.writeDockerConfig()
        var before = f.upstream.requests().count
        let both = try f.bake("both")
        #expect(try BakeJSON(both).digest == expected)
        #expect(Self.onlyResolvedTheTag(Self.reads(f.upstream, "library/kong", from: before)), "the mirror did not serve: \(both.stderr)")
        #expect(seen().contains("Basic \(mirrorSecret)"))
        #expect(!seen().contains { $0.contains(upstreamSecret) })
        #expect(!both.stderr.contains("s3cret"))

        // The mirror has none: it is asked without any (never with the upstream's), refuses, and
        // the registry itself serves with its own.
        f.docker[mirrorHost] = nil
        try f.writeDockerConfig()
        let seenBefore = seen().count
        before = f.upstream.requests().count
        let upstreamOnly = try f.bake("upstream-only")
        #expect(try BakeJSON(upstreamOnly).digest == expected)
        #expect(seen().count > seenBefore)
        #expect(seen().dropFirst(seenBefore).allSatisfy { $0 == "-" }, "\(seen())")
        #expect(Self.reads(f.upstream, "library/kong", from: before).contains { $0.hasPrefix("GET /v2/library/kong/manifests/sha256:") })
        #expect(upstreamOnly.stderr.contains("requires credentials"), "\(upstreamOnly.stderr)")
        #expect(!upstreamOnly.stderr.contains("s3cret"))

        // And the other way: a mirror with credentials lacks the image; the registry itself,
        // reached through a recorder, is sent only its own.
        f.docker[mirrorHost] = "mirror-user:mirror-s3cret"
        try f.writeDockerConfig()
        try f.config(mirrors: ["\(mirrorHost)/elsewhere"])
        let upstreamRecorder = try FaultProxy(upstream: f.upstream, faults: ["--record-auth", f.dir("upstream-auth.log"), "--record-header", "Authorization"])
        let fellBack = try f.bake("fell-back", flags: ["--registry-endpoint", "\(f.upstream.host)=\(upstreamRecorder.url)"])
        #expect(try BakeJSON(fellBack).digest == expected)
        #expect(fellBack.stderr.contains("mirror \(mirrorHost)/elsewhere did not serve document sha256:"), "\(fellBack.stderr)")
        let upstreamSeen = try String(contentsOfFile: f.dir("upstream-auth.log"), encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(upstreamSeen.contains("Basic \(upstreamSecret)"))
        #expect(!upstreamSeen.contains { $0.contains(mirrorSecret) }, "\(upstreamSeen)")
    }

    @Test func anECRPullThroughMirrorAuthenticatesWithECRAndIsNeverAMountSource() throws {
        let f = try Fixture()
        let expected = try f.baseline()
        let ecrHost = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
        let moto = try MotoServer()
        // moto's GetAuthorizationToken answers base64("AWS:<account>-auth-token").
        let ecr = try RegistryServer(tls: true, user: ("AWS", "123456789012-auth-token"))
        try ecr.push(layout: "\(f.dir("base")):2.6", to: "docker-hub/library/kong:2.6")
        try f.config(mirrors: ["\(ecrHost)/docker-hub"])
        let aws = ["AWS_ENDPOINT_URL_ECR": moto.url, "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "",
                   "AWS_PROFILE": "", "AWS_CONFIG_FILE": "", "AWS_SHARED_CREDENTIALS_FILE": "", "AWS_REGION": "", "AWS_DEFAULT_REGION": "",
                   "AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_ROLE_ARN": "", "AWS_EC2_METADATA_DISABLED": "true", "HOME": f.dir.path]
        let route = ["--registry-endpoint", "\(ecrHost)=https://\(ecr.host)", "--ca-file", ecr.caFile!]
        let before = f.upstream.requests().count

        let layout = try f.bake("ecr", flags: route, environment: aws)
        #expect(try BakeJSON(layout).digest == expected)
        #expect(Self.onlyResolvedTheTag(Self.reads(f.upstream, "library/kong", from: before)), "the ECR mirror did not serve: \(layout.stderr)")
        #expect(ecr.requests().contains { $0.hasPrefix("GET /v2/docker-hub/library/kong/manifests/sha256:") })

        // Without AWS credentials the ECR mirror cannot be logged into: the registry itself serves.
        let noKeys = aws.merging(["AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""]) { $1 }
        let upstreamBefore = f.upstream.requests().count
        let unauthenticated = try f.bake("no-aws", flags: route, environment: noKeys)
        #expect(try BakeJSON(unauthenticated).digest == expected)
        #expect(unauthenticated.stderr.contains("mirror \(ecrHost)/docker-hub did not serve document sha256:"), "\(unauthenticated.stderr)")
        #expect(Self.reads(f.upstream, "library/kong", from: upstreamBefore).contains { $0.hasPrefix("GET /v2/library/kong/manifests/sha256:") })
        let beforePush = f.upstream.requests().count

        // Baked into the same ECR registry: base layers are streamed from the pull-through
        // repository, never mounted from it (ECR refuses mounts from those).
        let pushed = try kiln(["bake", "--base", f.base, "--overlay", "\(f.dir("overlay")):/etc/kong", "--create-repository",
                               "--output", "\(ecrHost)/um/gateway:v1"] + route, extraEnvironment: f.environment(aws))
        #expect(pushed.status == 0, "\(pushed.stderr)")
        #expect(pushed.output == "\(ecrHost)/um/gateway@\(expected)")
        #expect(!ecr.requests().contains { $0.contains("mount=") }, "\(ecr.requests())")
        #expect(ecr.requests().contains { $0.hasPrefix("PUT /v2/um/gateway/blobs/uploads/") })
        #expect(Self.onlyResolvedTheTag(Self.reads(f.upstream, "library/kong", from: beforePush)))
        let inspect = try runChecked("skopeo", ["inspect", "--format", "{{.Digest}}"] + ecr.skopeoFlags(dest: nil) + ["docker://\(ecr.host)/um/gateway:v1"]).output
        #expect(inspect == expected)
    }
}
