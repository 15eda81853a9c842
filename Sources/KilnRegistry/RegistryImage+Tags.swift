import OCI

extension RegistryImage {
    /// A registry has no multi-tag write: the reference's tag first, then each extra tag, all
    /// under the same tag rules (an immutable ECR tag is never moved).
    public func tag(_ descriptor: Descriptor, bytes: [UInt8], additionalTags: [String]) async throws {
        try await putTag(descriptor, bytes: bytes)
        for extra in additionalTags {
            let sibling = RegistryImage(reference.with(tag: extra), transport: transport)
            sibling.tagMutability = tagMutability
            try await sibling.putTag(descriptor, bytes: bytes)
        }
    }
}
