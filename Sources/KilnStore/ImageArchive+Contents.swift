import OCI

/// What an image archive holds: named entries, written in the order of their names so the same
/// image gives the same archive bytes.
struct ArchiveContents {
    /// Where an entry's bytes are.
    enum Body {
        case bytes([UInt8])
        case spool(SpoolFile)

        var size: Int64 {
            switch self {
            case .bytes(let bytes): return Int64(bytes.count)
            case .spool(let spool): return spool.size
            }
        }
    }

    struct Entry {
        var name: String
        /// `nil` for a directory.
        var body: Body?
    }

    private(set) var entries: [Entry] = []

    mutating func add(_ name: String, _ body: Body?) { entries.append(Entry(name: name, body: body)) }

    /// The entries sorted by name (bytewise: every name is ASCII).
    var sorted: [Entry] { entries.sorted { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) } }

    /// The body of a blob the archive collected, or where it is missing from.
    typealias Lookup = (Digest) -> Body?

    /// `oci-archive`: an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/…`) holding
    /// the root and everything it references, the root listed once per tag.
    /// - Parameter tags: the `org.opencontainers.image.ref.name` of each `index.json` entry;
    ///   none gives one entry without a name.
    static func oci(root: Descriptor, tags: [String], lookup: Lookup, location: String) throws -> ArchiveContents {
        var contents = ArchiveContents()
        contents.add("blobs", nil)
        contents.add("blobs/sha256", nil)
        var added = Set<Digest>()
        func addBlob(_ descriptor: Descriptor, depth: Int) throws {
            guard added.insert(descriptor.digest).inserted else { return }
            guard let body = lookup(descriptor.digest) else { throw StoreError.blobMissing(location: location, digest: descriptor.digest) }
            contents.add(descriptor.digest.layoutPath, body)
            guard MediaType.manifests.contains(descriptor.mediaType) || MediaType.indexes.contains(descriptor.mediaType) || depth == 0 else { return }
            guard case .bytes(let bytes) = body else { return }
            switch try ManifestKind(raw: bytes, descriptorMediaType: descriptor.mediaType.isEmpty ? nil : descriptor.mediaType, what: "\(location) \(descriptor.digest)") {
            case .image(let manifest):
                for blob in [manifest.config] + manifest.layers { try addBlob(blob, depth: depth + 1) }
            case .index(let index):
                // Indexes of indexes end somewhere: kiln writes one level.
                guard depth < 4 else { return }
                for child in index.manifests { try addBlob(child, depth: depth + 1) }
            }
        }
        try addBlob(root, depth: 0)

        var entries: [JSONValue] = []
        for tag in tags.isEmpty ? [nil] : tags.map(Optional.some) {
            entries.append(OCILayout.indexEntry(root, tag: tag))
        }
        let index: JSONValue = .object([("schemaVersion", .integer(2)), ("mediaType", .string(MediaType.ociIndex)), ("manifests", .array(entries))])
        contents.add("index.json", .bytes(index.serialized()))
        contents.add("oci-layout", .bytes(OCILayout.markerBytes))
        return contents
    }

    /// `docker-archive`, the format `docker load` reads: `manifest.json` naming the config and
    /// the layers, `repositories` (the format before `manifest.json`: name, tag and top layer),
    /// and the blobs. Blobs are stored as they are, under `blobs/sha256/<hex of their digest>` as
    /// `docker save` has named them since Docker 25: the config byte for byte (so the image ID
    /// is the config digest any other output of the same bake has), the layers compressed as
    /// they are in the image (every `docker load`, `podman load` and skopeo decompresses them).
    /// - Parameters:
    ///   - name: the repository name the image is loaded under; `nil`: unnamed.
    ///   - tags: its tags.
    static func docker(root: Descriptor, name: String?, tags: [String], lookup: Lookup, location: String) throws -> ArchiveContents {
        guard case .bytes(let rootBytes)? = lookup(root.digest) else { throw StoreError.blobMissing(location: location, digest: root.digest) }
        let what = "\(location) \(root.digest)"
        guard case .image(let manifest) = try ManifestKind(raw: rootBytes, descriptorMediaType: root.mediaType.isEmpty ? nil : root.mediaType, what: what) else {
            throw StoreError.notOneImage(location: location)
        }
        var contents = ArchiveContents()
        contents.add("blobs", nil)
        contents.add("blobs/sha256", nil)
        var added = Set<Digest>()
        for blob in [manifest.config] + manifest.layers where added.insert(blob.digest).inserted {
            guard let body = lookup(blob.digest) else { throw StoreError.blobMissing(location: location, digest: blob.digest) }
            contents.add(blob.digest.layoutPath, body)
        }
        let repoTags = name.map { name in tags.map { "\(name):\($0)" } } ?? []
        let item: JSONValue = .object([
            ("Config", .string(manifest.config.digest.layoutPath)),
            ("RepoTags", .strings(repoTags)),
            ("Layers", .strings(manifest.layers.map(\.digest.layoutPath))),
        ])
        contents.add("manifest.json", .bytes(JSONValue.array([item]).serialized()))

        // `repositories` maps each tag to the top layer's ID; Docker 25 writes the diff_id there.
        if let name, !tags.isEmpty, let config = lookup(manifest.config.digest),
           let top = try topDiffID(of: config, what: "\(location) config \(manifest.config.digest)") {
            let repositories: JSONValue = .object([(name, .object(tags.map { ($0, .string(top.hex)) }))])
            contents.add("repositories", .bytes(repositories.serialized()))
        }
        return contents
    }

    /// The last of the config's `rootfs.diff_ids`, if it has any.
    private static func topDiffID(of config: Body, what: String) throws -> Digest? {
        var bytes: [UInt8] = []
        switch config {
        case .bytes(let held): bytes = held
        case .spool(let spool):
            guard spool.size <= Int64(maxMetadataBlobSize) else { return nil }
            try spool.read { bytes.append(contentsOf: $0) }
        }
        let json = try JSONValue(parsing: bytes, what: what)
        guard let last = json["rootfs"]?["diff_ids"]?.arrayValue?.last?.stringValue else { return nil }
        return try? Digest(parsing: last)
    }
}
