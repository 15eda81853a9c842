import OCI

extension OCILayout: ImageDestination {
    public func hasBlob(_ descriptor: Descriptor) async throws -> Bool {
        FileIO.size(path(of: descriptor.digest)) == descriptor.size
    }

    public func mountBlob(_ descriptor: Descriptor, from source: RegistryReference?) async throws -> Bool { false }

    public func putBlob(_ descriptor: Descriptor, from open: @escaping () async throws -> BlobStream) async throws {
        let writer = try makeBlobWriter()
        do {
            for try await chunk in try await open() {
                try chunk.withUnsafeBytes { try writer.write($0) }
            }
            try await writer.commit(as: descriptor)
        } catch {
            writer.cancel()
            throw error
        }
    }

    public func putManifest(_ bytes: [UInt8], as descriptor: Descriptor) async throws {
        try await put(bytes, as: descriptor)
    }

    public func makeBlobWriter() throws -> BlobWriter {
        let blobDirectory = try prepareBlobDirectory()
        let writer = try FileBlobWriter(layout: self, blobDirectory: blobDirectory)
        recordOpen(writer)
        return writer
    }

    public func put(_ bytes: [UInt8], as descriptor: Descriptor) async throws {
        if try await hasBlob(descriptor) { return }
        let blobDirectory = try prepareBlobDirectory()
        let target = path(of: descriptor.digest)
        if try FileIO.writeNew(bytes, to: target, in: blobDirectory) { recordCreated(path: target) }
    }

    /// Adds the image to `index.json` under the reference's tag (replacing an image that had the
    /// tag), after every blob is in place, and `additionalTags` in ONE atomic `index.json`
    /// update, under the layout lock, so two kiln runs tagging one layout never lose a tag and a
    /// failure leaves either every tag or none.
    public func tag(_ descriptor: Descriptor, bytes: [UInt8], additionalTags: [String]) async throws {
        try await put(bytes, as: descriptor)
        try prepareRoot()
        let lock = try await LayoutLock.acquire(directory: directory)
        defer { lock.release() }
        // Another run's abort may have taken a blob this run found in place and did not write:
        // fail cleanly rather than tag an image with a missing blob.
        let referenced = try referencedDigests(of: bytes, descriptor: descriptor)
        let required = referenced.documents + (layersMayBeElsewhere ? [] : referenced.layers)
        for digest in required where !FileIO.exists(path(of: digest)) {
            throw StoreError.blobMissing(location: location + " (removed by a concurrent run; try again)", digest: digest)
        }
        let markerPath = "\(directory)/oci-layout"
        if !FileIO.exists(markerPath) {
            if try FileIO.writeNew(OCILayout.markerBytes, to: markerPath, in: directory) {
                recordCreated(path: markerPath)
            }
        }
        var index: JSONValue = .object([("schemaVersion", .integer(2)), ("mediaType", .string(MediaType.ociIndex)), ("manifests", .array([]))])
        if FileIO.exists("\(directory)/index.json") {
            index = try readIndex().json
        }
        let tags: [String?] = reference.tag == nil && additionalTags.isEmpty ? [nil] : ([reference.tag].compactMap { $0 } + additionalTags)
        var entries = (index["manifests"]?.arrayValue ?? []).filter { entry in
            guard let name = entry["annotations"]?[AnnotationKey.refName]?.stringValue else { return !tags.contains(nil) }
            return !tags.contains(name)
        }
        for tag in tags {
            entries.append(OCILayout.indexEntry(descriptor, tag: tag))
        }
        index["manifests"] = .array(entries)
        try FileIO.writeAtomically(index.serialized(), to: "\(directory)/index.json", in: directory)
    }

    /// The files every image tagged in `index.json` needs (and the layout's own files when it
    /// has an index): what an abort must leave alone.
    private func taggedPaths() -> Set<String> {
        guard FileIO.exists("\(directory)/index.json"), let index = try? readIndex() else { return [] }
        var paths: Set<String> = ["\(directory)/oci-layout", "\(directory)/index.json"]
        for entry in index.manifests {
            paths.insert(path(of: entry.digest))
            guard let bytes = try? readFile(entry.digest.layoutPath, limit: maxMetadataBlobSize),
                  let referenced = try? referencedDigests(of: bytes, descriptor: entry) else { continue }
            for digest in referenced.documents + referenced.layers { paths.insert(path(of: digest)) }
        }
        return paths
    }

    /// Every blob a root document needs: its configs and child manifests (documents), and the
    /// layers.
    // Not ImageGraph (platform images only, configs read, async): tag and abort need every child, attestations too, synchronously under the lock.
    private func referencedDigests(of bytes: [UInt8], descriptor: Descriptor) throws -> (documents: [Digest], layers: [Digest]) {
        switch try ManifestKind(raw: bytes, descriptorMediaType: descriptor.mediaType, what: "\(location) \(descriptor.digest)") {
        case .image(let manifest):
            return ([manifest.config.digest], manifest.layers.map(\.digest))
        case .index(let index):
            var documents: [Digest] = []
            var layers: [Digest] = []
            for child in index.manifests {
                documents.append(child.digest)
                guard MediaType.manifests.contains(child.mediaType),
                      let childBytes = try readFile(child.digest.layoutPath, limit: maxMetadataBlobSize),
                      case .image(let manifest) = try ManifestKind(raw: childBytes, descriptorMediaType: child.mediaType, what: "\(location) \(child.digest)") else { continue }
                documents.append(manifest.config.digest)
                layers += manifest.layers.map(\.digest)
            }
            return (documents, layers)
        }
    }

    public func abort() {
        let records = takeRecords()
        for writer in records.writers { writer.cancel() }
        guard !records.paths.isEmpty || !records.directories.isEmpty else { return }
        // Under the lock, so a concurrent run's tag step sees the blobs either there or gone;
        // and never what a tag names by now: another run may have found a blob this run wrote
        // and tagged an image with it before this run failed.
        let lock = FileIO.isDirectory(directory) ? LayoutLock.acquireBlocking(directory: directory) : nil
        let tagged = taggedPaths()
        for path in records.paths.reversed() where !tagged.contains(path) { FileIO.remove(path) }
        // The lock file goes too when this run made the layout and nothing else is left in it.
        if records.directories.contains(directory),
           FileIO.listDirectory(directory).allSatisfy({ $0 == LayoutLock.fileName || $0 == "blobs" }),
           FileIO.listDirectory("\(directory)/blobs/sha256").isEmpty {
            FileIO.remove("\(directory)/\(LayoutLock.fileName)")
        }
        lock?.release()
        for directory in records.directories.reversed() { FileIO.removeDirectory(directory) }
    }

    /// Creates the layout directory when missing; refuses a non-empty directory that is not a layout,
    /// so a typo never scatters blobs into an unrelated folder.
    ///
    /// Creating is idempotent (a directory another run made first is taken as it is). Another
    /// run creating the same new layout writes `oci-layout` and `index.json` under the layout
    /// lock, so a look that found its `index.json` but not its marker (the existence check races
    /// the listing) is taken again under that lock before the directory is refused; a directory
    /// without a lock file has no kiln run in it and is refused at once, nothing written.
    private func prepareRoot() throws {
        if !FileIO.isDirectory(directory) {
            // Missing parents too (`--output oci:a/b/c:tag`); each is removed again on a failure.
            for created in try FileIO.makeDirectories(directory) { recordCreated(directory: created) }
        }
        func isUnrelated() -> Bool {
            !FileIO.exists("\(directory)/oci-layout") && !FileIO.listDirectory(directory).filter({ $0 != "blobs" && !$0.hasPrefix(".kiln-") }).isEmpty
        }
        guard isUnrelated() else { return }
        if FileIO.exists("\(directory)/\(LayoutLock.fileName)") {
            let lock = LayoutLock.acquireBlocking(directory: directory)
            defer { lock?.release() }
            if !isUnrelated() { return }
        }
        throw StoreError.notALayout(directory, reason: "the directory exists, is not empty and has no oci-layout file")
    }

    private func prepareBlobDirectory() throws -> String {
        try prepareRoot()
        for path in ["\(directory)/blobs", "\(directory)/blobs/sha256"] {
            if try FileIO.makeDirectory(path) { recordCreated(directory: path) }
        }
        if takeSweep() {
            FileIO.sweepAbandonedTemporaries(in: directory)
            FileIO.sweepAbandonedTemporaries(in: "\(directory)/blobs/sha256")
        }
        return "\(directory)/blobs/sha256"
    }
}
