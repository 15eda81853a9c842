import Foundation
import KilnBake
import KilnDockerfile
import KilnLayer
import KilnRecipe
import KilnSecrets
import KilnStore
import OCI

/// `docker build` over a parsed Dockerfile: the base pinned to one platform's manifest (as
/// Docker builds), the Dockerfile evaluated against the base's config and the context, and
/// its COPY and ADD overlays and config edits baked into the store under each name. The result
/// depends on the Dockerfile, the context's file contents and the base's digest only (files
/// are dated by their content, not their mtimes).
package struct DockerBuild {
    /// What `docker build` was given.
    package struct Request {
        package var dockerfile: Dockerfile
        package var context: BuildContext
        package var buildArgs: [String: String]
        /// `--platform`; `nil`: FROM --platform, else the building machine's, as Docker does.
        package var platform: Platform?
        /// `--target`: must name the Dockerfile's only stage.
        package var target: String?
        package var names: [DockerImageName]
        /// What to do with secrets in the files, ENV and LABEL values the build adds.
        package var secrets = SecretPolicy()

        package init(dockerfile: Dockerfile, context: BuildContext, buildArgs: [String: String], platform: Platform?, target: String?, names: [DockerImageName]) {
            self.dockerfile = dockerfile
            self.context = context
            self.buildArgs = buildArgs
            self.platform = platform
            self.target = target
            self.names = names
        }
    }

    /// What was built: Docker's image ID is the config's digest.
    package struct Built {
        package var manifest: Descriptor
        package var config: Descriptor
        /// The Dockerfile's warnings (`Dockerfile:3: ...`), for standard error.
        package var warnings: [String]
    }

    let images: DockerImageStore
    let store: ImageSession
    let progress: TransferProgress

    package init(images: DockerImageStore, store: ImageSession, progress: TransferProgress) {
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

    package func build(_ request: DockerBuild.Request) async throws -> Built {
        guard let name = request.names.first else { throw DockerError.unsupportedFlag("build without --tag", reason: "kiln docker keeps images by name; give --tag NAME[:TAG]") }
        let dockerfile = request.dockerfile
        let platforms = DockerfilePlatforms(target: request.platform ?? Self.hostPlatform, build: Self.hostPlatform)
        let from = try dockerfile.base(buildArgs: request.buildArgs, platforms: platforms)
        func fail(_ message: String) -> DockerfileError { DockerfileError(file: dockerfile.path, line: from.line, instruction: "FROM", message: message) }
        if let target = request.target, target != stageName(of: dockerfile) {
            throw DockerError.unsupportedFlag("--target \(target)", reason: "the Dockerfile has one stage\(stageName(of: dockerfile).map { ", '\(UntrustedText.excerpt($0))'" } ?? ", unnamed")")
        }
        guard !from.isScratch else { throw fail("FROM scratch: kiln adds a layer to a base image; name one") }
        let reference: RegistryReference
        // The name comes from the Dockerfile: quoted bounded and printable, never whole.
        do { reference = try RegistryReference(parsing: from.image) } catch { throw fail("invalid base image reference '\(UntrustedText.excerpt(from.image))'") }
        var wanted = platforms.target
        if let text = from.platform {
            do { wanted = try Platform(parsing: text) } catch { throw fail("--platform=\(UntrustedText.excerpt(text)): not a platform (expected OS/ARCH[/VARIANT])") }
        }
        let pinned: PinnedBase
        do {
            pinned = try await pinnedBase(reference, platform: wanted, what: "\(reference)")
        } catch let error as CancellationError {
            throw error
        } catch {
            throw fail("\(error)")
        }
        let base = pinned.reference
        let config = pinned.image.config
        var warnings: [String] = []
        // Docker warns when a single-platform base is not the platform asked for (and builds).
        if pinned.image.platform.os != "unknown", pinned.image.platform.architecture != "unknown", !wanted.matches(pinned.image.platform) {
            warnings.append(DockerfileWarning(file: dockerfile.path, line: from.line,
                                              message: "FROM: the base image '\(reference)' is \(pinned.image.platform), not the requested platform \(wanted)").description)
        }
        let recipe = try dockerfile.evaluate(context: request.context, baseConfig: DockerfileBaseConfig(imageConfig: config), buildArgs: request.buildArgs, platforms: platforms)
        // What builds killed while they staged archives left behind.
        StagingDirectory.sweepAbandoned()
        // ADD's local archives are unpacked into a private staging directory that lives until the
        // layer is built (and is removed also when the build fails; locked while it lives).
        let staging = recipe.archives.isEmpty ? nil : try StagingDirectory.make()
        defer { staging?.remove() }
        let overlays = try staging.map { try recipe.layerOverlays(unpackingInto: $0.path) } ?? recipe.overlays

        var bake = BakeRequest(base: .registry(base), output: .layout(LayoutReference(directory: images.directory, tag: name.description)), overlays: overlays, edits: recipe.edits)
        // The documents just read serve the bake too (as a lock's do): none is fetched twice.
        bake.lockedBase = pinned.documents
        bake.secrets = request.secrets
        bake.configOrigin = dockerfile.path
        // Files from ADD's archives are named by the archive, not the staging directory.
        let unpacked = overlays.filter { !recipe.overlays.contains($0) }
        for (overlay, archive) in zip(unpacked, recipe.archives) { bake.sourceNames[overlay.source] = archive.source + "!" }
        // Each name once (`-t a -t docker.io/library/a` are one name).
        var seen: Set<String> = [name.description]
        bake.additionalTags = request.names.dropFirst().map(\.description).filter { seen.insert($0).inserted }
        let result: BakeResult
        do {
            result = try await Baker(store: store, progress: progress).bake(bake, into: DockerStoreDestination(images: images, name: name, base: base))
        } catch {
            // An unknown --chown name or a FIFO inside a copied directory is found while the
            // layer is built: named by its COPY or ADD line like every other Dockerfile error.
            throw recipe.attribute(error, layerOverlays: overlays) ?? error
        }
        // Read by digest, not by name: a concurrent build may already have moved the name.
        let built = VerifyingSource(OCILayout(LayoutReference(directory: images.directory, digest: result.digest), layersMayBeElsewhere: true), location: "kiln docker image '\(name)'")
        let descriptor = try await built.resolve()
        let manifest = try ImageManifest(raw: try await built.fetch(descriptor), descriptorMediaType: descriptor.mediaType, what: "manifest \(result.digest) of kiln docker image '\(name)'")
        return Built(manifest: manifest.descriptor, config: manifest.config, warnings: warnings + recipe.warnings.map(\.description))
    }

    /// `FROM image AS name`'s name.
    private func stageName(of dockerfile: Dockerfile) -> String? {
        guard let from = dockerfile.instructions.first(where: { $0.keyword == "FROM" }), from.arguments.count == 3,
              from.arguments[1].lowercased() == "as" else { return nil }
        return from.arguments[2]
    }

    /// The base as Docker builds on it: one manifest (the platform's of an index), and the
    /// documents read, for the bake.
    private struct PinnedBase {
        var reference: RegistryReference
        var image: ImageGraph.Image
        var documents: BaseSnapshot
    }

    /// Reads the base once: an index (when it is one), the platform's manifest (``ImageGraph``'s
    /// rule: the first that matches), its config. A single manifest is built on whatever its
    /// platform, as Docker does (with a warning).
    private func pinnedBase(_ reference: RegistryReference, platform wanted: Platform, what: String) async throws -> PinnedBase {
        let source = RecordingSource(try store.source(.registry(reference)))
        let graph = try await ImageGraph.read(from: source, what: what)
        let image: ImageGraph.Image
        if graph.isIndex { image = try await graph.image(for: wanted) } else { image = try await graph.onlyImage() }
        let descriptor = graph.isIndex ? image.descriptor : graph.root
        // The bake's base is the one manifest: every document it needs was just read (an
        // index entry without `platform` had its manifest and config read to learn it).
        let root = Descriptor(mediaType: image.manifest.mediaType, digest: descriptor.digest, size: descriptor.size)
        return PinnedBase(reference: reference.pinnedKeepingTag(descriptor.digest),
                          image: image,
                          documents: BaseSnapshot(root: root, documents: source.documents, imageName: source.imageName))
    }
}
