import OCI

extension RegistryImage {
    /// A registry has no multi-tag write: the reference's tag, then each extra tag, all under
    /// the same tag rules (an immutable ECR tag is never moved). Every tag is asked (HEAD)
    /// before any is written, so a tag that may not move refuses the whole step and no tag of
    /// this image appears: a target is tagged completely or not at all (barring a race).
    public func tag(_ descriptor: Descriptor, bytes: [UInt8], additionalTags: [String]) async throws {
        let images = [self] + additionalTags.map { extra in
            let sibling = RegistryImage(reference.with(tag: extra), transport: transport)
            sibling.tagMutability = tagMutability
            return sibling
        }
        var pending: [RegistryImage] = []
        for image in images {
            if try await image.needsTag(descriptor) { pending.append(image) }
        }
        for image in pending {
            try await image.putManifest(bytes, descriptor: descriptor, reference: image.reference.tag ?? "latest")
        }
    }
}
