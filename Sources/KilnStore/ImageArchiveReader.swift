import KilnCrypto
import KilnLayer
import OCI

/// One image of an archive read by ``ImageArchiveReader``: its documents, and its layers as
/// ranges of the reader's spool file, each checked against its digest and its diff_id.
package struct ArchiveImage: Sendable {
    /// The names the archive gives it (`RepoTags`, or an OCI archive's image name), as written.
    package var names: [String]
    package var manifest: Descriptor
    package var manifestBytes: [UInt8]
    package var config: Descriptor
    package var configBytes: [UInt8]
    package var layers: [(descriptor: Descriptor, start: Int64)]
}

/// Reads an image archive for `kiln docker load`: `docker save`'s format (Docker 25's, with
/// `blobs/sha256/…` names, and the older one, with `ID/layer.tar` and the symlinks Docker and
/// skopeo put between them) or an OCI archive (an OCI layout, tarred).
///
/// The archive is untrusted. It is read in one pass: every file's bytes go to one nameless
/// spool file (``SpoolFile``, so a killed run leaves nothing) and are hashed on the way; links
/// are followed inside the archive only (``RootedPath``: a target outside it stops at its root,
/// as moby's loader does), at most ``RootedPath/maxLinksFollowed`` of them per name, as the
/// kernel follows. Documents are capped at ``maxMetadataBlobSize``; every blob a document
/// names is checked against its digest, and each layer's uncompressed digest against the
/// config's diff_id, before the caller stores anything.
/// Errors are one line naming the archive, with bounded excerpts of names from it.
package struct ImageArchiveReader {
    /// Path components one name may have (PATH_MAX allows 2048): a manifest may name a 4 MiB
    /// `x/../x/../…`, refused before it is walked.
    static let maxComponents = 4096
    /// Images one archive may hold; layers one image may have.
    static let maxImages = 256
    /// Names (`RepoTags`) one archive may give its images: each becomes a tag of the store,
    /// whose `index.json` kiln reads up to 4 MiB.
    static let maxNames = 1024
    static let maxLayers = 1024
    /// The most bytes of files one archive may unpack to (what the spool holds): a compressed
    /// archive of zeros is tiny and would otherwise fill the store's file system. 64 GiB is above
    /// the largest images in use (CUDA bases are about 20 GiB unpacked).
    package static let maxUnpackedBytes: Int64 = 64 << 30

    private enum Stored {
        case file(start: Int64, size: Int64, digest: Digest)
        case directory
        case symlink(String)
        case hardlink(String)
    }

    package let spool: SpoolFile
    private let what: String
    private var entries: [String: Stored] = [:]

    /// Reads the archive from `fd` (to its end) and returns its images, checked.
    /// - Parameters:
    ///   - spoolDirectory: where the spool file goes (its file system holds the layers for a
    ///     moment): the temporary directory when `nil`.
    ///   - what: names the archive in errors (`archive image.tar`, `standard input`).
    ///   - maxBytes: the most bytes of files it may unpack to (``maxUnpackedBytes``).
    package static func read(fd: Int32, what: String, spoolDirectory: String?, maxBytes: Int64 = maxUnpackedBytes) throws -> (images: [ArchiveImage], spool: SpoolFile) {
        var reader = try ImageArchiveReader(spool: SpoolFile(in: spoolDirectory, label: what), what: what)
        try reader.load(fd: fd, maxBytes: maxBytes)
        return (try reader.images(), reader.spool)
    }

    private init(spool: SpoolFile, what: String) {
        self.spool = spool
        self.what = what
    }

    private func fail(_ message: String) -> StoreError { StoreError.invalidArchive(what, reason: message) }

    private mutating func load(fd: Int32, maxBytes: Int64) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var stored: [String: Stored] = [:]
        let (spool, what) = (self.spool, self.what)
        try TarFileReader.read(fd: fd, what: what) { entry, read in
            switch entry.kind {
            case .file:
                let start = spool.size
                let hash = SHA256()
                while true {
                    let count = try read(buffer)
                    if count == 0 { break }
                    guard spool.size + Int64(count) <= maxBytes else {
                        throw StoreError.invalidArchive(what, reason: "its files unpack to more than \(maxBytes) bytes (kiln docker load takes at most that)")
                    }
                    let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
                    hash.update(chunk)
                    try spool.write(chunk)
                }
                stored[entry.path] = .file(start: start, size: spool.size - start, digest: Digest(sha256: hash.finalize()))
            case .directory: stored[entry.path] = .directory
            case .symlink(let target): stored[entry.path] = .symlink(target)
            case .hardlink(let target): stored[entry.path] = .hardlink(target)
            case .other: stored[entry.path] = nil
            }
        }
        entries = stored
    }

    // MARK: - Names

    /// The file `name` leads to, following the archive's links (in every component) inside it
    /// (``RootedPath``): a symlink as the kernel follows it, a hard link from the archive's root.
    private func file(_ name: String) throws -> (start: Int64, size: Int64, digest: Digest) {
        guard name.utf8.lazy.filter({ $0 == UInt8(ascii: "/") }).count < Self.maxComponents else {
            throw fail("'\(TarFileReader.excerpt(name))' has more than \(Self.maxComponents) path components")
        }
        // As the kernel's PATH_MAX: no entry is named longer, and each step of the walk joins the path so far.
        guard name.utf8.count <= 4096 else {
            throw fail("'\(TarFileReader.excerpt(name))' is longer than 4096 bytes")
        }
        let resolved: [String]
        do {
            resolved = try RootedPath.resolve(name, in: Names(entries: entries))
        } catch RootedPath.Failure.tooManyLinks {
            throw fail("'\(TarFileReader.excerpt(name))' goes through more than \(RootedPath.maxLinksFollowed) links")
        } catch RootedPath.Failure.emptyLinkTarget {
            throw fail("'\(TarFileReader.excerpt(name))' goes through a link with no target")
        } catch is Names.ThroughFile {
            throw fail("'\(TarFileReader.excerpt(name))' goes through a file")
        }
        guard case .file(let start, let size, let digest)? = entries[resolved.joined(separator: "/")] else {
            throw fail("it has no file '\(TarFileReader.excerpt(name))'")
        }
        return (start, size, digest)
    }

    /// The archive's entries as ``RootedPath`` walks them.
    private struct Names: LinkedTree {
        let entries: [String: Stored]

        struct ThroughFile: Error {}

        var rootPlace: Void { () }

        func step(into _: String, of _: Void, path: [String], isLast: Bool) throws -> (place: Void, linkTarget: String?) {
            switch entries[path.joined(separator: "/")] {
            case .symlink(let target)?: return ((), target)
            // A hard link names its target from the archive's root.
            case .hardlink(let target)?: return ((), "/" + target)
            case .file?:
                guard isLast else { throw ThroughFile() }
                return ((), nil)
            case .directory?, nil: return ((), nil)
            }
        }
    }

    /// A document of the archive: whole, at most ``maxMetadataBlobSize`` bytes.
    private func document(_ name: String) throws -> (bytes: [UInt8], digest: Digest) {
        let file = try file(name)
        guard file.size <= Int64(maxMetadataBlobSize) else {
            throw fail("'\(TarFileReader.excerpt(name))' is larger than \(maxMetadataBlobSize) bytes")
        }
        var bytes: [UInt8] = []
        let next = spool.chunks(from: file.start, length: file.size)
        while let chunk = try next() { bytes += chunk }
        return (bytes, file.digest)
    }

    private func has(_ name: String) -> Bool {
        (try? file(name)) != nil
    }

    // MARK: - Images

    private func images() throws -> [ArchiveImage] {
        if has("manifest.json") { return try dockerImages() }
        if has("index.json") { return try ociImages() }
        throw fail("it is not an image archive (no manifest.json or index.json)")
    }

    /// `docker save`'s `manifest.json`: `[{"Config", "RepoTags", "Layers"}]`.
    private func dockerImages() throws -> [ArchiveImage] {
        let manifest = try JSONValue(parsing: try document("manifest.json").bytes, what: "manifest.json of \(what)")
        guard let list = manifest.arrayValue, !list.isEmpty else { throw fail("manifest.json lists no image") }
        guard list.count <= Self.maxImages else { throw fail("manifest.json lists more than \(Self.maxImages) images") }
        let nameCount = list.reduce(0) { $0 + ($1["RepoTags"]?.arrayValue?.count ?? 0) }
        guard nameCount <= Self.maxNames else {
            throw fail("it names images \(nameCount) times; kiln docker load takes at most \(Self.maxNames) names")
        }
        return try list.map { item in
            guard let configName = item["Config"]?.stringValue, let layerNames = item["Layers"]?.arrayValue?.map(\.stringValue),
                  !layerNames.contains(nil) else { throw fail("an entry of manifest.json has no Config or Layers") }
            let names = try (item["RepoTags"]?.arrayValue ?? []).map { tag in
                guard let text = tag.stringValue else { throw fail("manifest.json has a RepoTags entry that is not a string") }
                return text
            }
            let config = try document(configName)
            try checkName(configName, digest: config.digest)
            let configDescriptor = Descriptor(mediaType: MediaType.ociConfig, digest: config.digest, size: Int64(config.bytes.count))
            let layers = try layerNames.compactMap { $0 }.map { name -> (descriptor: Descriptor, start: Int64) in
                let file = try file(name)
                try checkName(name, digest: file.digest)
                return (Descriptor(mediaType: try layerMediaType(file, name: name), digest: file.digest, size: file.size), file.start)
            }
            let manifest = JSONValue.object([
                ("schemaVersion", .integer(2)),
                ("mediaType", .string(MediaType.ociManifest)),
                ("config", descriptorJSON(configDescriptor)),
                ("layers", .array(layers.map { descriptorJSON($0.descriptor) })),
            ]).serialized()
            let image = ArchiveImage(names: names, manifest: Descriptor.of(manifest, mediaType: MediaType.ociManifest), manifestBytes: manifest,
                                     config: configDescriptor, configBytes: config.bytes, layers: layers)
            try checkDiffIDs(image)
            return image
        }
    }

    /// An OCI archive: `index.json` naming manifests by digest under `blobs/`.
    private func ociImages() throws -> [ArchiveImage] {
        let index = try ImageIndex(raw: try document("index.json").bytes, descriptorMediaType: MediaType.ociIndex, what: "index.json of \(what)")
        guard !index.manifests.isEmpty else { throw fail("index.json lists no image") }
        guard index.manifests.count <= Self.maxImages else { throw fail("index.json lists more than \(Self.maxImages) images") }
        return try index.manifests.map { descriptor in
            guard MediaType.manifests.contains(descriptor.mediaType) else {
                throw fail("index.json names a \(TarFileReader.excerpt(descriptor.mediaType)); kiln docker load takes single-platform image manifests")
            }
            let manifestBytes = try blob(descriptor, document: true).bytes
            let manifest = try ImageManifest(raw: manifestBytes, descriptorMediaType: descriptor.mediaType, what: "manifest \(descriptor.digest) of \(what)")
            let config = try blob(manifest.config, document: true).bytes
            let layers = try manifest.layers.map { layer -> (descriptor: Descriptor, start: Int64) in
                let file = try blob(layer, document: false)
                return (layer, file.start)
            }
            var names: [String] = []
            if let name = descriptor.annotations?["io.containerd.image.name"] { names.append(name) }
            else if let name = descriptor.annotations?[AnnotationKey.refName], name.contains(":") || name.contains("/") { names.append(name) }
            let image = ArchiveImage(names: names, manifest: Descriptor(mediaType: descriptor.mediaType, digest: descriptor.digest, size: descriptor.size),
                                     manifestBytes: manifestBytes, config: manifest.config, configBytes: config, layers: layers)
            try checkDiffIDs(image)
            return image
        }
    }

    /// The blob `descriptor` names in an OCI archive, checked against its digest and size.
    private func blob(_ descriptor: Descriptor, document: Bool) throws -> (bytes: [UInt8], start: Int64) {
        let name = descriptor.digest.layoutPath
        let file = try file(name)
        guard file.digest == descriptor.digest else {
            throw StoreError.digestMismatch(location: "\(what): \(name)", expected: descriptor.digest, actual: file.digest)
        }
        guard file.size == descriptor.size else {
            throw StoreError.sizeMismatch(location: "\(what): \(name)", digest: descriptor.digest, expected: descriptor.size, actual: file.size)
        }
        return (document ? try self.document(name).bytes : [], file.start)
    }

    /// A name that carries a digest (`blobs/sha256/HEX`, `HEX.json`, `HEX.tar`) must match
    /// its bytes.
    private func checkName(_ name: String, digest: Digest) throws {
        let last = name.split(separator: "/").last.map(String.init) ?? name
        let stem = last.hasSuffix(".json") || last.hasSuffix(".tar") ? String(last.dropLast(last.hasSuffix(".json") ? 5 : 4)) : last
        guard stem.count == 64, stem.allSatisfy(\.isHexDigit), name.hasPrefix("blobs/sha256/") || !name.contains("/") else { return }
        guard stem.lowercased() == digest.hex else {
            throw fail("'\(TarFileReader.excerpt(name))' holds \(digest), not what its name says")
        }
    }

    /// What a layer of a docker-archive is, by its first bytes: registries take plain, gzip
    /// and zstd layers; others would need recompressing, which kiln does not do.
    private func layerMediaType(_ file: (start: Int64, size: Int64, digest: Digest), name: String) throws -> String {
        var head: [UInt8] = []
        let next = spool.chunks(from: file.start, length: min(file.size, 6))
        while let chunk = try next() { head += chunk }
        if head.starts(with: [0x1F, 0x8B]) { return MediaType.ociLayerGzip }
        if head.starts(with: [0x28, 0xB5, 0x2F, 0xFD]) { return MediaType.ociLayerZstd }
        if head.starts(with: Array("BZh".utf8)) || head.starts(with: [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]) {
            throw fail("layer '\(TarFileReader.excerpt(name))' is compressed with bzip2 or xz, which registries do not take")
        }
        return MediaType.ociLayerTar
    }

    /// Each layer's uncompressed digest must be the config's diff_id at its place.
    private func checkDiffIDs(_ image: ArchiveImage) throws {
        let config = try JSONValue(parsing: image.configBytes, what: "config \(image.config.digest) of \(what)")
        guard let diffIDs = config["rootfs"]?["diff_ids"]?.arrayValue?.map(\.stringValue), !diffIDs.contains(nil) else {
            throw fail("config \(image.config.digest) has no rootfs.diff_ids")
        }
        guard image.layers.count <= Self.maxLayers else { throw fail("an image has more than \(Self.maxLayers) layers") }
        guard diffIDs.count == image.layers.count else {
            throw fail("config \(image.config.digest) lists \(diffIDs.count) diff_ids for \(image.layers.count) layers")
        }
        for (layer, diffID) in zip(image.layers, diffIDs) {
            let actual: String
            if layer.descriptor.mediaType == MediaType.ociLayerTar || layer.descriptor.mediaType == "application/vnd.docker.image.rootfs.diff.tar" {
                actual = layer.descriptor.digest.description
            } else {
                let what = "layer \(layer.descriptor.digest) of \(self.what)"
                actual = "sha256:" + (try TarFileReader.uncompressedDigest(what: what, pull: spool.chunks(from: layer.start, length: layer.descriptor.size)).hex)
            }
            guard actual == diffID else {
                throw fail("layer \(layer.descriptor.digest) uncompresses to \(actual), but the config's diff_id is \(TarFileReader.excerpt(diffID ?? ""))")
            }
        }
    }

    private func descriptorJSON(_ descriptor: Descriptor) -> JSONValue {
        .object([("mediaType", .string(descriptor.mediaType)), ("digest", .string(descriptor.digest.description)), ("size", .integer(descriptor.size))])
    }
}
