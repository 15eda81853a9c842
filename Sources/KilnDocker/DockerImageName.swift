import KilnStore

/// An image name as the Docker CLI takes and shows it: `cdkasset-abc`, `kong:2.6.0-alpine`,
/// `123456789012.dkr.ecr.eu-west-1.amazonaws.com/repo:tag`. Parsed by Docker's rules
/// (``RegistryReference``); shown in the familiar form (`docker.io/library/` left out).
package struct DockerImageName: Equatable, Sendable, CustomStringConvertible {
    package let reference: RegistryReference

    /// - Throws: ``StoreError/invalidReference(_:reason:)`` for what Docker would refuse too; a
    ///   name by digest is refused (the store names images by tag).
    package init(parsing text: String) throws {
        let parsed = try RegistryReference(parsing: text)
        guard parsed.digest == nil, parsed.tag != nil else {
            throw StoreError.invalidReference(text, reason: "kiln docker names images by tag, not by digest")
        }
        reference = parsed
    }

    package var tag: String { reference.tag ?? "latest" }

    /// `NAME` without the tag, familiar form: what `docker images` shows as Repository.
    package var repository: String {
        guard reference.registry == "docker.io" else { return reference.name }
        let path = reference.repository
        return path.hasPrefix("library/") && path.split(separator: "/").count == 2 ? String(path.dropFirst("library/".count)) : path
    }

    /// `NAME:TAG`, familiar form: the key the store keeps the image under.
    package var description: String { "\(repository):\(tag)" }
}
