import Foundation
import KilnTestSupport
import Testing

/// `kiln outdated` and `kiln lock --update` against a real registry whose base tag is re-pushed
/// (skopeo copy of another image over it) between runs.
@Suite struct OutdatedTests {
    final class Fixture {
        let dir: TemporaryDirectory
        let registry: RegistryServer
        var root: String { dir("repo") }
        var base: String { "\(registry.host)/base/app:1.0" }
        var target: String { "\(registry.host)/um/gateway" }

        init() throws {
            dir = try TemporaryDirectory()
            registry = try RegistryServer()
            try dir.write("kiln.yaml", "registries: {}\n")
            try dir.write("repo/overlays/kong.conf", "database = off\n")
            try writeSpec("gateway", base: base, target: target)
        }

        func writeSpec(_ name: String, base: String, target: String, platforms: String? = nil) throws {
            try dir.write("repo/images/\(name).yaml", """
                base: \(base)
                target: \(target)
                \(platforms.map { "platforms: [\($0)]" } ?? "")
                overlays:
                  - from: overlays/kong.conf
                    to: /etc/kong/kong.conf
                    owner: kong
                    mode: "0640"
                config:
                  env: {KONG_DATABASE: "off"}

                """)
        }

        func kiln(_ arguments: [String]) throws -> ProcessResult {
            try KilnTestSupport.kiln(arguments + ["--root", root], extraEnvironment: ["KILN_CONFIG": dir("kiln.yaml")])
        }

        /// A base at `dir("layout"):TAG`, built by umoci from a root file system `edit` fills
        /// (it starts with `/etc/kong/`, `/etc/passwd` naming kong with `uid`, `/usr/local/bin/`).
        /// - Parameter from: a tag to build on (its layers kept; the change becomes a new layer).
        func makeBase(_ tag: String, from: String? = nil, uid: Int = 1000, created: String = "2026-01-01T00:00:00Z",
                      env: [String] = [], edit: (String) throws -> Void = { _ in }) throws {
            let layout = dir("layout")
            if !FileManager.default.fileExists(atPath: "\(layout)/oci-layout") { try runChecked("umoci", ["init", "--layout", layout]) }
            let bundle = dir("bundle-\(tag)")
            if let from {
                try runChecked("umoci", ["unpack", "--rootless", "--image", "\(layout):\(from)", bundle])
            } else {
                try runChecked("umoci", ["new", "--image", "\(layout):\(tag)"])
                try runChecked("umoci", ["unpack", "--rootless", "--image", "\(layout):\(tag)", bundle])
                let rootfs = "\(bundle)/rootfs"
                for directory in ["etc/kong", "usr/local/bin"] {
                    try FileManager.default.createDirectory(atPath: "\(rootfs)/\(directory)", withIntermediateDirectories: true)
                }
                try Data("#!/bin/sh\n".utf8).write(to: URL(fileURLWithPath: "\(rootfs)/usr/local/bin/kong"))
                try Data("root:x:0:0:root:/root:/bin/sh\nkong:x:\(uid):\(uid):kong:/home/kong:/bin/sh\n".utf8)
                    .write(to: URL(fileURLWithPath: "\(rootfs)/etc/passwd"))
            }
            try edit("\(bundle)/rootfs")
            try runChecked("umoci", ["repack", "--image", "\(layout):\(tag)", bundle])
            try FileManager.default.removeItem(atPath: bundle)
            var config = ["config", "--image", "\(layout):\(tag)", "--os", "linux", "--architecture", "amd64", "--created", created,
                          "--config.env", "PATH=/usr/local/bin:/usr/bin:/bin", "--config.cmd", "kong"]
            for variable in env { config += ["--config.env", variable] }
            try runChecked("umoci", config)
        }

        /// skopeo copies layout tag `tag` over `repositoryAndTag` in the registry.
        func push(_ tag: String, as repositoryAndTag: String = "base/app:1.0") throws {
            try registry.push(layout: "\(dir("layout")):\(tag)", to: repositoryAndTag)
        }

        func digest(_ repositoryAndTag: String = "base/app:1.0") throws -> String {
            try runChecked("skopeo", ["inspect", "--format", "{{.Digest}}", "--tls-verify=false", "docker://\(registry.host)/\(repositoryAndTag)"]).output
        }
    }

    @Test func movedBaseIsReportedExplainedRepinnedAndBuilt() throws {
        let f = try Fixture()
        try f.makeBase("v1", created: "2020-01-01T00:00:00Z")
        try f.push("v1")
        // Two specs on one base share its HEAD.
        try f.writeSpec("sidecar", base: f.base, target: "\(f.registry.host)/um/sidecar")
        #expect(try f.kiln(["lock"]).status == 0)
        let v1 = try f.digest()

        let heads = f.registry.requests().filter { $0 == "HEAD /v2/base/app/manifests/1.0" }.count
        let current = try f.kiln(["outdated"])
        #expect(current.status == 0, "\(current.stderr)")
        #expect(current.stdout == "gateway current\nsidecar current\n")
        #expect(f.registry.requests().filter { $0 == "HEAD /v2/base/app/manifests/1.0" }.count == heads + 1, "one HEAD per distinct base")

        // --max-age: the base was created in 2020.
        let stale = try f.kiln(["outdated", "--max-age", "30", "images/gateway.yaml".prefixed(f.root)])
        #expect(stale.status == 1)
        #expect(stale.output.hasPrefix("gateway stale \(f.base) created 2020-01-01T00:00:00Z ("), "\(stale.stdout)")
        #expect(try f.kiln(["outdated", "--max-age", "100000"]).status == 0)

        // 1. A changed Env, re-pushed over the tag.
        try f.makeBase("v2", from: "v1", created: "2026-02-01T00:00:00Z", env: ["SECURITY_FIX=1"])
        try f.push("v2")
        let v2 = try f.digest()
        #expect(v1 != v2)
        let blobsBefore = f.registry.requests().filter { $0.contains("/blobs/") }.count
        let outdated = try f.kiln(["outdated"])
        #expect(outdated.status == 1, "\(outdated.stderr)")
        #expect(outdated.stdout == "gateway outdated \(f.base) \(v1) -> \(v2)\nsidecar outdated \(f.base) \(v1) -> \(v2)\n")
        #expect(f.registry.requests().filter { $0.contains("/blobs/") }.count == blobsBefore, "outdated read a blob")

        let plannedBefore = try f.kiln(["plan", "images/gateway.yaml".prefixed(f.root)]).output
        let explained = try f.kiln(["outdated", "--explain", "images/gateway.yaml".prefixed(f.root)])
        #expect(explained.status == 1, "\(explained.stderr)")
        #expect(explained.stdout.contains("  created 2020-01-01T00:00:00Z -> 2026-02-01T00:00:00Z\n"), "\(explained.stdout)")
        #expect(explained.stdout.contains("  config.Env[1]: added \"SECURITY_FIX=1\"\n"), "\(explained.stdout)")
        #expect(explained.stdout.contains("  planned image: sha256:"), "\(explained.stdout)")
        #expect(!explained.stdout.contains("layer added"), "\(explained.stdout)")
        #expect(explained.stdout.contains(String(plannedBefore.split(separator: "@").last ?? "") + " -> sha256:"), "\(explained.stdout)\n\(plannedBefore)")

        // --json and --markdown say the same.
        let json = try f.kiln(["outdated", "--json"])
        #expect(json.status == 1)
        let images = try #require((try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])?["images"] as? [String: [String: Any]])
        #expect(images["gateway"]?["status"] as? String == "outdated")
        #expect(images["gateway"]?["locked"] as? String == v1)
        #expect(images["gateway"]?["latest"] as? String == v2)
        let markdown = try f.kiln(["outdated", "--markdown", "--explain"])
        #expect(markdown.status == 1)
        #expect(markdown.stdout.contains("| gateway | \(f.base) | outdated | `sha256:\(v1.dropFirst(7).prefix(12))` | `sha256:\(v2.dropFirst(7).prefix(12))` |"), "\(markdown.stdout)")
        #expect(markdown.stdout.contains("<details><summary>gateway: what the new base changes</summary>"))

        // lock --update of one spec, dry run first: the same report, nothing written.
        let lockText = try String(contentsOfFile: f.dir("repo/kiln.lock"), encoding: .utf8)
        let dryRun = try f.kiln(["lock", "--update", "--dry-run", "images/gateway.yaml".prefixed(f.root)])
        #expect(dryRun.status == 0, "\(dryRun.stderr)")
        #expect(dryRun.stdout.hasPrefix("gateway: updated \(f.base)@\(v2) (dry run: not written)\n"), "\(dryRun.stdout)")
        #expect(dryRun.stdout.contains("  config.Env[1]: added \"SECURITY_FIX=1\"\n"))
        #expect(try String(contentsOfFile: f.dir("repo/kiln.lock"), encoding: .utf8) == lockText)
        let update = try f.kiln(["lock", "--update", "images/gateway.yaml".prefixed(f.root)])
        #expect(update.status == 0, "\(update.stderr)")
        #expect(update.stdout.contains("config.Env[1]: added \"SECURITY_FIX=1\""))
        let afterUpdate = try f.kiln(["outdated"])
        #expect(afterUpdate.stdout == "gateway current\nsidecar outdated \(f.base) \(v1) -> \(v2)\n", "only the named spec was updated")

        // build pushes the new planned digest; verify passes.
        let plan = try f.kiln(["plan", "images/gateway.yaml".prefixed(f.root)]).output
        #expect(plan != plannedBefore)
        let build = try f.kiln(["build", "images/gateway.yaml".prefixed(f.root)])
        #expect(build.status == 0, "\(build.stderr)")
        #expect(build.output == "\(plan) (built)")
        let verify = try f.kiln(["verify", "images/gateway.yaml".prefixed(f.root)])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        #expect(try f.kiln(["lock", "--update"]).status == 0)

        // 2. A new layer.
        try f.makeBase("v3", from: "v2", created: "2026-03-01T00:00:00Z", env: ["SECURITY_FIX=1"]) { rootfs in
            try Data("patched\n".utf8).write(to: URL(fileURLWithPath: "\(rootfs)/usr/local/bin/patch-note"))
        }
        try f.push("v3")
        let layer = try f.kiln(["outdated", "--explain", "images/gateway.yaml".prefixed(f.root)])
        #expect(layer.status == 1)
        #expect(layer.stdout.contains("  layer added sha256:"), "\(layer.stdout)")
        #expect(!layer.stdout.contains("layer removed"), "\(layer.stdout)")
        #expect(try f.kiln(["lock", "--update"]).status == 0)

        // 3. kong's uid moved: the file kiln writes changes owner, so the planned digest moves.
        try f.makeBase("v4", from: "v3", created: "2026-04-01T00:00:00Z", env: ["SECURITY_FIX=1"]) { rootfs in
            try Data("root:x:0:0:root:/root:/bin/sh\nkong:x:1001:1001:kong:/home/kong:/bin/sh\n".utf8).write(to: URL(fileURLWithPath: "\(rootfs)/etc/passwd"))
        }
        try f.push("v4")
        let uid = try f.kiln(["outdated", "--explain", "images/gateway.yaml".prefixed(f.root)])
        #expect(uid.status == 1)
        #expect(uid.stdout.contains("  user kong (uid:gid): 1000:1000 -> 1001:1001\n"), "\(uid.stdout)")
        #expect(uid.stdout.contains("  planned image: sha256:"), "\(uid.stdout)")
        #expect(try f.kiln(["lock", "--update"]).status == 0)

        // 4. The directory kiln writes into became a symlink.
        try f.makeBase("v5", from: "v4", created: "2026-05-01T00:00:00Z", env: ["SECURITY_FIX=1"]) { rootfs in
            try FileManager.default.removeItem(atPath: "\(rootfs)/etc/kong")
            try FileManager.default.createDirectory(atPath: "\(rootfs)/opt/kong", withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: "\(rootfs)/etc/kong", withDestinationPath: "/opt/kong")
        }
        try f.push("v5")
        let link = try f.kiln(["outdated", "--explain", "images/gateway.yaml".prefixed(f.root)])
        #expect(link.status == 1)
        #expect(link.stdout.contains("  /etc/kong: directory 0755 0:0 -> symlink to /opt/kong\n"), "\(link.stdout)")
        #expect(link.stdout.contains("  /opt/kong: no directory or link -> directory 0755 0:0\n"), "\(link.stdout)")

        // 5. A user the spec names vanished: the bake would fail, said as a warning naming the spec.
        try f.makeBase("v6", from: "v5", created: "2026-06-01T00:00:00Z", env: ["SECURITY_FIX=1"]) { rootfs in
            try Data("root:x:0:0:root:/root:/bin/sh\n".utf8).write(to: URL(fileURLWithPath: "\(rootfs)/etc/passwd"))
        }
        try f.push("v6")
        let vanished = try f.kiln(["outdated", "--explain", "images/gateway.yaml".prefixed(f.root)])
        #expect(vanished.status == 1)
        #expect(vanished.stdout.contains("  user kong (uid:gid): 1001:1001 -> missing\n"), "\(vanished.stdout)")
        #expect(vanished.stdout.contains(" -> (would fail)\n"), "\(vanished.stdout)")
        #expect(vanished.stderr.contains("kiln: warning: gateway: the bake would fail on the new base: "), "\(vanished.stderr)")
        #expect(vanished.stderr.contains("user 'kong'"), "\(vanished.stderr)")
        let warned = try f.kiln(["lock", "--update", "--dry-run", "images/gateway.yaml".prefixed(f.root)])
        #expect(warned.stderr.contains("kiln: warning: gateway: the bake would fail on the new base: "), "\(warned.stderr)")

        // 6. A deleted tag: exit 2 names it; the other specs are still checked.
        try f.makeBase("other", created: "2026-01-01T00:00:00Z")
        try f.push("other", as: "base/other:2")
        try f.writeSpec("sidecar", base: "\(f.registry.host)/base/other:2", target: "\(f.registry.host)/um/sidecar")
        #expect(try f.kiln(["lock", "images/sidecar.yaml".prefixed(f.root)]).status == 0)
        try runChecked("skopeo", ["delete", "--tls-verify=false", "docker://\(f.registry.host)/base/other:2"])
        let deleted = try f.kiln(["outdated"])
        #expect(deleted.status == 2)
        #expect(deleted.stdout.contains("gateway outdated \(f.base) "), "\(deleted.stdout)")
        #expect(deleted.stdout.contains("sidecar error \(f.registry.host)/base/other:2\n"), "\(deleted.stdout)")
        #expect(deleted.stderr.contains("kiln: error: sidecar: \(f.registry.host)/base/other:2 not found"), "\(deleted.stderr)")
    }

    @Test func onePlatformOfAnIndexMoved() throws {
        let f = try Fixture()
        let layout = f.dir("layout")
        try f.makeBase("amd64")
        try f.makeBase("arm64") { _ in }
        try runChecked("umoci", ["config", "--image", "\(layout):arm64", "--architecture", "arm64"])
        try Self.writeIndex(layout: layout, tag: "multi")
        try runChecked("skopeo", ["copy", "--quiet", "--all"] + f.registry.skopeoFlags(dest: true) + ["oci:\(layout):multi", "docker://\(f.base)"])
        try f.writeSpec("gateway", base: f.base, target: f.target)
        try f.writeSpec("amd", base: f.base, target: "\(f.registry.host)/um/amd", platforms: "linux/amd64")
        #expect(try f.kiln(["lock"]).status == 0)
        #expect(try f.kiln(["outdated"]).status == 0)

        // Only arm64 is rebuilt; the index moves.
        try runChecked("umoci", ["config", "--image", "\(layout):arm64", "--config.env", "SECURITY_FIX=1"])
        try Self.writeIndex(layout: layout, tag: "multi")
        try runChecked("skopeo", ["copy", "--quiet", "--all"] + f.registry.skopeoFlags(dest: true) + ["oci:\(layout):multi", "docker://\(f.base)"])
        let result = try f.kiln(["outdated", "--json", "--explain"])
        #expect(result.status == 1, "\(result.stderr)")
        let images = try #require((try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])?["images"] as? [String: [String: Any]])
        #expect(images["amd"]?["status"] as? String == "current", "the amd64 manifest did not move: \(result.stdout)")
        #expect(images["gateway"]?["status"] as? String == "outdated")
        #expect(images["gateway"]?["platforms"] as? [String] == ["linux/arm64"], "\(result.stdout)")
        let changes = (images["gateway"]?["explanation"] as? [String: Any])?["changes"] as? [String] ?? []
        #expect(changes.contains("linux/arm64: config.Env[1]: added \"SECURITY_FIX=1\""), "\(changes)")
        #expect(changes.contains { $0.hasPrefix("linux/amd64: unchanged") }, "\(changes)")

        #expect(try f.kiln(["lock", "--update"]).status == 0)
        let build = try f.kiln(["build", "images/gateway.yaml".prefixed(f.root)])
        #expect(build.status == 0, "\(build.stderr)")
        let verify = try f.kiln(["verify", "images/gateway.yaml".prefixed(f.root)])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        #expect(try f.kiln(["outdated"]).status == 0)
    }

    /// The registry names an index's platforms, and `--markdown` goes into a pull request's
    /// body: a new entry whose platform holds newlines, HTML and terminal escapes (5 KB) once
    /// left its table cell raw. It comes escaped, bounded and without `<`.
    @Test func registryPlatformNamesStayInTheirMarkdownCell() throws {
        let f = try Fixture()
        try f.makeBase("amd64")
        try f.makeBase("arm64")
        try runChecked("umoci", ["config", "--image", "\(f.dir("layout")):arm64", "--architecture", "arm64"])
        try Self.writeIndex(layout: f.dir("layout"), tag: "multi")
        try runChecked("skopeo", ["copy", "--quiet", "--all"] + f.registry.skopeoFlags(dest: true) + ["oci:\(f.dir("layout")):multi", "docker://\(f.base)"])
        #expect(try f.kiln(["lock"]).status == 0)
        // A new entry: the amd64 manifest with an annotation (another digest), a hostile platform.
        try runChecked("python3", ["-c", """
            import hashlib, json, urllib.request
            r, repo = "http://\(f.registry.host)", "base/app"
            index_type, image_type = "application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json"
            def get(ref, accept):
                return urllib.request.urlopen(urllib.request.Request(f"{r}/v2/{repo}/manifests/{ref}", headers={"Accept": accept})).read()
            def put(ref, data, media_type):
                urllib.request.urlopen(urllib.request.Request(f"{r}/v2/{repo}/manifests/{ref}", data=data, method="PUT", headers={"Content-Type": media_type}))
            index = json.loads(get("1.0", index_type))
            first = index["manifests"][0]
            manifest = json.loads(get(first["digest"], image_type))
            manifest["annotations"] = {"rebuilt": "yes"}
            data = json.dumps(manifest).encode()
            digest = "sha256:" + hashlib.sha256(data).hexdigest()
            put(digest, data, image_type)
            hostile = "linux\\n\\n**Approved by security** <img src=https://evil.example/p.png>\\u001b]0;x\\u0007"
            index["manifests"].append({"mediaType": image_type, "digest": digest, "size": len(data), "platform": {"os": hostile, "architecture": "amd64" + "A" * 5000}})
            put("1.0", json.dumps(index).encode(), index_type)
            """])
        let markdown = try f.kiln(["outdated", "--markdown"])
        #expect(markdown.status == 1, "\(markdown.stderr)")
        let row = try #require(markdown.stdout.split(separator: "\n").first { $0.hasPrefix("| gateway |") }, "\(markdown.stdout)")
        #expect(row.contains("outdated (linux\\n\\n**Approved by security** &lt;img src=https://evil.example/p.png>\\x1B]0;x\\x07/amd64AAA"), "\(row)")
        #expect(row.utf8.count < 400, "\(row)")
        #expect(!markdown.stdout.contains("\n\n**Approved") && !markdown.stdout.contains("<img") && !markdown.stdout.contains("\u{1B}"))
        let json = try f.kiln(["outdated", "--json"])
        #expect(!json.stdout.contains(String(repeating: "A", count: 200)), "bounded in JSON too")
    }

    @Test func aPullThroughMirrorNeverAnswersForTheTag() throws {
        let f = try Fixture()
        let mirror = try RegistryServer()
        try f.makeBase("v1")
        try f.push("v1")
        #expect(try f.kiln(["lock"]).status == 0)
        // The mirror lags (a pull-through cache refreshes tags about daily): it still has v1
        // under the tag, and it is configured to serve tags too.
        try mirror.push(layout: "\(f.dir("layout")):v1", to: "hub/base/app:1.0")
        try f.dir.write("kiln.yaml", "registries:\n  \"\(f.registry.host)\":\n    mirrors:\n      - location: \(mirror.host)/hub\n    pull-from-mirror: all\n")
        try f.makeBase("v2", from: "v1", env: ["SECURITY_FIX=1"])
        try f.push("v2")
        let before = mirror.requests().count
        let result = try f.kiln(["outdated"])
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stdout == "gateway outdated \(f.base) \(try OutdatedTests.lockedRoot(f)) -> \(try f.digest())\n", "\(result.stdout)")
        #expect(mirror.requests().count == before, "the mirror was asked: \(mirror.requests()[before...])")
        // lock --update re-pins what the registry names, not the mirror's copy of the tag.
        let update = try f.kiln(["lock", "--update"])
        #expect(update.status == 0, "\(update.stderr)")
        #expect(update.stdout.hasPrefix("gateway: updated \(f.base)@\(try f.digest())\n"), "\(update.stdout)")
        #expect(try f.kiln(["outdated"]).stdout == "gateway current\n")
    }

    @Test func aDockerfileSpecsChownNameIsFollowed() throws {
        let f = try Fixture()
        try f.makeBase("v1")
        try f.push("v1")
        try FileManager.default.removeItem(atPath: f.dir("repo/images/gateway.yaml"))
        try f.dir.write("repo/images/gateway/Dockerfile", "FROM \(f.base)\nCOPY --chown=kong:kong kong.conf /etc/kong/\n")
        try f.dir.write("repo/images/gateway/kong.conf", "database = off\n")
        try f.dir.write("repo/images/gateway.yaml", "dockerfile: images/gateway/Dockerfile\ntarget: \(f.target)\n")
        // No /etc/group yet: the group name does not resolve, and plan says so.
        #expect(try f.kiln(["lock"]).status == 0)
        #expect(try f.kiln(["plan"]).status == 1)
        try f.makeBase("v2", from: "v1") { rootfs in
            try Data("root:x:0:\nkong:x:1000:\n".utf8).write(to: URL(fileURLWithPath: "\(rootfs)/etc/group"))
        }
        try f.push("v2")
        let explained = try f.kiln(["outdated", "--explain"])
        #expect(explained.status == 1, "\(explained.stderr)")
        #expect(explained.stdout.contains("  group kong (gid): missing -> 1000\n"), "\(explained.stdout)")
        #expect(explained.stdout.contains("  planned image: (does not plan) -> sha256:"), "\(explained.stdout)")
        #expect(!explained.stderr.contains("warning"), "\(explained.stderr)")
        #expect(try f.kiln(["lock", "--update"]).status == 0)
        #expect(try f.kiln(["plan"]).status == 0)
    }

    /// The root digest kiln.lock pinned for gateway.
    static func lockedRoot(_ f: Fixture) throws -> String {
        let lock = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: f.dir("repo/kiln.lock")))) as? [String: Any]
        let gateway = (lock?["images"] as? [String: Any])?["gateway"] as? [String: Any]
        return try #require((gateway?["root"] as? [String: Any])?["digest"] as? String)
    }

    /// An OCI index of the layout's `amd64` and `arm64` images, tagged `tag`.
    static func writeIndex(layout: String, tag: String) throws {
        let reader = LayoutReader(layout)
        func child(_ name: String, _ architecture: String) throws -> [String: Any] {
            let entry = try reader.entry(tag: name)
            return ["mediaType": entry["mediaType"]!, "digest": entry["digest"]!, "size": entry["size"]!,
                    "platform": ["os": "linux", "architecture": architecture]]
        }
        let index: [String: Any] = ["schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                                    "manifests": [try child("amd64", "amd64"), try child("arm64", "arm64")]]
        let bytes = try JSONSerialization.data(withJSONObject: index, options: [.sortedKeys])
        let spool = "\(layout)/index-\(tag).json"
        try bytes.write(to: URL(fileURLWithPath: spool))
        let hex = String(try runChecked("sha256sum", [spool]).output.prefix(64))
        try FileManager.default.moveItem(atPath: spool, toPath: "\(layout)/blobs/sha256/\(hex)")
        let digest = "sha256:\(hex)"
        var layoutIndex = try reader.index()
        var manifests = (layoutIndex["manifests"] as? [[String: Any]] ?? []).filter {
            ($0["annotations"] as? [String: String])?["org.opencontainers.image.ref.name"] != tag
        }
        manifests.append(["mediaType": "application/vnd.oci.image.index.v1+json", "digest": digest, "size": bytes.count,
                          "annotations": ["org.opencontainers.image.ref.name": tag]])
        layoutIndex["manifests"] = manifests
        try JSONSerialization.data(withJSONObject: layoutIndex).write(to: URL(fileURLWithPath: "\(layout)/index.json"))
    }
}

private extension String {
    /// `images/x.yaml` under `root`.
    func prefixed(_ root: String) -> String { "\(root)/\(self)" }
}

