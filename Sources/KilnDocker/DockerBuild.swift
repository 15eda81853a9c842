import KilnBake
import KilnLayer
import KilnRecipe
import KilnStore
import OCI

/// `docker build`, once the Dockerfile is read: the base (one platform's manifest, as Docker
/// builds), the overlays of its COPY and ADD steps and its config edits, baked into the store
/// under each name. The result depends on the Dockerfile, the context's file contents and the
/// base's digest only (files are dated by their content, not their mtimes).
package struct DockerBuild {
    /// What the Dockerfile asks for.
    package struct Input {
        package var base: RegistryReference
        /// FROM --platform or `--platform`; `nil`: the building machine's, as Docker does.
        package var platform: Platform?
        package var overlays: [Overlay]
        package var edits: ConfigEdits
        /// Where errors about the base point (the Dockerfile and the FROM line).
        package var fromLocation: String

        package init(base: RegistryReference, platform: Platform?, overlays: [Overlay], edits: ConfigEdits, fromLocation: String) {
            self.base = base
            self.platform = platform
            self.overlays = overlays
            self.edits = edits
            self.fromLocation = fromLocation
        }
    }

    let images: DockerImageStore
    let store: ImageStore
    let progress: TransferProgress

    package init(images: DockerImageStore, store: ImageStore, progress: TransferProgress) {
        self.images = images
        self.store = store
        self.progress = progress
    }

    /// The platform Docker builds for when none is asked: the machine's own.
    package static var hostPlatform: Platform {
        #if arch(arm64)
        Platform(os: "linux", architecture: "arm64", variant: "v8")
        #else
        Platform(os: "linux", architecture: "amd64", variant: nil)
        #endif
    }

    /// - Returns: the image's manifest and config descriptors (Docker's image ID is the
    ///   config's digest).
    package func build(_ input: Input, names: [DockerImageName]) async throws -> (manifest: Descriptor, config: Descriptor) {
        guard let name = names.first else { throw DockerError.unsupportedFlag("build without --tag", reason: "kiln docker keeps images by name; give --tag NAME[:TAG]") }
        let base = try await pinnedBase(input)
        var request = BakeRequest(base: .registry(base), output: .layout(LayoutReference(directory: images.directory, tag: name.description)), overlays: input.overlays, edits: input.edits)
        request.additionalTags = names.dropFirst().map(\.description)
        let destination = DockerStoreDestination(images: images, name: name, base: base)
        let result = try await Baker(store: store, progress: progress).bake(request, into: destination)
        // Read by digest, not by name: a concurrent build may already have moved the name.
        let pinned = VerifyingSource(OCILayout(LayoutReference(directory: images.directory, digest: result.digest), layersMayBeElsewhere: true), location: "kiln docker image '\(name)'")
        let descriptor = try await pinned.resolve()
        let manifest = try ImageManifest(raw: try await pinned.fetch(descriptor), descriptorMediaType: descriptor.mediaType, what: "manifest \(result.digest) of kiln docker image '\(name)'")
        return (manifest.descriptor, manifest.config)
    }

    /// The base pinned to the one manifest Docker would build on: the platform's of an index;
    /// a base with ONBUILD triggers is refused (they would run build steps kiln cannot run).
    private func pinnedBase(_ input: Input) async throws -> RegistryReference {
        let source = try store.source(.registry(input.base))
        let root = try await source.resolve()
        let wanted = input.platform ?? Self.hostPlatform
        let what = "\(input.base) (\(input.fromLocation))"
        var manifestDescriptor = root
        switch try ManifestKind(raw: try await source.fetch(root), descriptorMediaType: root.mediaType.isEmpty ? nil : root.mediaType, what: "manifest \(root.digest) of \(what)") {
        case .index(let index):
            let images = index.manifests.filter(\.isBakeableImage)
            let matching = images.filter { $0.platform.map(wanted.matches) ?? false }
            guard let chosen = matching.first else {
                throw BakeError.noImageForPlatform(what: what, requested: wanted.description, available: images.map { $0.platform?.description ?? "unknown" })
            }
            manifestDescriptor = chosen
        case .image:
            break
        }
        let manifest = try ImageManifest(raw: try await source.fetch(manifestDescriptor), descriptorMediaType: manifestDescriptor.mediaType, what: "manifest \(manifestDescriptor.digest) of \(what)")
        let config = try JSONValue(parsing: try await source.fetch(manifest.config), what: "config \(manifest.config.digest) of \(what)")
        if let triggers = config["config"]?["OnBuild"]?.arrayValue, !triggers.isEmpty {
            throw DockerError.onBuildTriggers(base: input.base.description, location: input.fromLocation, count: triggers.count)
        }
        return RegistryReference(registry: input.base.registry, repository: input.base.repository, tag: input.base.tag, digest: manifestDescriptor.digest)
    }
}
