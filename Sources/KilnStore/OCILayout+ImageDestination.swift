import OCI

extension OCILayout: ImageDestination {
    public func hasBlob(_ descriptor: Descriptor) async throws -> Bool {
        FileIO.size(path(of: descriptor.digest)) == descriptor.size
    }

    public func mountBlob(_ descriptor: Descriptor, from source: RegistryReference) async throws -> Bool { false }

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
        try FileIO.writeAtomically(bytes, to: target, in: blobDirectory)
        recordCreated(path: target)
    }

    /// Adds the image to `index.json` under the reference's tag (replacing an image that had the
    /// tag), writing the file atomically, after every blob is in place.
    public func tag(_ descriptor: Descriptor, bytes: [UInt8]) async throws {
        try await put(bytes, as: descriptor)
        try prepareRoot()
        let markerPath = "\(directory)/oci-layout"
        if !FileIO.exists(markerPath) {
            try FileIO.writeAtomically(Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8), to: markerPath, in: directory)
            recordCreated(path: markerPath)
        }
        var index: JSONValue = .object([("schemaVersion", .integer(2)), ("mediaType", .string(MediaType.ociIndex)), ("manifests", .array([]))])
        if FileIO.exists("\(directory)/index.json") {
            index = try readIndex().json
        }
        let tag = reference.tag
        var entries = (index["manifests"]?.arrayValue ?? []).filter { entry in
            entry["annotations"]?[AnnotationKey.refName]?.stringValue != tag
        }
        var entry: JSONValue = .object([
            ("mediaType", .string(descriptor.mediaType)),
            ("digest", .string(descriptor.digest.description)),
            ("size", .integer(descriptor.size)),
        ])
        if let tag { entry["annotations"] = .object([(AnnotationKey.refName, .string(tag))]) }
        entries.append(entry)
        index["manifests"] = .array(entries)
        try FileIO.writeAtomically(index.serialized(), to: "\(directory)/index.json", in: directory)
    }

    public func abort() {
        let records = takeRecords()
        for writer in records.writers { writer.cancel() }
        for path in records.paths.reversed() { FileIO.remove(path) }
        for directory in records.directories.reversed() { FileIO.removeDirectory(directory) }
    }

    /// Creates the layout directory when missing; refuses a non-empty directory that is not a layout,
    /// so a typo never scatters blobs into an unrelated folder.
    private func prepareRoot() throws {
        if FileIO.isDirectory(directory) {
            if !FileIO.exists("\(directory)/oci-layout"), !FileIO.listDirectory(directory).filter({ $0 != "blobs" }).isEmpty {
                throw StoreError.notALayout(directory, reason: "the directory exists, is not empty and has no oci-layout file")
            }
            return
        }
        if try FileIO.makeDirectory(directory) { recordCreated(directory: directory) }
    }

    private func prepareBlobDirectory() throws -> String {
        try prepareRoot()
        for path in ["\(directory)/blobs", "\(directory)/blobs/sha256"] {
            if try FileIO.makeDirectory(path) { recordCreated(directory: path) }
        }
        return "\(directory)/blobs/sha256"
    }
}
