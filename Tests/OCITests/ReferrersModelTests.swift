import OCI
import Testing

/// The narrow model of referrers: any OCI manifest with a config and layers, whatever the config
/// type, and the referrers list that is only ever appended to.
@Suite struct ReferrersModelTests {
    let empty = #"{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2,"data":"e30="}"#
    let subject = #"{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:ddc6257145d964813659fc283d4efb66313d0120a136e93287cb48de4c788595","size":900}"#

    @Test func anArtifactWithTheEmptyConfigIsAReferrerButNotAnImage() throws {
        let text = #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.in-toto+json","config":\#(empty),"layers":[],"subject":\#(subject),"annotations":{"k":"v"}}"#
        let artifact = try ArtifactManifest(raw: Array(text.utf8), what: "artifact")
        #expect(artifact.artifactType == "application/vnd.in-toto+json")
        #expect(artifact.subject?.digest.description == "sha256:ddc6257145d964813659fc283d4efb66313d0120a136e93287cb48de4c788595")
        #expect(artifact.blobs.count == 1)
        #expect(String(decoding: artifact.referrerDescriptor.serialized(), as: UTF8.self)
                == #"{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\#(Digest.of(Array(text.utf8)))","size":\#(text.utf8.count),"artifactType":"application/vnd.in-toto+json","annotations":{"k":"v"}}"#)
        #expect(throws: OCIError.self) { try ImageManifest(raw: Array(text.utf8), what: "artifact") }

        // Without artifactType, the config's media type is the artifact type (cosign's signatures).
        let cosign = #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.dev.cosign.artifact.sig.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#
        #expect(try ArtifactManifest(raw: Array(cosign.utf8), what: "sig").artifactType == "application/vnd.dev.cosign.artifact.sig.v1+json")
        // An index, a Docker manifest, a bad subject: refused with one line.
        for bad in [#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#,
                    #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":\#(empty),"subject":{"digest":"md5:x"}}"#,
                    #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":\#(empty),"artifactType":7}"#] {
            #expect(throws: OCIError.self) { try ArtifactManifest(raw: Array(bad.utf8), what: "bad") }
        }
    }

    @Test func addingToAListKeepsEveryEntryInOrderAndIsIdempotent() throws {
        let text = #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:6e9d61e77b4488e843bd83bc27d81b89c52ae47880bb315aa6d9e2fd083b0a69","size":5,"x-vendor":{"kept":true}}],"annotations":{"z":"1","a":"2"}}"#
        let index = try ReferrersIndex(raw: Array(text.utf8), what: "index")
        let digest = Digest.of(Array("new".utf8))
        let entry = JSONValue.object([("mediaType", .string(MediaType.ociManifest)), ("digest", .string(digest.description)), ("size", .integer(3))])
        let added = try #require(try index.adding(entry, digest: digest))
        #expect(String(decoding: added.bytes, as: UTF8.self) == String(text.dropLast(#"],"annotations":{"z":"1","a":"2"}}"#.count))
                + #",{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\#(digest)","size":3}],"annotations":{"z":"1","a":"2"}}"#)
        #expect(try added.adding(entry, digest: digest) == nil)
        #expect(try ReferrersIndex().adding(entry, digest: digest)?.manifests.map(\.digest) == [digest])
    }
}
