import KilnCrypto
import OCI

extension OCILayout: ImageSource {
    /// Layouts carry no registry name.
    public var imageName: String? { nil }

    public func resolve() async throws -> Descriptor {
        let index = try readIndex()
        if let digest = reference.digest {
            if let entry = index.manifests.first(where: { $0.digest == digest }) { return entry }
            // A digest may name any manifest stored in the layout, e.g. one platform of an index.
            guard let size = FileIO.size(path(of: digest)) else { throw StoreError.blobMissing(location: location, digest: digest) }
            let probe = Descriptor(mediaType: "", digest: digest, size: size)
            let bytes = try readDocument(probe)
            // Resolving a pinned reference: the file must be what its name says.
            let actual = Digest.of(bytes)
            guard actual == digest else { throw StoreError.digestMismatch(location: location, expected: digest, actual: actual) }
            let kind = try ManifestKind(raw: bytes, descriptorMediaType: nil, what: "manifest \(digest) in \(location)")
            switch kind {
            case .image(let manifest): return manifest.descriptor
            case .index(let index): return index.descriptor
            }
        }
        let tagged = index.manifests.compactMap { $0.annotations?[AnnotationKey.refName] }
        if let tag = reference.tag {
            guard let entry = index.manifests.first(where: { $0.annotations?[AnnotationKey.refName] == tag }) else {
                throw StoreError.tagNotFound(layout: directory, tag: tag, available: tagged)
            }
            return entry
        }
        guard index.manifests.count == 1, let only = index.manifests.first else {
            if index.manifests.isEmpty { throw StoreError.notALayout(directory, reason: "index.json lists no images") }
            throw StoreError.ambiguousLayout(directory, available: tagged)
        }
        return only
    }

    /// A small blob, read whole and size-capped (checked against its digest by
    /// ``VerifyingSource``, like every source's bytes).
    public func fetch(_ descriptor: Descriptor) async throws -> [UInt8] {
        try readDocument(descriptor)
    }

    func readDocument(_ descriptor: Descriptor) throws -> [UInt8] {
        let path = path(of: descriptor.digest)
        guard FileIO.exists(path) else { throw StoreError.blobMissing(location: location, digest: descriptor.digest) }
        guard descriptor.size <= Int64(maxMetadataBlobSize),
              let bytes = try readFile(descriptor.digest.layoutPath, limit: maxMetadataBlobSize) else {
            throw StoreError.tooLarge(location: location, digest: descriptor.digest, limit: maxMetadataBlobSize)
        }
        return bytes
    }

    public var registryReference: RegistryReference? { nil }

    public func openBlob(_ descriptor: Descriptor) async throws -> BlobStream {
        let path = path(of: descriptor.digest)
        guard FileIO.exists(path) else { throw StoreError.blobMissing(location: location, digest: descriptor.digest) }
        let file = try FileChunks(fd: FileIO.openBeneath(directory, descriptor.digest.layoutPath.split(separator: "/").map(String.init)), path: path)
        return BlobStream { try file.next() }
    }
}

/// Reads a file in 1 MiB chunks and closes it at the end; one consumer at a time.
// Sendable only by promise: a stream has one consumer at a time.
final class FileChunks: @unchecked Sendable {
    private var fd: Int32
    private let path: String

    init(path: String) throws {
        self.path = path
        fd = try FileIO.openForReading(path)
    }

    /// Takes over `fd`, already open for reading (`path` names it in errors).
    init(fd: Int32, path: String) {
        self.path = path
        self.fd = fd
    }

    func next() throws -> [UInt8]? {
        guard fd >= 0 else { return nil }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        let count = try chunk.withUnsafeMutableBytes { try FileIO.read(fd, into: $0, path: path) }
        if count == 0 {
            FileIO.close(fd)
            fd = -1
            return nil
        }
        chunk.removeLast(chunk.count - count)
        return chunk
    }

    deinit { if fd >= 0 { FileIO.close(fd) } }
}
