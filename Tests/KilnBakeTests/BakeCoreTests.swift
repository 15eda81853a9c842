import KilnRecipe
import KilnRegistry
import KilnStore
import OCI
import Testing
@testable import KilnBake

/// The bake's core over an in-memory source and destination (``MemoryImages``): the image
/// graph's platform rule, the writer's transaction order, the blob copier and the derivation,
/// checked in milliseconds. The end-to-end suites check the same against real peers.
@Suite struct ImageGraphTests {
    let images = MemoryImages()
    var build: MemoryImageBuilder { MemoryImageBuilder(images: images) }
    let amd64 = Platform(os: "linux", architecture: "amd64")
    let arm64 = Platform(os: "linux", architecture: "arm64", variant: "v8")

    private func fetched(_ digest: Digest) -> Bool { images.events.contains("fetch \(digest)") }

    @Test func entriesWithoutPlatformTakeItFromTheirConfig() async throws {
        let a = build.image(architecture: "amd64", layer: "a")
        let b = build.image(architecture: "arm64", variant: "v8", layer: "b")
        let root = build.index([(a.descriptor, nil), (b.descriptor, nil)])
        let graph = try await ImageGraph.read(from: images, root: root, what: "base")
        #expect(graph.isIndex && graph.platformEntries.count == 2)
        let all = try await graph.allImages()
        #expect(all.map(\.platform) == [amd64, arm64])
        #expect(all.map(\.descriptor.digest) == [a.descriptor.digest, b.descriptor.digest])
        #expect(try await graph.image(for: arm64).descriptor.digest == b.descriptor.digest)
        #expect(try await graph.images({ $0 == amd64 }, requested: "linux/amd64").map(\.descriptor.digest) == [a.descriptor.digest])
    }

    @Test func aDeclaredPlatformWinsAndAnUnwantedOneIsNeverRead() async throws {
        let a = build.image(architecture: "amd64", layer: "a")
        let b = build.image(architecture: "arm64", variant: "v8", layer: "b")
        let root = build.index([(a.descriptor, "linux/amd64"), (b.descriptor, "linux/arm64/v8")])
        let graph = try await ImageGraph.read(from: images, root: root, what: "base")
        let chosen = try await graph.images(amd64.matches, requested: "linux/amd64")
        #expect(chosen.map(\.platform) == [amd64])
        #expect(fetched(a.descriptor.digest) && fetched(a.config.digest))
        #expect(!fetched(b.descriptor.digest) && !fetched(b.config.digest))
    }

    @Test func attestationsAndUnknownPlatformsAreNotImages() async throws {
        let a = build.image(architecture: "amd64", layer: "a")
        let attestation = #"{"mediaType":"\#(MediaType.ociManifest)","digest":"\#(a.descriptor.digest)","size":\#(a.descriptor.size),"platform":{"os":"unknown","architecture":"unknown"},"annotations":{"vnd.docker.reference.type":"attestation-manifest"}}"#
        let root = build.index([(a.descriptor, nil)], extra: [attestation])
        let graph = try await ImageGraph.read(from: images, root: root, what: "base")
        #expect(graph.index?.manifests.count == 2)
        #expect(try await graph.allImages().map(\.platform) == [amd64])
    }

    /// Several images of one platform: the first in index order, as containerd, Docker and
    /// go-containerregistry choose; a selection takes them all.
    @Test func ambiguityTakesTheFirstInIndexOrder() async throws {
        let v7 = build.image(architecture: "arm", variant: "v7", layer: "v7")
        let v6 = build.image(architecture: "arm", variant: "v6", layer: "v6")
        let root = build.index([(v7.descriptor, nil), (v6.descriptor, "linux/arm/v6")])
        let graph = try await ImageGraph.read(from: images, root: root, what: "base")
        let arm = Platform(os: "linux", architecture: "arm")
        #expect(try await graph.image(for: arm).descriptor.digest == v7.descriptor.digest)
        #expect(try await graph.image(for: Platform(os: "linux", architecture: "arm", variant: "v6")).descriptor.digest == v6.descriptor.digest)
        #expect(try await graph.images(arm.matches, requested: "linux/arm").count == 2)
    }

    @Test func noMatchNamesWhatThereIs() async throws {
        let a = build.image(architecture: "amd64", layer: "a")
        let b = build.image(architecture: "arm64", variant: "v8", layer: "b")
        let root = build.index([(a.descriptor, "linux/amd64"), (b.descriptor, nil)])
        let graph = try await ImageGraph.read(from: images, root: root, what: "base")
        await #expect(throws: StoreError.noImageForPlatform(what: "base", requested: "linux/s390x", available: ["linux/amd64", "linux/arm64/v8"])) {
            try await graph.image(for: Platform(os: "linux", architecture: "s390x"))
        }
        #expect(String(describing: StoreError.noImageForPlatform(what: "base", requested: "linux/s390x", available: ["linux/amd64"]))
            == "base: no image for platform linux/s390x (there are: linux/amd64)")
        // The index names its platforms: a hostile one names 50,000, with terminal escapes.
        let hostile = (0..<50_000).map { "linux\u{1B}[2J/\($0)" }
        #expect(String(describing: StoreError.noImageForPlatform(what: "base", requested: "linux/s390x", available: hostile))
            == "base: no image for platform linux/s390x (there are: " + (0..<10).map { "linux\\u{1b}[2J/\($0)" }.joined(separator: ", ") + ", … (50000))")
    }

    @Test func aSingleManifestIsItsConfigsPlatform() async throws {
        let a = build.image(architecture: "arm64", layer: "a")
        images.root = a.descriptor
        let graph = try await ImageGraph.read(from: images, what: "base")
        #expect(!graph.isIndex && graph.manifest != nil && graph.platformEntries.isEmpty)
        let only = try await graph.onlyImage()
        #expect(only.platform == Platform(os: "linux", architecture: "arm64"))
        #expect(only.descriptor.digest == a.descriptor.digest)
        #expect(try await graph.image(for: arm64).descriptor.digest == a.descriptor.digest)
        await #expect(throws: StoreError.noImageForPlatform(what: "base", requested: "linux/amd64", available: ["linux/arm64"])) {
            try await graph.image(for: amd64)
        }
    }

    @Test func aConfigThatIsNotAnObjectIsRefused() async throws {
        let config = images.add(Array("[1]".utf8), mediaType: MediaType.ociConfig)
        let manifest = images.add(Array(#"{"schemaVersion":2,"mediaType":"\#(MediaType.ociManifest)","config":{"mediaType":"\#(MediaType.ociConfig)","digest":"\#(config.digest)","size":\#(config.size)},"layers":[]}"#.utf8), mediaType: MediaType.ociManifest)
        let graph = try await ImageGraph.read(from: images, root: manifest, what: "base")
        await #expect(throws: OCIError.malformed(what: "config \(config.digest) of base", reason: "not a JSON object")) { try await graph.onlyImage() }
    }
}

@Suite struct ImageGraphWriterTests {
    let source = MemoryImages()
    let destination = MemoryImages()
    let output = ImageReference.layout(LayoutReference(directory: "/nonexistent/kiln-unit", tag: "t"))

    private func writer(create: RepositoryCreation? = nil) throws -> ImageGraphWriter {
        try ImageGraphWriter(store: ImageSession(), to: output, destination: destination, create: create, progress: TransferProgress(mode: .quiet))
    }

    /// A two-platform graph: two shared-layer images, their configs as documents, an index.
    private func graph() -> ImageGraphWriter.Graph {
        let build = MemoryImageBuilder(images: source)
        let a = build.image(architecture: "amd64", layer: "shared")
        let b = build.image(architecture: "arm64", layer: "shared")
        let index = build.index([(a.descriptor, "linux/amd64"), (b.descriptor, "linux/arm64")])
        func document(_ descriptor: Descriptor) -> ImageGraphWriter.Document {
            ImageGraphWriter.Document(descriptor: descriptor, bytes: try! awaitless(source, descriptor))
        }
        return ImageGraphWriter.Graph(blobs: [a.layer, b.layer], documents: [document(a.config), document(b.config)],
                                      children: [document(a.descriptor), document(b.descriptor)], root: document(index), additionalTags: ["v2"])
    }

    @Test func blobsThenDocumentsThenChildrenThenTheTagLast() async throws {
        let graph = graph()
        try await writer().write(graph, from: source)
        let steps = destination.events.map { $0.split(separator: " ").first.map(String.init) ?? "" }
        // The shared layer once.
        #expect(steps == ["putBlob", "put", "put", "putManifest", "putManifest", "root", "tag"])
        #expect(destination.tags["latest"]?.digest == graph.root.descriptor.digest && destination.tags["v2"] != nil)
        #expect(source.events.filter { $0.hasPrefix("open") }.count == 1)
    }

    @Test func aBlobAlreadyThereIsNeitherReadNorWritten() async throws {
        let graph = graph()
        destination.add(try await source.fetch(graph.blobs[0]))
        try await BlobCopier.copyAll(graph.blobs, from: source, to: destination, jobs: 2, progress: TransferProgress(mode: .quiet))
        #expect(!source.events.contains { $0.hasPrefix("open") })
        #expect(!destination.events.contains { $0.hasPrefix("putBlob") })
    }

    @Test func aFailureBeforeTheTagRemovesWhatWasWrittenAndTagsNothing() async throws {
        let graph = graph()
        destination.failing = "putManifest"
        await #expect(throws: MemoryImages.Failure.self) { try await writer().write(graph, from: source) }
        #expect(destination.tags.isEmpty)
        #expect(destination.events.last == "abort")
        #expect(!destination.holds(graph.blobs[0].digest) && !destination.holds(graph.documents[0].descriptor.digest))
    }

    /// The stage (a bake's layer) runs after the preparation and is undone with the rest.
    @Test func theStageRunsInsideTheTransaction() async throws {
        let graph = graph()
        destination.failing = "tag"
        await #expect(throws: MemoryImages.Failure.self) {
            _ = try await writer().write(from: source) { destination in
                let blob = try destination.makeBlobWriter()
                try Array("layer".utf8).withUnsafeBytes { try blob.write($0) }
                try await blob.commit(as: Descriptor.of(Array("layer".utf8), mediaType: ""))
                return (graph, ())
            }
        }
        #expect(destination.events.first?.hasPrefix("layer") == true)
        #expect(!destination.holds(Digest.of(Array("layer".utf8))))
        #expect(destination.tags.isEmpty)
    }

    /// The preparation runs before anything, and its failure writes nothing: here
    /// `--create-repository` for a destination no preparation applies to.
    @Test func aFailedPreparationWritesNothing() async throws {
        let graph = graph()
        await #expect(throws: BakeError.createRepositoryNeedsECR(output.description)) {
            try await writer(create: RepositoryCreation()).write(from: source) { _ in
                // Never reached: the stage runs only after the preparation.
                _ = try await source.fetch(graph.root.descriptor)
                return (graph, ())
            }
        }
        #expect(source.events.isEmpty)
        #expect(destination.events.isEmpty)
    }
}

@Suite struct DerivationTests {
    let images = MemoryImages()

    private func request(_ platforms: PlatformSelection = .all) -> BakeRequest {
        var request = BakeRequest(base: .layout(LayoutReference(directory: "/base", tag: "1")), output: .layout(LayoutReference(directory: "/out", tag: "1")), overlays: [], platforms: platforms)
        request.edits.env = [("A", "1")]
        return request
    }

    /// A config-only bake of an index whose entries have no `platform`: the platforms come
    /// from the configs, the index keeps its entries, each child gets the new config.
    @Test func configOnlyBakeOfAPlatformlessIndex() async throws {
        let build = MemoryImageBuilder(images: images)
        let a = build.image(architecture: "amd64", layer: "a")
        let b = build.image(architecture: "arm64", variant: "v8", layer: "b")
        images.root = build.index([(a.descriptor, nil), (b.descriptor, nil)])
        let base = try await BaseImage.load(from: images, reference: "base", platforms: .all, logger: Baker().logger)
        let derived = try Derivation.derive(base, layers: nil, request: request(), baseName: "example.org/base:1")
        #expect(derived.isIndex && derived.images.map(\.platform.description) == ["linux/amd64", "linux/arm64/v8"])
        #expect(derived.images.map(\.base.digest) == [a.descriptor.digest, b.descriptor.digest])
        let config = try JSONValue(parsing: derived.images[0].configBytes, what: "config")
        #expect(config["config"]?["Env"] == .array([.string("PATH=/bin"), .string("A=1")]))
        let manifest = try ImageManifest(raw: derived.images[1].manifestBytes, what: "manifest")
        #expect(manifest.layers.map(\.digest) == [b.layer.digest])
        #expect(try JSONValue(parsing: derived.images[1].manifestBytes, what: "manifest")["annotations"]?[AnnotationKey.baseDigest]?.stringValue == b.descriptor.digest.description)
        let index = try ImageIndex(raw: derived.rootBytes, what: "index")
        #expect(index.manifests.map(\.digest) == derived.images.map(\.manifest.digest))
        #expect(try JSONValue(parsing: derived.rootBytes, what: "index")["annotations"]?[AnnotationKey.baseName]?.stringValue == "example.org/base:1")
        #expect(derived.root.digest == Digest.of(derived.rootBytes))
        // The same inputs give the same bytes.
        #expect(try Derivation.derive(base, layers: nil, request: request(), baseName: "example.org/base:1").rootBytes == derived.rootBytes)
        // One platform chosen: only it, still as an index.
        let one = try await BaseImage.load(from: images, reference: "base", platforms: .only([Platform(os: "linux", architecture: "arm64")]), logger: Baker().logger)
        #expect(try Derivation.derive(one, layers: nil, request: request(), baseName: nil).images.map(\.base.digest) == [b.descriptor.digest])
    }
}

/// Reads a document of the in-memory source synchronously (test set-up only: the double never suspends).
private func awaitless(_ images: MemoryImages, _ descriptor: Descriptor) throws -> [UInt8] {
    guard let bytes = images.bytes(of: descriptor.digest) else { throw StoreError.blobMissing(location: "memory", digest: descriptor.digest) }
    return bytes
}
