import Foundation
import KilnLayer
import KilnSpec
import KilnStore
import KilnTestSupport
import Testing
import KilnRecipe

@Suite struct ImageSpecTests {
    @Test func everySampleSpecParsesAndItsOverlaysExist() throws {
        let specs = try FileManager.default.contentsOfDirectory(atPath: "\(repositoryRoot)/images").filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(specs == ["gateway.yaml", "keycloak.yaml", "profielen-bron.yaml"])
        for file in specs {
            let spec = try ImageSpec.load(path: "\(repositoryRoot)/images/\(file)", repositoryRoot: repositoryRoot)
            for overlay in spec.overlays {
                #expect(FileManager.default.fileExists(atPath: overlay.source), "\(file): \(overlay.source)")
            }
            // Every sample's overlays scan cleanly into a layer.
            _ = try OverlayScanner().scan(overlays: spec.overlays, removals: spec.removals)
        }
    }

    @Test func gatewaySampleSaysWhatTheDockerfileDid() throws {
        let spec = try ImageSpec.load(path: "\(repositoryRoot)/images/gateway.yaml", repositoryRoot: repositoryRoot)
        #expect(spec.name == "gateway")
        #expect(spec.base.description == "docker.io/library/kong:2.6.0-alpine")
        #expect(spec.target.description == "123456789012.dkr.ecr.eu-west-1.amazonaws.com/um/gateway:latest")
        #expect(spec.platforms == (try PlatformSelection(parsing: "linux/amd64")))
        #expect(spec.tags == ["latest"])
        #expect(spec.overlays.map(\.destination.description) == ["/etc/kong/kong.conf", "/usr/local/kong/declarative"])
        #expect(spec.overlays.allSatisfy { $0.owner == .resolved(Owner(uid: 1000, gid: 0)) && $0.mode == 0o640 })
        #expect(spec.removals.map(\.description) == ["/etc/kong/kong.conf.default"])
        // `off` unquoted stays the string "off", not a YAML boolean.
        #expect(spec.edits.env.map { "\($0.key)=\($0.value)" } == [
            "KONG_DATABASE=off", "KONG_DECLARATIVE_CONFIG=/usr/local/kong/declarative/kong.yml", "KONG_PLUGINS=oidc,cors,request-termination",
        ])
        #expect(spec.edits.user == "kong")
        let service = try ImageSpec.load(path: "\(repositoryRoot)/images/profielen-bron.yaml", repositoryRoot: repositoryRoot)
        #expect(service.overlays.isEmpty && service.edits.cmd == ["--server.servlet.context-path=/gateway"])
    }

    private func error(_ text: String, root: String = repositoryRoot) -> String {
        do {
            _ = try ImageSpec.parse(text, path: "images/x.yaml", repositoryRoot: root)
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    /// `targets:` beside or instead of `target:`: several registry repositories, one image.
    @Test func severalTargets() throws {
        let a = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/um/gateway"
        let b = "210987654321.dkr.ecr.us-east-1.amazonaws.com/um/gateway"
        let both = try ImageSpec.parse("base: kong\ntarget: \(a)\ntargets: [\(b), ghcr.io/um/gateway]\n", path: "images/x.yaml", repositoryRoot: repositoryRoot)
        #expect(both.targets.map(\.description) == ["\(a):latest", "\(b):latest", "ghcr.io/um/gateway:latest"])
        #expect(both.target.description == "\(a):latest")
        let only = try ImageSpec.parse("base: kong\ntargets:\n  - \(b)\n  - \(a)\n", path: "images/x.yaml", repositoryRoot: repositoryRoot)
        #expect(only.targets.map(\.description) == ["\(b):latest", "\(a):latest"])
        // One entry in `targets:` is a spec with one target, a layout included.
        let one = try ImageSpec.parse("base: kong\ntargets: [oci:out]\n", path: "images/x.yaml", repositoryRoot: repositoryRoot)
        #expect(one.targets.count == 1)

        #expect(error("base: kong\ntarget: \(a)\ntargets: [\(a)]\n") == "images/x.yaml:3: targets: '\(a)' is named twice")
        #expect(error("base: kong\ntargets: [\(b), \(b)]\n") == "images/x.yaml:2: targets: '\(b)' is named twice")
        // Docker Hub's short and long spellings are one repository.
        #expect(error("base: kong\ntargets: [um/app, docker.io/um/app]\n") == "images/x.yaml:2: targets: 'docker.io/um/app' is named twice")
        #expect(error("base: kong\ntarget: oci:out\ntargets: [\(a)]\n").hasPrefix("images/x.yaml:3: targets: 'oci:"))
        #expect(error("base: kong\ntarget: oci:out\ntargets: [\(a)]\n").hasSuffix("with several targets every one must be a registry repository, not a layout"))
        #expect(error("base: kong\ntargets: []\n") == "images/x.yaml:2: targets: must be a non-empty list of repositories")
        let many = (0...ImageSpec.maxTargets).map { "r.example/app\($0)" }.joined(separator: ", ")
        #expect(error("base: kong\ntargets: [\(many)]\n") == "images/x.yaml:2: targets: lists 257 repositories; at most 256")
        // `target:` counts toward the 256 too.
        let most = (1...ImageSpec.maxTargets).map { "r.example/app\($0)" }.joined(separator: ", ")
        #expect(error("base: kong\ntarget: r.example/app0\ntargets: [\(most)]\n") == "images/x.yaml:3: targets: lists 257 repositories with target:; at most 256")
        #expect(try ImageSpec.parse("base: kong\ntargets: [\(most)]\n", path: "images/x.yaml", repositoryRoot: repositoryRoot).targets.count == 256)
        // One repository under another spelling of its host: case, the root's dot, a port's zeros.
        #expect(error("base: kong\ntargets: [example.com/um/app, Example.COM/um/app]\n") == "images/x.yaml:2: targets: 'Example.COM/um/app' is named twice")
        #expect(error("base: kong\ntargets: [example.com/um/app, example.com./um/app]\n") == "images/x.yaml:2: targets: 'example.com./um/app' is named twice")
        #expect(error("base: kong\ntargets: [127.0.0.1:5000/um/app, 127.0.0.1:05000/um/app]\n") == "images/x.yaml:2: targets: '127.0.0.1:05000/um/app' is named twice")
        #expect(error("base: kong\ntargets: [\"[::1]:5000/um/app\", \"[::1]:5000/um/app\"]\n") == "images/x.yaml:2: targets: '[::1]:5000/um/app' is named twice")
        // The base's own tag in the base's repository: a build would replace the base with the
        // image made from it (and the next lock would pin that as the base).
        let replacing = "is the base's own tag, and r.example/um/app the base's repository: building would replace the base with the image made from it"
        #expect(error("base: r.example/um/app:1.0\ntarget: r.example/um/app\ntags: [\"1.0\"]\n") == "images/x.yaml:3: tags: '1.0' \(replacing)")
        #expect(error("base: r.example/um/app\ntargets: [ghcr.io/um/app, R.Example./um/app]\ntags: [v1, latest]\n") == "images/x.yaml:3: tags: 'latest' is the base's own tag, and R.Example./um/app the base's repository: building would replace the base with the image made from it")
        // Another tag there, the same tag in another repository, or a base by digest: fine.
        #expect(error("base: r.example/um/app:1.0\ntarget: r.example/um/app\ntags: [\"1.1\"]\n") == "no error")
        #expect(error("base: r.example/um/app:1.0\ntarget: r.example/um/web\ntags: [\"1.0\"]\n") == "no error")
        #expect(error("base: r.example/um/app@sha256:\(String(repeating: "a", count: 64))\ntarget: r.example/um/app\ntags: [latest]\n") == "no error")
        // Different ports, hosts or repositories are different targets.
        let distinct = try ImageSpec.parse("base: kong\ntargets: [example.com/um/app, example.com:5000/um/app, \"[::1]/um/app\", \"[::1]:5000/um/app\", example.com/um/app2]\n",
                                           path: "images/x.yaml", repositoryRoot: repositoryRoot)
        #expect(distinct.targets.count == 5)
        #expect(error("base: kong\ntargets: \(a)\n") == "images/x.yaml:2: targets: must be a non-empty list of repositories")
        #expect(error("base: kong\ntargets: [\(a), ghcr.io/um/app:v1]\n") == "images/x.yaml:2: targets[1]: must name a repository without tag or digest; list tags under 'tags'")
        #expect(error("base: kong\ntargets: [\(a), docker-archive:x.tar]\n").hasPrefix("images/x.yaml:2: targets[1]: must be a repository or oci:DIR, not an archive"))
        #expect(error("base: kong\n") == "images/x.yaml:1: target: missing (a repository or oci:DIR)")
    }

    @Test func errorsNameFileLineAndKey() throws {
        let good = "base: kong:2.6.0-alpine\ntarget: oci:out\n"
        #expect(error(good + "colour: blue\n") == "images/x.yaml:3: colour: unknown key (known: base, platforms, target, targets, tags, overlays, remove, config, compression, mtime, dockerfile, context, build-args, allow-secrets, container)")
        #expect(error(good + "tags: latest\n") == "images/x.yaml:3: tags: must be a list of strings")
        #expect(error(good + "config:\n  env: [A]\n") == "images/x.yaml:4: config.env: must map names to strings")
        #expect(error(good + "config:\n  usr: kong\n") == "images/x.yaml:4: config.usr: unknown key (known: env, labels, user, workdir, entrypoint, cmd)")
        #expect(error(good + "overlays:\n  - from: overlays/gateway\n    dest: /x\n") == "images/x.yaml:5: overlays[0].dest: unknown key (known: from, to, owner, mode)")
        #expect(error(good + "overlays:\n  - from: overlays/gateway\n    to: etc/kong\n") == "images/x.yaml:5: overlays[0].to: overlay destination 'etc/kong' must be an absolute path in the image")
        #expect(error(good + "overlays:\n  - from: overlays/gateway\n    to: /x\n    owner: kong!\n") == "images/x.yaml:6: overlays[0].owner: invalid owner 'kong!' (expected USER[:GROUP], numbers or names from the base's /etc/passwd and /etc/group)")
        #expect(error(good + "platforms: [amd64]\n") == "images/x.yaml:3: platforms: invalid platform 'amd64' (expected os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8)")
        #expect(error("target: oci:out\n") == "images/x.yaml:1: base: missing (the image to build on)")
        #expect(error("base: Kong\ntarget: oci:out\n").hasPrefix("images/x.yaml:1: base: invalid image reference 'Kong'"))
        #expect(error("base: kong\ntarget: ghcr.io/org/app:v1\n") == "images/x.yaml:2: target: must name a repository without tag or digest; list tags under 'tags'")
        #expect(error("base: kong\ntarget: oci:out\ntags: ['bad tag']\n") == "images/x.yaml:3: tags: 'bad tag' is not a valid tag")
        // Archives are build's local outputs (--output docker-archive:DIR), never a spec's base or target.
        #expect(error("base: kong\ntarget: docker-archive:out.tar\n").hasPrefix("images/x.yaml:2: target: must be a repository or oci:DIR, not an archive"))
        #expect(error("base: oci-archive:in.tar\ntarget: oci:out\n").hasPrefix("images/x.yaml:1: base: oci-archive:in.tar: kiln writes image archives but does not read them"))
        #expect(error("base: [kong\n").hasPrefix("images/x.yaml: not valid YAML"))
    }

    /// `container:` names the ECS container `kiln plan --format imagedefinitions` writes.
    @Test func containerIsAnECSContainerName() throws {
        let good = "base: kong:2.6.0-alpine\ntarget: oci:out\n"
        #expect(try ImageSpec.parse(good + "container: art_web-1\n", path: "images/x.yaml", repositoryRoot: repositoryRoot).container == "art_web-1")
        #expect(try ImageSpec.parse(good, path: "images/x.yaml", repositoryRoot: repositoryRoot).container == nil)
        #expect(error(good + "container: art.web\n") == "images/x.yaml:3: container: 'art.web' is not an ECS container name (1 to 255 letters, digits, hyphens and underscores)")
        #expect(error(good + "container: [a]\n") == "images/x.yaml:3: container: must be a string")
        #expect(error(good + "container: \(String(repeating: "a", count: 256))\n").hasPrefix("images/x.yaml:3: container: '"))
    }

    @Test func compressionAndMtimeAreExplicitChoices() throws {
        let good = "base: kong:2.6.0-alpine\ntarget: oci:out\n"
        let defaults = try ImageSpec.parse(good, path: "images/x.yaml", repositoryRoot: repositoryRoot)
        #expect(defaults.compression == .storedGzip)
        #expect(defaults.entryTimes == .content)
        let chosen = try ImageSpec.parse(good + "compression: gzip\nmtime: epoch\n", path: "images/x.yaml", repositoryRoot: repositoryRoot)
        #expect(chosen.compression == .gzip)
        // Specs ignore SOURCE_DATE_EPOCH: epoch is 0.
        #expect(chosen.entryTimes == .fixed(0))
        let seconds = try ImageSpec.parse(good + "compression: zstd\nmtime: 1700000000\n", path: "images/x.yaml", repositoryRoot: repositoryRoot)
        #expect(seconds.compression == .zstd)
        #expect(seconds.entryTimes == .fixed(1_700_000_000))
        #expect(error(good + "compression: deflate\n") == "images/x.yaml:3: compression: 'deflate' is not one of stored-gzip, gzip, zstd")
        #expect(error(good + "mtime: yesterday\n") == "images/x.yaml:3: mtime: 'yesterday' is not content, epoch or a whole number of seconds")
        #expect(error(good + "mtime: [0]\n") == "images/x.yaml:3: mtime: must be a string")
    }

    @Test func overlaysMayNotLeaveTheRepository() throws {
        let dir = try TemporaryDirectory()
        try dir.write("repo/overlays/ok.conf", "x")
        try FileManager.default.createSymbolicLink(atPath: dir("repo/overlays/sneaky"), withDestinationPath: "/etc")
        // The target is a layout inside the repository (a relative oci:DIR is the working
        // directory's, which is not this temporary repository).
        let base = "base: kong\ntarget: oci:\(dir("repo"))/out\noverlays:\n"
        #expect(error(base + "  - {from: ../secret, to: /x}\n", root: dir("repo")) == "images/x.yaml:4: overlays[0].from: '../secret' is outside the repository")
        #expect(error(base + "  - {from: /etc/passwd, to: /x}\n", root: dir("repo")) == "images/x.yaml:4: overlays[0].from: must be relative to the repository root")
        #expect(error(base + "  - {from: overlays/sneaky/passwd, to: /x}\n", root: dir("repo")) == "images/x.yaml:4: overlays[0].from: 'overlays/sneaky/passwd' is outside the repository")
        #expect(error(base + "  - {from: overlays/ok.conf, to: /etc/ok.conf}\n", root: dir("repo")) == "no error")
    }
}
