import Foundation
import KilnTestSupport
import Testing

/// `kiln copy` carries what is attached to an image (its referrers) along with it, found by the
/// tag schema on the real registry (distribution 2.8 has no referrers API) and by the referrers
/// API through the declared shim in front of the same registry; skopeo and a plain-HTTP peer
/// read the result.
@Suite struct ReferrersCopyTests {
    /// The document under `reference` and its digest, read with skopeo; `nil` when absent.
    private func document(_ reference: String, _ registry: RegistryServer, _ dir: TemporaryDirectory) throws -> (json: [String: Any], digest: String)? {
        let result = try run("skopeo", ["inspect", "--raw"] + registry.skopeoFlags(dest: nil) + ["docker://\(reference)"])
        guard result.status == 0 else { return nil }
        let file = dir("doc-\(UUID().uuidString).json")
        try Data(result.stdout.utf8).write(to: URL(fileURLWithPath: file))
        let digest = try runChecked("skopeo", ["manifest-digest", file]).output
        return (try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]), digest)
    }

    private func listedDigests(_ index: [String: Any]?) -> [String] {
        ((index?["manifests"] as? [[String: Any]]) ?? []).compactMap { $0["digest"] as? String }
    }

    @Test func copyCarriesReferrersAttachedByTheTagSchemaAndByTheAPI() throws {
        let registry = try RegistryServer()
        let shim = try ReferrersShim(upstream: registry)
        let dir = try TemporaryDirectory()
        let env = try isolatedDockerEnvironment(dir).merging(["KILN_CACHE_DIR": ""]) { $1 }
        try PeerImages.makeTwoPlatformBase(at: dir("base"), work: dir)
        try runChecked("skopeo", ["copy", "--quiet", "--all"] + registry.skopeoFlags(dest: true) + ["oci:\(dir("base")):multi", "docker://\(registry.host)/qa/app:1"])
        let image = try #require(try document("\(registry.host)/qa/app:1", registry, dir))
        let child = try #require(listedDigests(image.json).first)
        func schemaTag(_ digest: String) -> String { digest.replacingOccurrences(of: ":", with: "-") }

        // (a) A signature on the index, attached by the tag schema (as cosign's fallback does).
        let signature = try ReferrerPeer.attach(registry: registry.host, repository: "qa/app", subject: image.digest, viaAPI: false)
        // (b) An SBOM on one platform manifest, attached through the referrers API (the shim).
        let sbom = try ReferrerPeer.attach(registry: shim.host, repository: "qa/app", subject: child, viaAPI: true, artifactType: "application/spdx+json", payload: "{\"spdxVersion\":\"SPDX-2.3\"}")

        // The registry as it is (no API): kiln finds the signature by the tag schema and writes it
        // the same way at the destination, index entry and all.
        let prod = try kiln(["copy", "\(registry.host)/qa/app:1", "\(registry.host)/prod/app:1"], extraEnvironment: env)
        #expect(prod.status == 0, "\(prod.stderr)")
        #expect(prod.output == "\(registry.host)/prod/app@\(image.digest)")
        #expect(prod.stderr.contains("kiln: note: copied 1 referrer\n"), "\(prod.stderr)")
        let prodIndex = try document("\(registry.host)/prod/app:\(schemaTag(image.digest))", registry, dir)
        #expect(listedDigests(prodIndex?.json) == [signature])
        #expect((prodIndex?.json["manifests"] as? [[String: Any]])?.first?["artifactType"] as? String == "application/vnd.example.signature")
        #expect(try ReferrerPeer.isComplete(registry: registry.host, repository: "prod/app", manifest: signature))
        #expect(try document("\(registry.host)/prod/app@\(signature)", registry, dir)?.digest == signature)
        // The SBOM was indexed by the API only: without the API, it is not found, and nothing is
        // written under the child's schema tag.
        #expect(try document("\(registry.host)/prod/app:\(schemaTag(child))", registry, dir) == nil)

        // Again: the schema index already lists the signature, so it is not rewritten.
        let again = try kiln(["copy", "--quiet", "\(registry.host)/qa/app:1", "\(registry.host)/prod/app:1"], extraEnvironment: env)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try document("\(registry.host)/prod/app:\(schemaTag(image.digest))", registry, dir)?.digest == prodIndex?.digest)

        // Through the shim (the registry now has the API): the SBOM is listed by the API and
        // attached at the destination through it; no schema tag is written there.
        let stage = try kiln(["copy", "\(registry.host)/qa/app:1", "\(registry.host)/stage/app:1", "--registry-endpoint", "\(registry.host)=\(shim.url)"], extraEnvironment: env)
        #expect(stage.status == 0, "\(stage.stderr)")
        #expect(stage.stderr.contains("kiln: note: copied 1 referrer\n"), "\(stage.stderr)")
        let listed = try #require(try ReferrerPeer.listed(registry: shim.host, repository: "stage/app", subject: child))
        #expect(listed.compactMap { $0["digest"] as? String } == [sbom])
        #expect(listed.first?["artifactType"] as? String == "application/spdx+json")
        #expect(try ReferrerPeer.isComplete(registry: registry.host, repository: "stage/app", manifest: sbom))
        #expect(try document("\(registry.host)/stage/app:\(schemaTag(child))", registry, dir) == nil)
        #expect(try document("\(registry.host)/stage/app:\(schemaTag(image.digest))", registry, dir) == nil)

        // --no-referrers copies the image alone.
        let bare = try kiln(["copy", "--no-referrers", "\(registry.host)/qa/app:1", "\(registry.host)/bare/app:1"], extraEnvironment: env)
        #expect(bare.status == 0 && !bare.stderr.contains("referrer"), "\(bare.stderr)")
        #expect(try document("\(registry.host)/bare/app:\(schemaTag(image.digest))", registry, dir) == nil)
        #expect(try document("\(registry.host)/bare/app:1", registry, dir)?.digest == image.digest)

        // A referrer listed under the index although its subject is a platform manifest is not
        // attached to the index at the destination (a note says so); under its own subject it is.
        let other = listedDigests(image.json)[1]  // arm64 (the last entry repeats amd64 as an attestation)
        #expect(other != child)
        let stray = try ReferrerPeer.attach(registry: registry.host, repository: "qa/app", subject: other, viaAPI: false, payload: "other")
        try ReferrerPeer.misfile(registry: registry.host, repository: "qa/app", manifest: stray, under: image.digest)
        let strayCopy = try kiln(["copy", "\(registry.host)/qa/app:1", "\(registry.host)/prod2/app:1"], extraEnvironment: env)
        #expect(strayCopy.status == 0, "\(strayCopy.stderr)")
        #expect(strayCopy.stderr.contains("referrer \(stray) names another subject; ignored"), "\(strayCopy.stderr)")
        #expect(strayCopy.stderr.contains("kiln: note: copied 2 referrers\n"), "\(strayCopy.stderr)")
        #expect(listedDigests(try document("\(registry.host)/prod2/app:\(schemaTag(image.digest))", registry, dir)?.json) == [signature])
        #expect(listedDigests(try document("\(registry.host)/prod2/app:\(schemaTag(other))", registry, dir)?.json) == [stray])
        #expect(try ReferrerPeer.isComplete(registry: registry.host, repository: "prod2/app", manifest: stray))
    }

    /// A hostile source's tag-schema index: 300 referrers (kiln follows 256 and says so), one
    /// listed twice, one naming another subject (ignored), one listed but not there (a stale
    /// entry: the list is a hint; it failed the whole copy). The copy finishes, the image is
    /// tagged, and the destination lists exactly what was followed.
    @Test func aHostileReferrersListIsBounded() throws {
        let registry = try RegistryServer()
        let dir = try TemporaryDirectory()
        let env = try isolatedDockerEnvironment(dir).merging(["KILN_CACHE_DIR": ""]) { $1 }
        try PeerImages.makeOCIBase(at: dir("base"), work: dir)
        try runChecked("skopeo", ["copy", "--quiet"] + registry.skopeoFlags(dest: true) + ["oci:\(dir("base")):base", "docker://\(registry.host)/qa/app:1"])
        let image = try #require(try document("\(registry.host)/qa/app:1", registry, dir))
        let raw = try runChecked("skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(registry.host)/qa/app:1"]).stdout
        let stale = try runChecked("python3", ["-c", #"""
            import hashlib, json, sys, urllib.request
            host, subject, size, kind = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
            def put(path, body, content_type):
                request = urllib.request.Request(f"http://{host}{path}", data=body, method="PUT", headers={"Content-Type": content_type})
                urllib.request.urlopen(request).read()
            empty = b"{}"
            empty_digest = "sha256:" + hashlib.sha256(empty).hexdigest()
            start = urllib.request.urlopen(urllib.request.Request(f"http://{host}/v2/qa/app/blobs/uploads/", data=b"", method="POST"))
            location = start.headers["Location"]
            location = location if location.startswith("http") else f"http://{host}{location}"
            urllib.request.urlopen(urllib.request.Request(location + ("&" if "?" in location else "?") + "digest=" + empty_digest, data=empty, method="PUT",
                                                         headers={"Content-Type": "application/octet-stream"})).read()
            entries = []
            def referrer(n, subject_digest):
                manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "artifactType": "application/vnd.example.sig",
                            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty_digest, "size": 2},
                            "layers": [{"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty_digest, "size": 2}],
                            "subject": {"mediaType": kind, "digest": subject_digest, "size": size}, "annotations": {"n": str(n)}}
                body = json.dumps(manifest, separators=(",", ":")).encode()
                digest = "sha256:" + hashlib.sha256(body).hexdigest()
                put(f"/v2/qa/app/manifests/{digest}", body, manifest["mediaType"])
                return {"mediaType": manifest["mediaType"], "digest": digest, "size": len(body), "artifactType": manifest["artifactType"]}
            entries.append(referrer("other", "sha256:" + "0" * 64))
            for n in range(300):
                entries.append(referrer(n, subject))
            entries.insert(2, entries[1])
            # Listed, then deleted (a signature removed since): a stale hint.
            stale = referrer("stale", subject)
            entries.insert(3, stale)
            index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries}).encode()
            put("/v2/qa/app/manifests/" + subject.replace(":", "-"), index, "application/vnd.oci.image.index.v1+json")
            urllib.request.urlopen(urllib.request.Request(f"http://{host}/v2/qa/app/manifests/{stale['digest']}", method="DELETE")).read()
            print(stale["digest"])
            """#, registry.host, image.digest, String(raw.utf8.count), (image.json["mediaType"] as? String) ?? "application/vnd.oci.image.manifest.v1+json"])
        let copy = try kiln(["copy", "\(registry.host)/qa/app:1", "\(registry.host)/prod/app:1"], extraEnvironment: env)
        #expect(copy.status == 0, "\(copy.stderr)")
        #expect(copy.output == "\(registry.host)/prod/app@\(image.digest)")
        #expect(copy.stderr.contains("kiln: note: copied 256 referrers\n"), "\(copy.stderr.suffix(2000))")
        #expect(copy.stderr.contains("more than 256 referrers; the rest are left out"), "\(copy.stderr.suffix(2000))")
        #expect(copy.stderr.contains("listed referrer \(stale.output) is not there; left out"), "\(copy.stderr.suffix(2000))")
        let listed = listedDigests(try document("\(registry.host)/prod/app:\(image.digest.replacingOccurrences(of: ":", with: "-"))", registry, dir)?.json)
        #expect(listed.count == 256 && Set(listed).count == 256)
    }
}

/// `kiln bake --provenance` attaches the same kind of statement as `kiln build`, one artifact on
/// the index and one per platform manifest, and `kiln copy` carries all of them along.
@Suite struct BakeProvenanceTests {
    @Test func bakeAttachesProvenanceAndCopyCarriesIt() throws {
        let registry = try RegistryServer()
        let dir = try TemporaryDirectory()
        let env = try isolatedDockerEnvironment(dir).merging(["KILN_CACHE_DIR": ""]) { $1 }
        try PeerImages.makeTwoPlatformBase(at: dir("base"), work: dir)
        try dir.write("overlay/app.conf", "mode = qa\n")
        let arguments = ["bake", "--base", "oci:\(dir("base")):multi", "--overlay", "\(dir("overlay")):/etc/app", "--env", "STAGE=qa",
                         "--output", "\(registry.host)/qa/app:1", "--provenance", "--builder-id", "https://ci.example/bake",
                         "--provenance-file", dir("statement.json"), "--predicate-file", dir("predicate.json"), "--json", "--quiet"]
        let refused = try kiln(["bake", "--base", "oci:\(dir("base")):multi", "--env", "A=1", "--output", "oci:\(dir("out")):x", "--builder-id", "x"], extraEnvironment: env)
        #expect(refused.status != 0 && refused.stderr.contains("go with --provenance"), "\(refused.stderr)")

        let baked = try BakeJSON(kiln(arguments, extraEnvironment: env))
        let validation = try run("python3", ["\(repositoryRoot)/Tests/Fixtures/validate_provenance.py", dir("statement.json"), dir("predicate.json")])
        #expect(validation.output == "ok", "\(validation.stdout)\(validation.stderr)")
        let statement = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir("statement.json")))) as? [String: Any])
        let subjects = ((statement["subject"] as? [[String: Any]]) ?? []).compactMap { ($0["digest"] as? [String: String])?["sha256"] }
        #expect(subjects.count == 3 && subjects.first == String(baked.digest.dropFirst(7)))
        let definition = ((statement["predicate"] as? [String: Any])?["buildDefinition"] as? [String: Any]) ?? [:]
        let files = ((definition["resolvedDependencies"] as? [[String: Any]]) ?? []).compactMap { $0["uri"] as? String }
        #expect(files == ["file:app.conf"], "\(files)")
        #expect(!String(decoding: try Data(contentsOf: URL(fileURLWithPath: dir("statement.json"))), as: UTF8.self).contains(dir("")), "a build-machine path leaked")

        // One artifact on the index and one on each platform manifest, by the tag schema.
        func listed(_ repository: String, _ subject: String) throws -> [String] {
            let raw = try run("skopeo", ["inspect", "--raw"] + registry.skopeoFlags(dest: nil) + ["docker://\(registry.host)/\(repository):\(subject.replacingOccurrences(of: ":", with: "-"))"])
            guard raw.status == 0 else { return [] }
            let index = try JSONSerialization.jsonObject(with: Data(raw.stdout.utf8)) as? [String: Any]
            return ((index?["manifests"] as? [[String: Any]]) ?? []).compactMap { $0["digest"] as? String }
        }
        let subjectDigests = subjects.map { "sha256:\($0)" }
        let attached = try subjectDigests.map { try listed("qa/app", $0) }
        #expect(attached.allSatisfy { $0.count == 1 }, "\(attached)")

        // Baked again: the same statement, nothing added.
        _ = try BakeJSON(kiln(arguments, extraEnvironment: env))
        #expect(try subjectDigests.map { try listed("qa/app", $0) } == attached)

        // Promotion carries the provenance along.
        let copy = try kiln(["copy", "\(registry.host)/qa/app:1", "\(registry.host)/prod/app:1"], extraEnvironment: env)
        #expect(copy.status == 0 && copy.stderr.contains("copied 3 referrers"), "\(copy.stderr)")
        #expect(try subjectDigests.map { try listed("prod/app", $0) } == attached)
    }
}
