import KilnBake
import KilnRecipe
import KilnSpec
import KilnStore
import OCI

/// What an image spec will produce: its digest, content tag and references, computed from the
/// spec, the overlays and the lock, with no network.
package struct ImagePlan: Sendable {
    package var name: String
    /// The target repository (`123456789012.dkr.ecr.eu-west-1.amazonaws.com/um/gateway`) or
    /// layout (`oci:DIR`).
    package var repository: String
    /// Every target repository, in the spec's order (`repository` first); one for most specs.
    package var repositories: [String]
    package var digest: Digest
    /// The content-addressed tag: `kiln.sha256.<hex of the digest>`.
    package var tag: String
    /// Every document of the derived image (for build's no-op check and verify's diff).
    package var derivation: Derivation
    /// The spec's extra tags.
    package var extraTags: [String]
    /// What the plan was computed from, as the provenance statement records it: the config
    /// edits (a Dockerfile's, for a `dockerfile:` spec) and every overlay file of the layer
    /// with its SHA-256 as the plan read it.
    package var edits: ConfigEdits
    package var overlayFiles: [OverlayFile]

    /// `REPO@sha256:…`: what a task definition should pin.
    package var image: String { "\(repository)@\(digest)" }
    /// `REPO@sha256:…` at every target, in the spec's order.
    package var images: [String] { repositories.map { "\($0)@\(digest)" } }
    /// `REPO:kiln.sha256.<hex>`: the image under its content tag.
    package var taggedReference: String { "\(repository):\(tag)" }

    /// `kiln.sha256.<hex>`: derived from the digest alone, under a fixed prefix an ECR lifecycle
    /// rule can select (`tagPrefixList: ["kiln."]`), and never the referrers tag schema's
    /// `sha256-<hex>`, which holds an image's signatures and attestations on registries without
    /// the referrers API (0.2.0 used that tag and could overwrite them).
    package static func contentTag(of digest: Digest) -> String { "kiln.\(digest.algorithm).\(digest.hex)" }

    /// Where the image goes under `tag`.
    static func output(_ target: ImageReference, tag: String) -> ImageReference {
        switch target {
        case .layout(let layout): return .layout(LayoutReference(directory: layout.directory, tag: tag))
        case .registry(let registry): return .registry(registry.with(tag: tag))
        case .archive(var archive):
            archive.tag = tag
            return .archive(archive)
        }
    }

    /// The target written as a repository: a registry name, or `oci:DIR`.
    static func repository(of target: ImageReference) -> String {
        switch target {
        case .layout(let layout): return "oci:\(layout.directory)"
        case .registry(let registry): return registry.name
        // Never a spec's target: archives are build's local outputs.
        case .archive(let archive): return archive.description
        }
    }
}

/// `kiln plan`: computes plans from specs and the lock.
package struct Planner: Sendable {
    package let project: Project

    package init(project: Project) {
        self.project = project
    }

    package func plan(_ spec: ImageSpec, lock: LockFile) async throws -> ImagePlan {
        let entry = try project.lockedEntry(for: spec, in: lock)
        let request = try await spec.request(base: spec.base, output: spec.target, snapshot: entry.snapshot)
        let (derivation, _, files) = try await Baker().plan(request, base: entry.snapshot)
        return ImagePlan(name: spec.name, repository: ImagePlan.repository(of: spec.target), repositories: spec.targets.map(ImagePlan.repository(of:)), digest: derivation.root.digest,
                         tag: ImagePlan.contentTag(of: derivation.root.digest), derivation: derivation, extraTags: spec.tags,
                         edits: request.edits, overlayFiles: files)
    }
}
