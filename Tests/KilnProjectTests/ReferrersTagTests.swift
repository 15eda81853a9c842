import Foundation
import KilnTestSupport
import Testing

/// The content tag is `kiln.sha256.<hex>`, never the referrers tag schema's `sha256-<hex>`
/// (0.2.0's content tag), where registries without the referrers API keep an image's
/// signatures and attestations: a rebuild and a verify leave that tag alone.
@Suite struct ReferrersTagTests {
    @Test func whatIsAttachedUnderTheSchemaTagSurvivesRebuildAndVerify() throws {
        let dir = try TemporaryDirectory()
        let registry = try RegistryServer()
        try PeerImages.makeOCIBase(at: dir("base"), tag: "1.0", work: dir)
        try dir.write("kiln.yaml", "registries: {}\n")
        try dir.write("repo/overlays/app.conf", "x = 1\n")
        try dir.write("repo/images/app.yaml", """
            base: oci:\(dir("base")):1.0
            target: \(registry.host)/svc/app
            tags: [latest]
            overlays:
              - from: overlays/app.conf
                to: /etc/app.conf
            """)
        func kiln(_ arguments: [String]) throws -> ProcessResult {
            try KilnTestSupport.kiln(arguments + ["--root", dir("repo")], extraEnvironment: ["KILN_CONFIG": dir("kiln.yaml")])
        }
        #expect(try kiln(["lock"]).status == 0)
        let build = try kiln(["build", "--json", "--quiet"])
        #expect(build.status == 0, "\(build.stderr)")
        let image = try #require((try JSONSerialization.jsonObject(with: Data(build.stdout.utf8)) as? [String: Any])?["images"] as? [String: [String: String]])["app"]
        let digest = try #require(image?["digest"])
        let hex = String(digest.dropFirst("sha256:".count))
        #expect(image?["tag"] == "kiln.sha256.\(hex)")

        // What a signer attaches by the tag schema (a stand-in index: another image) under sha256-<hex>.
        try PeerImages.makeOCIBase(at: dir("attached"), tag: "sig", work: dir)
        try runChecked("skopeo", ["copy", "--quiet", "oci:\(dir("attached")):sig"] + registry.skopeoFlags(dest: true) + ["docker://\(registry.host)/svc/app:sha256-\(hex)"])
        let attached = try runChecked("skopeo", ["inspect", "--format", "{{.Digest}}"] + registry.skopeoFlags(dest: nil) + ["docker://\(registry.host)/svc/app:sha256-\(hex)"]).output

        let again = try kiln(["build"])
        #expect(again.status == 0 && again.output.hasSuffix("(up to date)"), "\(again.stdout)\(again.stderr)")
        let verify = try kiln(["verify"])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        let after = try runChecked("skopeo", ["inspect", "--format", "{{.Digest}}"] + registry.skopeoFlags(dest: nil) + ["docker://\(registry.host)/svc/app:sha256-\(hex)"]).output
        #expect(after == attached, "the attached index was replaced")

        // kiln writes no tag of the schema's shape, from a spec or from the command line.
        try dir.write("repo/images/app.yaml", """
            base: oci:\(dir("base")):1.0
            target: \(registry.host)/svc/app
            tags: [sha256-\(hex).sig]
            """)
        let refused = try kiln(["plan"])
        #expect(refused.status == 1 && refused.stderr.contains("referrers tag schema"), "\(refused.stderr)")
        let bake = try KilnTestSupport.kiln(["bake", "--base", "oci:\(dir("base")):1.0", "--overlay", "\(dir("repo/overlays/app.conf")):/etc/app.conf",
                                             "--output", "\(registry.host)/svc/app:sha256-\(hex)"])
        #expect(bake.status == 1 && bake.stderr.contains("referrers tag schema"), "\(bake.stderr)")
    }
}
