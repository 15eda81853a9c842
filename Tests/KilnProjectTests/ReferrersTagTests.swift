import Foundation
import KilnTestSupport
import Testing

/// The content tag is `kiln.sha256.<hex>`, never the referrers tag schema's `sha256-<hex>`
/// (0.2.0's content tag), where registries without the referrers API keep an image's
/// signatures and attestations (kiln's own provenance among them): a rebuild and a verify leave
/// what others added there alone.
@Suite struct ReferrersTagTests {
    @Test func whatIsAttachedUnderTheSchemaTagSurvivesRebuildAndVerify() throws {
        let dir = try TemporaryDirectory()
        let registry = try RegistryServer()
        try PeerImages.makeOCIBase(at: dir("repo/base"), tag: "1.0", work: dir)
        try dir.write("kiln.yaml", "registries: {}\n")
        try dir.write("repo/overlays/app.conf", "x = 1\n")
        try dir.write("repo/images/app.yaml", """
            base: oci:\(dir("repo/base")):1.0
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

        // kiln's provenance is listed under the schema tag sha256-<hex> (registry 2.8 has no
        // referrers API); a signer adds its signature to that index, as cosign's fallback does.
        func listed() throws -> [String] {
            let raw = try runChecked("skopeo", ["inspect", "--raw"] + registry.skopeoFlags(dest: nil) + ["docker://\(registry.host)/svc/app:sha256-\(hex)"]).stdout
            let index = try JSONSerialization.jsonObject(with: Data(raw.utf8)) as? [String: Any]
            return ((index?["manifests"] as? [[String: Any]]) ?? []).compactMap { $0["digest"] as? String }
        }
        let provenance = try listed()
        #expect(provenance.count == 1)
        let signature = try ReferrerPeer.attach(registry: registry.host, repository: "svc/app", subject: digest, viaAPI: false)
        #expect(try listed() == provenance + [signature])

        let again = try kiln(["build"])
        #expect(again.status == 0 && again.output.hasSuffix("(up to date)"), "\(again.stdout)\(again.stderr)")
        let verify = try kiln(["verify"])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        // Both tags survive, and the index still lists the provenance and the signature.
        #expect(try KilnTestSupport.kiln(["digest", "\(registry.host)/svc/app:kiln.sha256.\(hex)"]).output == digest)
        #expect(try listed() == provenance + [signature], "the attached index was replaced")
        #expect(try ReferrerPeer.isComplete(registry: registry.host, repository: "svc/app", manifest: signature))

        // kiln writes no tag of the schema's shape, from a spec or from the command line.
        try dir.write("repo/images/app.yaml", """
            base: oci:\(dir("repo/base")):1.0
            target: \(registry.host)/svc/app
            tags: [sha256-\(hex).sig]
            """)
        let refused = try kiln(["plan"])
        #expect(refused.status == 1 && refused.stderr.contains("referrers tag schema"), "\(refused.stderr)")
        let bake = try KilnTestSupport.kiln(["bake", "--base", "oci:\(dir("repo/base")):1.0", "--overlay", "\(dir("repo/overlays/app.conf")):/etc/app.conf",
                                             "--output", "\(registry.host)/svc/app:sha256-\(hex)"])
        #expect(bake.status == 1 && bake.stderr.contains("referrers tag schema"), "\(bake.stderr)")
    }
}
