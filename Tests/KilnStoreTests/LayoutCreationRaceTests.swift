import Foundation
import KilnStore
import KilnTestSupport
import OCI
import Testing

/// Writers creating one new layout at once, in one process (tighter timing than processes):
/// every one succeeds. Before the layout lock guarded the "is this a layout" look, a writer
/// could see another's `index.json` before its `oci-layout` marker and refuse the directory.
@Suite struct LayoutCreationRaceTests {
    @Test func concurrentWritersOfOneFreshLayoutAllSucceed() async throws {
        let dir = try TemporaryDirectory()
        let config: [UInt8] = Array(#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#.utf8)
        let configDescriptor = Descriptor(mediaType: MediaType.ociConfig, digest: Digest.of(config), size: Int64(config.count))
        let manifest = Array(#"{"schemaVersion":2,"mediaType":"\#(MediaType.ociManifest)","config":{"mediaType":"\#(MediaType.ociConfig)","digest":"\#(configDescriptor.digest)","size":\#(config.count)},"layers":[]}"#.utf8)
        let manifestDescriptor = Descriptor(mediaType: MediaType.ociManifest, digest: Digest.of(manifest), size: Int64(manifest.count))
        let writers = 8
        var failures: [String] = []
        for round in 0..<150 {
            let directory = dir("round-\(round)/layout")
            let errors = await withTaskGroup(of: String?.self) { group in
                for writer in 0..<writers {
                    group.addTask {
                        let layout = OCILayout(LayoutReference(directory: directory, tag: "t\(writer)"))
                        do {
                            try await layout.put(config, as: configDescriptor)
                            try await layout.tag(manifestDescriptor, bytes: manifest, additionalTags: [])
                            return nil
                        } catch {
                            layout.abort()
                            return "\(error)"
                        }
                    }
                }
                var errors: [String] = []
                for await error in group { if let error { errors.append(error) } }
                return errors
            }
            failures += errors.map { "round \(round): \($0)" }
            let tags = try (LayoutReader(directory).index()["manifests"] as? [[String: Any]] ?? [])
                .compactMap { ($0["annotations"] as? [String: String])?["org.opencontainers.image.ref.name"] }
            #expect(errors.isEmpty || Set(tags).count <= writers)
            if errors.isEmpty { #expect(Set(tags) == Set((0..<writers).map { "t\($0)" }), "round \(round): \(tags.sorted())") }
        }
        #expect(failures.isEmpty, "\(failures.count) writers failed: \(failures.prefix(3))")
    }
}
