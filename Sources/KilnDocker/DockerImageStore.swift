import Foundation
import KilnStore
import OCI

/// `kiln docker`'s local images: an OCI layout (under the cache directory, or
/// `$KILN_DOCKER_STORE`) that holds what kiln made, the new layer, config and manifest, and
/// the images `load` read from archives, layers included. A built image's base layers stay in
/// the base's registry (the image-layout spec lets blobs live
/// elsewhere); each manifest's `org.opencontainers.image.base.name` annotation says where, so a
/// push mounts or streams them from there and never stages them here. Names are tags in
/// `index.json` (`NAME:TAG`, familiar form), changed under the layout's lock, so concurrent
/// builds and tags never lose each other's names.
package struct DockerImageStore: Sendable {
    package let directory: String

    package init(directory: String) {
        self.directory = directory
    }

    /// `$KILN_DOCKER_STORE`, else `docker-images` in kiln's cache directory.
    package static func current(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> DockerImageStore {
        if let explicit = environment["KILN_DOCKER_STORE"], !explicit.isEmpty { return DockerImageStore(directory: explicit) }
        guard let cache = CacheDirectory.current else {
            throw StoreError.invalidReference("kiln docker", reason: "no directory for its images: set KILN_DOCKER_STORE, KILN_CACHE_DIR or HOME")
        }
        return DockerImageStore(directory: "\(cache)/docker-images")
    }

    /// The layout opened for writing an image under `name`.
    package func layout(tag name: DockerImageName) -> OCILayout {
        OCILayout(LayoutReference(directory: directory, tag: name.description), layersMayBeElsewhere: true)
    }

    /// The layout opened for reading the image `name` (its documents and kiln's own layers).
    package func source(_ name: DockerImageName) -> ImageSource {
        VerifyingSource(OCILayout(LayoutReference(directory: directory, tag: name.description), layersMayBeElsewhere: true), location: "kiln docker image '\(name)'")
    }

    /// Records that the layers of `manifest` not in the store are in `base`'s repository: a
    /// file per manifest digest, written once (a manifest names its layers by digest, so any
    /// repository holding them serves every later push).
    package func recordBase(_ base: RegistryReference, of manifest: Digest) throws {
        let directory = "\(self.directory)/.kiln-bases"
        _ = try FileIO.makeDirectories(directory)
        _ = try FileIO.writeNew(Array(base.name.utf8), to: "\(directory)/\(manifest.algorithm)-\(manifest.hex)", in: directory)
    }

    /// Where the base layers of `manifest` are, as recorded by its build.
    package func base(of manifest: Digest, name: DockerImageName) throws -> RegistryReference {
        let path = "\(directory)/.kiln-bases/\(manifest.algorithm)-\(manifest.hex)"
        guard FileIO.exists(path), let bytes = try FileIO.readFile(path, limit: 4096),
              let text = String(validating: bytes, as: UTF8.self) else { throw DockerError.baseUnknown(name.description) }
        return try RegistryReference(parsing: text)
    }

    /// Whether the store holds every layer of `manifest` (a loaded image does; a built one
    /// leaves its base's layers in the base's registry).
    package func holdsLayers(of manifest: ImageManifest, name: DockerImageName) async throws -> Bool {
        let layout = OCILayout(LayoutReference(directory: directory, tag: name.description), layersMayBeElsewhere: true)
        for layer in manifest.layers where !(try await layout.hasBlob(layer)) { return false }
        return true
    }

    /// Every name and the manifest it points at; an empty store has none.
    package func images() throws -> [(name: String, descriptor: Descriptor)] {
        guard FileManager.default.fileExists(atPath: "\(directory)/index.json") else { return [] }
        let index = try readIndex()
        return index.manifests.compactMap { entry in
            entry.annotations?[AnnotationKey.refName].map { ($0, entry) }
        }
    }

    /// The manifest `name` points at, or `nil` when the store has no such name.
    package func lookUp(_ name: DockerImageName) throws -> Descriptor? {
        try images().first { $0.name == name.description }?.descriptor
    }

    /// The config of the image `name` points at (`manifest`): Docker's image ID is its digest.
    package func configDescriptor(of name: DockerImageName, manifest: Descriptor) async throws -> Descriptor {
        let bytes = try await source(name).fetch(manifest)
        return try ImageManifest(raw: bytes, descriptorMediaType: manifest.mediaType, what: "manifest \(manifest.digest) of kiln docker image '\(name)'").config
    }

    /// Gives the image `source` also the name `target` (`docker tag`).
    /// - Throws: when `source` is not in the store.
    package func tag(_ source: DockerImageName, as target: DockerImageName) async throws {
        guard let descriptor = try lookUp(source) else { throw DockerError.noSuchImage(source.description) }
        let layout = self.layout(tag: target)
        let bytes = try await self.source(source).fetch(descriptor)
        try await layout.tag(descriptor, bytes: bytes, additionalTags: [])
    }

    private func readIndex() throws -> ImageIndex {
        guard let bytes = FileManager.default.contents(atPath: "\(directory)/index.json") else {
            throw StoreError.notALayout(directory, reason: "cannot read index.json")
        }
        return try ImageIndex(raw: Array(bytes), descriptorMediaType: MediaType.ociIndex, what: "\(directory)/index.json")
    }
}
