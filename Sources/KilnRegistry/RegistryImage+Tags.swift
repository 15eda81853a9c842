import KilnStore
import OCI

extension RegistryImage {
    /// A registry has no multi-tag write: the reference's tag, then each extra tag, all under
    /// the same tag rules (an immutable ECR tag is never moved).
    public func tag(_ descriptor: Descriptor, bytes: [UInt8], additionalTags: [String]) async throws {
        try await tag(descriptor, bytes: bytes, additionalTags: additionalTags, after: {})
    }

    /// Every tag's HEAD at once and beside `first` (a build lists its provenance there), then
    /// every tag checked before any is written, then the PUTs, the reference's tag first, each
    /// only where the tag does not hold the digest yet: the HEADs cost no round trip of their
    /// own after `first`, nothing is tagged before it ended, and a tag that may not move
    /// refuses the whole step, so no tag of this image appears (barring a race).
    public func tag(_ descriptor: Descriptor, bytes: [UInt8], additionalTags: [String], after first: @escaping @Sendable () async throws -> Void) async throws {
        var images = [self]
        for extra in additionalTags {
            let sibling = RegistryImage(reference.with(tag: extra), transport: transport)
            sibling.tagMutability = tagMutability
            images.append(sibling)
        }
        // (A failing `first` cancels the HEADs and waits for them: structured.)
        async let reading = Self.currentTagDigests(of: images)
        try await first()
        let current = try await reading
        var pending: [RegistryImage] = []
        for (image, digest) in zip(images, current) {
            if try image.needsTag(descriptor, current: digest) { pending.append(image) }
        }
        for image in pending {
            try await image.putManifest(bytes, descriptor: descriptor, reference: image.reference.tag ?? "latest")
        }
    }

    /// Each image's tag as ``currentTagDigest()`` reads it, all at once, in order.
    private static func currentTagDigests(of images: [RegistryImage]) async throws -> [String?] {
        try await withThrowingTaskGroup(of: (Int, String?).self) { group in
            for (number, image) in images.enumerated() {
                group.addTask { (number, try await image.currentTagDigest()) }
            }
            var current = [String?](repeating: nil, count: images.count)
            for try await (number, digest) in group { current[number] = digest }
            return current
        }
    }
}
