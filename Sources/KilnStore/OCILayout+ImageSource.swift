import KilnCrypto
import OCI

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
            let bytes = try readVerified(probe)
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

    public func fetch(_ descriptor: Descriptor) async throws -> [UInt8] {
        try readVerified(descriptor)
    }

    /// Reads a small blob whole and verifies it.
    func readVerified(_ descriptor: Descriptor) throws -> [UInt8] {
        let path = path(of: descriptor.digest)
        guard FileIO.exists(path) else { throw StoreError.blobMissing(location: location, digest: descriptor.digest) }
        guard descriptor.size <= Int64(maxMetadataBlobSize),
              let bytes = try FileIO.readFile(path, limit: maxMetadataBlobSize) else {
            throw StoreError.tooLarge(location: location, digest: descriptor.digest, limit: maxMetadataBlobSize)
        }
        try verify(descriptor, actualSize: Int64(bytes.count), actual: Digest.of(bytes))
        return bytes
    }

    public func copyBlob(_ descriptor: Descriptor, into writer: BlobWriter) async throws {
        let path = path(of: descriptor.digest)
        guard FileIO.exists(path) else { throw StoreError.blobMissing(location: location, digest: descriptor.digest) }
        let fd = try FileIO.openForReading(path)
        defer { close(fd) }
        let hash = SHA256()
        var size: Int64 = 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = try FileIO.read(fd, into: buffer, path: path)
            if count == 0 { break }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
            hash.update(chunk)
            size += Int64(count)
            try writer.write(chunk)
        }
        try verify(descriptor, actualSize: size, actual: Digest(sha256: hash.finalize()))
    }

    private func verify(_ descriptor: Descriptor, actualSize: Int64, actual: Digest) throws {
        guard actual == descriptor.digest else {
            throw StoreError.digestMismatch(location: location, expected: descriptor.digest, actual: actual)
        }
        // A probe descriptor (size unknown to the caller) carries the file size already.
        guard actualSize == descriptor.size else {
            throw StoreError.sizeMismatch(location: location, digest: descriptor.digest, expected: descriptor.size, actual: actualSize)
        }
    }
}
