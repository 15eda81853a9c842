import Foundation
import KilnStore
import OCI

/// An image source and destination in memory, for the unit tests of the bake's core
/// (``ImageGraph``, ``ImageGraphWriter``, ``BlobCopier``, ``Derivation``): it records every
/// read and write in order, and can fail a chosen step. The end-to-end suites use real
/// registries and layouts; this double is for checking the core in milliseconds.
final class MemoryImages: ImageSource, ImageDestination, @unchecked Sendable {
    private let lock = NSLock()
    private var blobs: [Digest: [UInt8]] = [:]
    private var written: [Digest] = []
    private var tagged: [String: Descriptor] = [:]
    private var log: [String] = []
    /// What `resolve()` answers.
    var root: Descriptor?
    /// A step (`put`, `putManifest`, `putBlob`, `tag`) that throws instead of writing.
    var failing: String?
    var registryReference: RegistryReference? { nil }
    var imageName: String? { nil }

    struct Failure: Error {}

    /// Every step in order: `fetch <digest>`, `open <digest>`, `putBlob <digest>`, `put`, `putManifest`, `tag <tags>`, `abort`.
    var events: [String] { lock.withLock { log } }
    var tags: [String: Descriptor] { lock.withLock { tagged } }
    func holds(_ digest: Digest) -> Bool { lock.withLock { blobs[digest] != nil } }
    func bytes(of digest: Digest) -> [UInt8]? { lock.withLock { blobs[digest] } }

    private func record(_ event: String) { lock.withLock { log.append(event) } }

    /// Adds a blob as already present (a source's content, or a destination's existing blob).
    @discardableResult
    func add(_ bytes: [UInt8], mediaType: String = "application/octet-stream") -> Descriptor {
        let descriptor = Descriptor.of(bytes, mediaType: mediaType)
        lock.withLock { blobs[descriptor.digest] = bytes }
        return descriptor
    }

    // MARK: ImageSource

    func resolve() async throws -> Descriptor {
        guard let root else { throw StoreError.invalidReference("memory", reason: "no root") }
        return root
    }

    func fetch(_ descriptor: Descriptor) async throws -> [UInt8] {
        record("fetch \(descriptor.digest)")
        guard let bytes = lock.withLock({ blobs[descriptor.digest] }) else { throw StoreError.blobMissing(location: "memory", digest: descriptor.digest) }
        return bytes
    }

    func openBlob(_ descriptor: Descriptor) async throws -> BlobStream {
        record("open \(descriptor.digest)")
        guard let bytes = lock.withLock({ blobs[descriptor.digest] }) else { throw StoreError.blobMissing(location: "memory", digest: descriptor.digest) }
        return .once(bytes)
    }

    // MARK: ImageDestination

    func hasBlob(_ descriptor: Descriptor) async throws -> Bool { holds(descriptor.digest) }

    func mountBlob(_ descriptor: Descriptor, from source: RegistryReference?) async throws -> Bool { false }

    func putBlob(_ descriptor: Descriptor, from open: @escaping () async throws -> BlobStream) async throws {
        try fail("putBlob")
        var bytes: [UInt8] = []
        for try await chunk in try await open() { bytes += chunk }
        try store(bytes, as: descriptor, event: "putBlob")
    }

    func makeBlobWriter() throws -> BlobWriter { Writer(images: self) }

    func put(_ bytes: [UInt8], as descriptor: Descriptor) async throws {
        try fail("put")
        try store(bytes, as: descriptor, event: "put")
    }

    func putManifest(_ bytes: [UInt8], as descriptor: Descriptor) async throws {
        try fail("putManifest")
        try store(bytes, as: descriptor, event: "putManifest")
    }

    func tag(_ descriptor: Descriptor, bytes: [UInt8], additionalTags: [String]) async throws {
        try fail("tag")
        try store(bytes, as: descriptor, event: "root")
        let names = ["latest"] + additionalTags
        lock.withLock { for name in names { tagged[name] = descriptor } }
        record("tag \(names.joined(separator: ","))")
    }

    func abort() {
        record("abort")
        lock.withLock {
            for digest in written { blobs[digest] = nil }
            written = []
        }
    }

    private func fail(_ step: String) throws {
        if failing == step { record("fail \(step)"); throw Failure() }
    }

    fileprivate func store(_ bytes: [UInt8], as descriptor: Descriptor, event: String) throws {
        let digest = Digest.of(bytes)
        guard digest == descriptor.digest else { throw StoreError.digestMismatch(location: "memory", expected: descriptor.digest, actual: digest) }
        lock.withLock {
            if blobs[digest] == nil { written.append(digest) }
            blobs[digest] = bytes
        }
        record("\(event) \(digest)")
    }

    private final class Writer: BlobWriter {
        let images: MemoryImages
        var bytes: [UInt8] = []
        init(images: MemoryImages) { self.images = images }
        func write(_ chunk: UnsafeRawBufferPointer) throws { bytes += chunk }
        func commit(as descriptor: Descriptor) async throws { try images.store(bytes, as: descriptor, event: "layer") }
        func cancel() { bytes = [] }
    }
}

/// Small images built in memory: configs, manifests and indexes as JSON text.
struct MemoryImageBuilder {
    let images: MemoryImages

    /// A config of `platform` (written into the config) with one layer, and its manifest.
    func image(os: String = "linux", architecture: String, variant: String? = nil, layer: String) -> (descriptor: Descriptor, layer: Descriptor, config: Descriptor) {
        let layerDescriptor = images.add(Array(layer.utf8), mediaType: MediaType.ociLayerGzip)
        let variantField = variant.map { #","variant":"\#($0)""# } ?? ""
        let config = images.add(Array(#"{"architecture":"\#(architecture)","os":"\#(os)"\#(variantField),"config":{"Env":["PATH=/bin"]},"rootfs":{"type":"layers","diff_ids":["\#(layerDescriptor.digest)"]},"history":[{"created_by":"base"}]}"#.utf8),
                                mediaType: MediaType.ociConfig)
        let manifest = images.add(Array(#"{"schemaVersion":2,"mediaType":"\#(MediaType.ociManifest)","config":{"mediaType":"\#(MediaType.ociConfig)","digest":"\#(config.digest)","size":\#(config.size)},"layers":[{"mediaType":"\#(MediaType.ociLayerGzip)","digest":"\#(layerDescriptor.digest)","size":\#(layerDescriptor.size)}]}"#.utf8),
                                  mediaType: MediaType.ociManifest)
        return (manifest, layerDescriptor, config)
    }

    /// An index of `entries`, each with its `platform` field when given (`nil`: none, as older
    /// tools write).
    func index(_ entries: [(Descriptor, String?)], extra: [String] = []) -> Descriptor {
        let items = entries.map { descriptor, platform -> String in
            var text = #"{"mediaType":"\#(descriptor.mediaType)","digest":"\#(descriptor.digest)","size":\#(descriptor.size)"#
            if let platform {
                let parts = platform.split(separator: "/").map(String.init)
                text += #","platform":{"architecture":"\#(parts[1])","os":"\#(parts[0])""# + (parts.count > 2 ? #","variant":"\#(parts[2])""# : "") + "}"
            }
            return text + "}"
        } + extra
        let bytes = Array(#"{"schemaVersion":2,"mediaType":"\#(MediaType.ociIndex)","manifests":[\#(items.joined(separator: ","))]}"#.utf8)
        return images.add(bytes, mediaType: MediaType.ociIndex)
    }
}
