import Foundation
import KilnStore
import KilnTestSupport
import OCI
import Testing

/// Two writers of one layout: a blob the failing one wrote, but the other one tagged meanwhile,
/// must survive the failing one's abort.
@Suite struct LayoutAbortTests {
    @Test func anAbortLeavesWhatAnotherRunTagged() async throws {
        let dir = try TemporaryDirectory()
        let config: [UInt8] = Array(#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#.utf8)
        let configDescriptor = Descriptor(mediaType: MediaType.ociConfig, digest: Digest.of(config), size: Int64(config.count))
        let manifest = Array(#"{"schemaVersion":2,"mediaType":"\#(MediaType.ociManifest)","config":{"mediaType":"\#(MediaType.ociConfig)","digest":"\#(configDescriptor.digest)","size":\#(config.count)},"layers":[]}"#.utf8)
        let manifestDescriptor = Descriptor(mediaType: MediaType.ociManifest, digest: Digest.of(manifest), size: Int64(manifest.count))

        // Run A writes the config (it is A's), run B finds it and tags an image with it.
        let first = OCILayout(LayoutReference(directory: dir("layout"), tag: "a"))
        try await first.put(config, as: configDescriptor)
        let second = OCILayout(LayoutReference(directory: dir("layout"), tag: "b"))
        try await second.tag(manifestDescriptor, bytes: manifest, additionalTags: [])

        // Then A fails: its abort must not take B's config away, nor the layout's own files.
        first.abort()
        #expect(FileManager.default.fileExists(atPath: dir("layout/blobs/sha256/\(configDescriptor.digest.hex)")))
        #expect(FileManager.default.fileExists(atPath: dir("layout/oci-layout")))
        let copy = try run("skopeo", ["copy", "--quiet", "oci:\(dir("layout")):b", "dir:\(dir("copy"))"])
        #expect(copy.status == 0, "\(copy.stderr)")
    }
}
