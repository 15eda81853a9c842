import Foundation
import KilnTestSupport
import Testing

/// lock, plan, build, verify on a small project whose base is an umoci-built layout: no network.
@Suite struct SpecProjectTests {
    final class Fixture {
        let dir: TemporaryDirectory
        var root: String { dir("repo") }

        init(target: String? = nil) throws {
            dir = try TemporaryDirectory()
            try PeerImages.makeOCIBase(at: dir("repo/base"), tag: "1.0", work: dir)
            try dir.write("kiln.yaml", "registries: {}\n")
            try dir.write("repo/overlays/gateway/kong.conf", "database = off\n")
            try dir.write("repo/overlays/gateway/declarative/kong.yml", "_format_version: \"2.1\"\nservices: []\n")
            try writeSpec(base: "oci:\(dir("repo/base")):1.0", target: target ?? "oci:\(dir("repo/out"))")
        }

        func writeSpec(base: String, target: String, env: String = "off", extra: String = "") throws {
            try dir.write("repo/images/gateway.yaml", """
                base: \(base)
                target: \(target)
                tags: [latest]
                overlays:
                  - from: overlays/gateway/kong.conf
                    to: /etc/kong/kong.conf
                    owner: "1000:0"
                    mode: "0640"
                  - from: overlays/gateway/declarative
                    to: /usr/local/kong/declarative
                    owner: "1000:0"
                    mode: "0640"
                remove: [/etc/kong/kong.conf.default]
                config:
                  env: {KONG_DATABASE: \(env)}
                  user: kong
                  cmd: [kong, docker-start]
                \(extra)
                """)
        }

        func kiln(_ arguments: [String]) throws -> ProcessResult {
            try KilnTestSupport.kiln(arguments + ["--root", root], extraEnvironment: ["KILN_CONFIG": dir("kiln.yaml")])
        }

        /// `kiln plan --terraform` with `query` on standard input.
        func terraform(_ query: String) throws -> ProcessResult {
            try dir.write("query.json", query)
            return try run("/bin/sh", ["-c", "exec \"$0\" plan --terraform --root \"$1\" < \"$2\"", kilnExecutable, root, dir("query.json")])
        }
    }

    @Test func planIsOfflineAndEqualsWhatBuildAndBakeProduce() throws {
        let f = try Fixture()
        let unlocked = try f.kiln(["plan"])
        #expect(unlocked.status == 1)
        #expect(unlocked.stderr == "kiln: error: \(f.root)/images/gateway.yaml: not in \(f.root)/kiln.lock; run kiln lock\n")

        let lock = try f.kiln(["lock"])
        #expect(lock.status == 0, "\(lock.stderr)")
        #expect(lock.output.hasPrefix("gateway: added oci:\(f.dir("repo/base"))@sha256:"))
        let lockText = try String(contentsOfFile: "\(f.root)/kiln.lock", encoding: .utf8)
        #expect(try f.kiln(["lock"]).output.hasPrefix("gateway: unchanged"))
        #expect(try String(contentsOfFile: "\(f.root)/kiln.lock", encoding: .utf8) == lockText, "an unchanged lock is not rewritten")

        // The base layout could vanish: plan needs only the lock and the overlays.
        try FileManager.default.moveItem(atPath: f.dir("repo/base"), toPath: f.dir("repo/base-away"))
        let plan = try f.kiln(["plan", "--json"])
        #expect(plan.status == 0, "\(plan.stderr)")
        let images = try #require((try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any])?["images"] as? [String: [String: String]])
        let gateway = try #require(images["gateway"])
        let digest = try #require(gateway["digest"])
        #expect(gateway["tag"] == "kiln.sha256." + digest.dropFirst("sha256:".count))
        #expect(gateway["repository"] == "oci:\(f.dir("repo/out"))")
        #expect(gateway["image"] == "oci:\(f.dir("repo/out"))@\(digest)")
        try FileManager.default.moveItem(atPath: f.dir("repo/base-away"), toPath: f.dir("repo/base"))

        let build = try f.kiln(["build"])
        #expect(build.status == 0, "\(build.stderr)")
        #expect(build.output == "gateway oci:\(f.dir("repo/out"))@\(digest) (built)")
        // Content tag and extra tag both hold the planned digest.
        let layout = LayoutReader(f.dir("repo/out"))
        #expect(try layout.entry(tag: "kiln.sha256." + digest.dropFirst(7))["digest"] as? String == digest)
        #expect(try layout.entry(tag: "latest")["digest"] as? String == digest)
        #expect(try f.kiln(["build"]).output == "gateway oci:\(f.dir("repo/out"))@\(digest) (up to date)")

        // kiln bake with the same inputs as flags (--owner and --mode apply to every overlay)
        // gives the same digest.
        let bake = try KilnTestSupport.kiln(["bake", "--base", "oci:\(f.dir("repo/base")):1.0",
                                             "--overlay", "\(f.root)/overlays/gateway/kong.conf:/etc/kong/kong.conf", "--owner", "1000:0", "--mode", "0640",
                                             "--overlay", "\(f.root)/overlays/gateway/declarative:/usr/local/kong/declarative",
                                             "--remove", "/etc/kong/kong.conf.default", "--env", "KONG_DATABASE=off", "--user", "kong",
                                             "--cmd", #"["kong","docker-start"]"#, "--quiet", "--output", "oci:\(f.dir("baked")):x"])
        #expect(bake.status == 0, "\(bake.stderr)")
        #expect(bake.output == "oci:\(f.dir("baked"))@\(digest)")

        // Terraform's external data source protocol: a flat object of strings.
        let terraform = try f.terraform(#"{"spec": "images/gateway.yaml"}"#)
        #expect(terraform.status == 0, "\(terraform.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(terraform.stdout.utf8)) as? [String: String])
        #expect(object == ["image": "oci:\(f.dir("repo/out"))@\(digest)", "digest": digest, "tag": "kiln.sha256." + digest.dropFirst(7),
                           "repository": "oci:\(f.dir("repo/out"))", "reference": "oci:\(f.dir("repo/out")):kiln.sha256." + digest.dropFirst(7)])
        let badQuery = try f.terraform(#"{"spec": "images/gateway.yaml", "env": "prod"}"#)
        #expect(badQuery.status == 1 && badQuery.stdout.isEmpty)
        #expect(badQuery.stderr == "kiln: error: terraform query: unknown key 'env' (known: spec)\n")
        let notJSON = try f.terraform("images/gateway.yaml")
        #expect(notJSON.status == 1 && notJSON.stderr.hasPrefix("kiln: error: terraform query: standard input must be a JSON object"))
    }

    @Test func lockCheckCatchesChangedSpecsAndVerifyNamesTheDifference() throws {
        let f = try Fixture()
        #expect(try f.kiln(["lock"]).status == 0)
        #expect(try f.kiln(["lock", "--check"]).status == 0)

        // A base change without relocking: check fails, plan and build refuse.
        try PeerImages.makeOCIBase(at: f.dir("repo/base"), tag: "2.0", work: f.dir)
        try f.writeSpec(base: "oci:\(f.dir("repo/base")):2.0", target: "oci:\(f.dir("repo/out"))")
        let check = try f.kiln(["lock", "--check"])
        #expect(check.status == 1)
        #expect(check.stderr == "kiln: error: \(f.root)/images/gateway.yaml: base changed from oci:\(f.dir("repo/base")):1.0 to oci:\(f.dir("repo/base")):2.0 since it was locked; run kiln lock\n")
        #expect(try f.kiln(["build"]).status == 1)
        #expect(!FileManager.default.fileExists(atPath: f.dir("repo/out")))
        #expect(try f.kiln(["lock"]).output.hasPrefix("gateway: updated"))
        #expect(try f.kiln(["lock", "--check"]).status == 0)

        // A hand-edited lock document is refused.
        let lockPath = "\(f.root)/kiln.lock"
        let text = try String(contentsOfFile: lockPath, encoding: .utf8)
        try text.replacingOccurrences(of: "KONG_DATABASE=postgres", with: "KONG_DATABASE=mysql").write(toFile: lockPath, atomically: true, encoding: .utf8)
        let edited = try f.kiln(["plan"])
        #expect(edited.status == 1)
        #expect(edited.stderr.contains("the text does not have that digest (edited by hand?); run kiln lock"), "\(edited.stderr)")
        try text.write(toFile: lockPath, atomically: true, encoding: .utf8)

        // Verify: missing first, then what a build wrote, then a tampered image under the content tag.
        let missing = try f.kiln(["verify"])
        #expect(missing.status == 1)
        #expect(missing.stdout.contains("is missing (not built yet?)"))
        #expect(try f.kiln(["build"]).status == 0)
        let verified = try f.kiln(["verify"])
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
        #expect(verified.output.hasSuffix(" verified"))

        let tag = try #require(try f.kiln(["plan", "--json"]).stdout.split(separator: "\"tag\":\"").last?.split(separator: "\"").first.map(String.init))
        try f.dir.write("other/kong.conf", "database = postgres\n")
        let tampered = try KilnTestSupport.kiln(["bake", "--quiet", "--base", "oci:\(f.dir("repo/base")):2.0", "--overlay", "\(f.dir("other/kong.conf")):/etc/kong/kong.conf",
                                                 "--env", "KONG_DATABASE=on", "--output", "oci:\(f.dir("repo/out")):\(tag)"])
        #expect(tampered.status == 0, "\(tampered.stderr)")
        let differs = try f.kiln(["verify"])
        #expect(differs.status == 1)
        #expect(differs.stderr == "kiln: error: gateway: the target does not hold what the spec and lock give\n")
        #expect(differs.stdout.contains("  layer 2 (kiln's layer): expected sha256:"), "\(differs.stdout)")
        #expect(differs.stdout.contains("  in the config: config.Env[1]: expected \"KONG_DATABASE=off\", found \"KONG_DATABASE=on\""), "\(differs.stdout)")
        #expect(differs.stdout.contains("  in the config: config.User: expected \"kong\", found \"root\"") || differs.stdout.contains("config.User"), "\(differs.stdout)")
    }

    /// `mtime:` and `compression:` reach plan and build (the lock does not depend on them, so
    /// changing them needs no relock); `epoch` is 0 whatever SOURCE_DATE_EPOCH says.
    @Test func specMtimeAndCompressionAreHonoured() throws {
        let f = try Fixture()
        #expect(try f.kiln(["lock"]).status == 0)
        func plannedDigest(_ environment: [String: String] = [:]) throws -> String {
            let plan = try KilnTestSupport.kiln(["plan", "--root", f.root], extraEnvironment: ["KILN_CONFIG": f.dir("kiln.yaml")].merging(environment) { $1 })
            #expect(plan.status == 0, "\(plan.stderr)")
            return String(plan.output.split(separator: "@").last ?? "")
        }
        let byDefault = try plannedDigest()

        try f.writeSpec(base: "oci:\(f.dir("repo/base")):1.0", target: "oci:\(f.dir("repo/out"))", extra: "mtime: epoch\ncompression: gzip")
        #expect(try f.kiln(["lock", "--check"]).status == 0)
        let epoch = try plannedDigest()
        #expect(epoch != byDefault)
        #expect(try plannedDigest(["SOURCE_DATE_EPOCH": "1700000000"]) == epoch)
        let build = try f.kiln(["build"])
        #expect(build.status == 0, "\(build.stderr)")
        #expect(build.output == "gateway oci:\(f.dir("repo/out"))@\(epoch) (built)")
        let layout = LayoutReader(f.dir("repo/out"))
        let layer = try #require((try layout.json(epoch)["layers"] as? [[String: Any]])?.last)
        #expect(layer["mediaType"] as? String == "application/vnd.oci.image.layer.v1.tar+gzip")
        let blob = f.dir("out/blobs/sha256/\((layer["digest"] as? String ?? "").dropFirst(7))")
        let times = try tarModificationTimes(blob)
        #expect(!times.isEmpty && times.values.allSatisfy { $0 == 0 })
        // zlib's gzip, not stored blocks: the first block is not stored (BTYPE 00).
        let first = try #require(try Data(contentsOf: URL(fileURLWithPath: blob)).dropFirst(10).first)
        #expect(first & 0b110 != 0)

        // The same choices as flags give the same digest.
        let bake = try KilnTestSupport.kiln(["bake", "--base", "oci:\(f.dir("repo/base")):1.0",
                                             "--overlay", "\(f.root)/overlays/gateway/kong.conf:/etc/kong/kong.conf", "--owner", "1000:0", "--mode", "0640",
                                             "--overlay", "\(f.root)/overlays/gateway/declarative:/usr/local/kong/declarative",
                                             "--remove", "/etc/kong/kong.conf.default", "--env", "KONG_DATABASE=off", "--user", "kong",
                                             "--cmd", #"["kong","docker-start"]"#, "--mtime", "0", "--compression", "gzip",
                                             "--quiet", "--output", "oci:\(f.dir("baked")):x"])
        #expect(bake.output == "oci:\(f.dir("baked"))@\(epoch)", "\(bake.stderr)")

        try f.writeSpec(base: "oci:\(f.dir("repo/base")):1.0", target: "oci:\(f.dir("repo/out"))", extra: "mtime: 1700000000")
        let seconds = try plannedDigest()
        #expect(seconds != byDefault && seconds != epoch)
        try f.writeSpec(base: "oci:\(f.dir("repo/base")):1.0", target: "oci:\(f.dir("repo/out"))", extra: "mtime: content\ncompression: stored-gzip")
        #expect(try plannedDigest() == byDefault)
    }

    /// A lock whose `pinned` was edited to another image: caught offline, and nothing is tagged.
    @Test func editedPinnedReferenceIsCaughtBeforeAnyTag() throws {
        let f = try Fixture()
        #expect(try f.kiln(["lock"]).status == 0)
        let lockPath = "\(f.root)/kiln.lock"
        let text = try String(contentsOfFile: lockPath, encoding: .utf8)
        // Point `pinned` at another image of the same layout (a second tag with other content).
        try PeerImages.makeOCIBase(at: f.dir("repo/base"), tag: "2.0", work: f.dir)
        let other = try #require(try LayoutReader(f.dir("repo/base")).entry(tag: "2.0")["digest"] as? String)
        let pinnedLine = try #require(text.split(separator: "\n").first { $0.contains("\"pinned\"") })
        let edited = pinnedLine.replacingOccurrences(of: #"sha256:[0-9a-f]{64}"#, with: other, options: .regularExpression)
        try text.replacingOccurrences(of: String(pinnedLine), with: edited).write(toFile: lockPath, atomically: true, encoding: .utf8)

        for command in [["lock", "--check"], ["plan"], ["build"]] {
            let result = try f.kiln(command)
            #expect(result.status == 1, "\(command): \(result.stderr)")
            #expect(result.stderr.contains("pinned") && result.stderr.contains("does not name the locked root"), "\(command): \(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: f.dir("repo/out")), "build wrote nothing")
    }

    /// `from: overlays/l/../passwd` with `overlays/l -> /etc/ssl` is /etc/passwd to the kernel
    /// (links first, then `..`); with a relative --root it was baked. Refused, with no output.
    @Test func fromThroughALinkAndDotDotIsResolvedBeforeTheContainmentCheck() throws {
        let f = try Fixture()
        try FileManager.default.createSymbolicLink(atPath: "\(f.root)/overlays/l", withDestinationPath: "/etc/ssl")
        try f.dir.write("repo/images/gateway.yaml", """
            base: oci:\(f.dir("repo/base")):1.0
            target: oci:\(f.dir("repo/out"))
            overlays:
              - from: overlays/l/../passwd
                to: /etc/stolen
            """)
        for root in ["repo", f.root] {
            let result = try run(kilnExecutable, ["lock", "--root", root], environment: ProcessInfo.processInfo.environment.merging(["KILN_CONFIG": f.dir("kiln.yaml")]) { $1 },
                                 currentDirectory: f.dir.path)
            #expect(result.status == 1, "\(root): \(result.stdout)\(result.stderr)")
            #expect(result.stderr.contains("'overlays/l/../passwd' is outside the repository"), "\(root): \(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: f.dir("repo/out")))
    }
}
