import KilnLayer
import KilnStore
import OCI

/// `docker load`: the images of a docker-archive (`docker save`'s format, Docker 25's and older
/// ones, skopeo's) or an OCI archive go into the store, every blob checked against its digest
/// and every layer against the config's diff_id first (``ImageArchiveReader``). Such an image
/// has no registry to take its layers from, so the store keeps them (and `push` sends them
/// from there); the config is kept byte for byte, so the image ID and diff_ids stay the
/// archive's. Names are written last, under the layout's lock; an image the archive does not
/// name is kept under its ID (`sha256:HEX`), which `tag` accepts as Docker does.
package struct DockerLoad {
    let images: DockerImageStore

    package init(images: DockerImageStore) {
        self.images = images
    }

    /// - Parameters:
    ///   - fd: the archive (a file, or standard input), read to its end.
    ///   - what: names the archive in errors.
    /// - Returns: Docker's lines: `Loaded image: NAME:TAG` per name, `Loaded image ID: sha256:…`
    ///   for an image without one.
    package func load(fd: Int32, what: String) async throws -> [String] {
        _ = try FileIO.makeDirectories(images.directory)
        let archive = try ImageArchiveReader.read(fd: fd, what: what, spoolDirectory: images.directory)
        // Every name is checked before anything is written.
        let named = try archive.images.map { image in
            (image, try image.names.map { text -> DockerImageName in
                do { return try DockerImageName(parsing: text) } catch {
                    throw StoreError.invalidArchive(what, reason: "'\(TarFileReader.excerpt(text))' is not an image name Docker takes")
                }
            })
        }
        var lines: [String] = []
        for (image, names) in named {
            let tags = names.isEmpty ? [image.config.digest.description] : names.map(\.description)
            let layout = OCILayout(LayoutReference(directory: images.directory, tag: tags[0]), layersMayBeElsewhere: true)
            do {
                for layer in image.layers where !(try await layout.hasBlob(layer.descriptor)) {
                    try await layout.putBlob(layer.descriptor) {
                        BlobStream.verifying(archive.spool.stream(from: layer.start, length: layer.descriptor.size), against: layer.descriptor, location: what)
                    }
                }
                try await layout.put(image.configBytes, as: image.config)
                try await layout.putManifest(image.manifestBytes, as: image.manifest)
                try await layout.tag(image.manifest, bytes: image.manifestBytes, additionalTags: Array(tags.dropFirst()))
            } catch {
                layout.abort()
                throw error
            }
            lines += names.isEmpty ? ["Loaded image ID: \(image.config.digest)"] : names.map { "Loaded image: \($0)" }
        }
        return lines
    }
}
