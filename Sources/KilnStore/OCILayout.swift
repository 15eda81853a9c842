import Foundation
import OCI

/// An OCI image layout directory (`oci-layout`, `index.json`, `blobs/sha256/…`), as image source
/// and destination. See the OCI image spec, "image-layout".
///
/// Blobs may be written from several tasks at once; the record of what was created is guarded
/// by a lock.
// Sendable: the records of what this instance created are read and written only under `lock`.
public final class OCILayout: @unchecked Sendable {
    public let reference: LayoutReference
    /// Whether image layers may be held elsewhere, as the image-layout spec allows ("the blobs
    /// directory MAY be missing referenced blobs"): `kiln docker`'s store keeps only what kiln
    /// made and leaves the base's layers in their registry. Configs and manifests must be here.
    public let layersMayBeElsewhere: Bool
    var directory: String { reference.directory }

    /// What this instance created, so ``abort()`` can take exactly that away again.
    private let lock = NSLock()
    private var createdPaths: [String] = []
    private var createdDirectories: [String] = []
    private var openWriters: [FileBlobWriter] = []
    private var swept = false

    /// Whether this instance still has to sweep the temporary files of dead runs (once).
    func takeSweep() -> Bool { lock.withLock { defer { swept = true }; return !swept } }

    func recordCreated(path: String) { lock.withLock { createdPaths.append(path) } }
    func recordCreated(directory: String) { lock.withLock { createdDirectories.append(directory) } }
    func recordOpen(_ writer: FileBlobWriter) { lock.withLock { openWriters.append(writer) } }

    /// Takes the records, leaving them empty.
    func takeRecords() -> (paths: [String], directories: [String], writers: [FileBlobWriter]) {
        lock.withLock {
            defer { createdPaths = []; createdDirectories = []; openWriters = [] }
            return (createdPaths, createdDirectories, openWriters)
        }
    }

    /// Opens a layout reference. Nothing is read or written until asked.
    public init(_ reference: LayoutReference, layersMayBeElsewhere: Bool = false) {
        self.reference = reference
        self.layersMayBeElsewhere = layersMayBeElsewhere
    }

    var location: String { "OCI layout '\(directory)'" }

    func path(of digest: Digest) -> String { "\(directory)/\(digest.layoutPath)" }

    /// Reads a file of the layout (`oci-layout`, `index.json`, a blob) name by name below the
    /// layout directory without following links (``FileIO/openBeneath(_:_:)``): a layout from a
    /// pull request whose blob is a link to a file of the machine is refused, never read.
    func readFile(_ relative: String, limit: Int) throws -> [UInt8]? {
        try FileIO.readFileBeneath(directory, relative.split(separator: "/").map(String.init), limit: limit)
    }

    /// Checks the `oci-layout` marker and reads `index.json`.
    func readIndex() throws -> ImageIndex {
        guard FileIO.isDirectory(directory) else { throw StoreError.notALayout(directory, reason: "no such directory") }
        guard FileIO.exists("\(directory)/oci-layout") else { throw StoreError.notALayout(directory, reason: "no oci-layout file") }
        guard let marker = try readFile("oci-layout", limit: 4096) else {
            throw StoreError.notALayout(directory, reason: "oci-layout is larger than 4 KiB")
        }
        let markerJSON = try JSONValue(parsing: marker, what: "\(directory)/oci-layout")
        guard markerJSON["imageLayoutVersion"]?.stringValue != nil else {
            throw StoreError.notALayout(directory, reason: "oci-layout has no imageLayoutVersion")
        }
        let indexPath = "\(directory)/index.json"
        guard FileIO.exists(indexPath) else { throw StoreError.notALayout(directory, reason: "no index.json") }
        guard let bytes = try readFile("index.json", limit: maxMetadataBlobSize) else {
            throw StoreError.notALayout(directory, reason: "index.json is larger than 4 MiB")
        }
        return try ImageIndex(raw: bytes, descriptorMediaType: MediaType.ociIndex, what: indexPath)
    }
}

// The image-layout spec's two files as kiln writes them, for a layout directory and an
// oci-archive alike.
extension OCILayout {
    /// `oci-layout`'s bytes.
    static let markerBytes = Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8)

    /// The `index.json` entry for `descriptor`, named `tag` (`org.opencontainers.image.ref.name`)
    /// when there is one.
    static func indexEntry(_ descriptor: Descriptor, tag: String?) -> JSONValue {
        var entry: JSONValue = .object([
            ("mediaType", .string(descriptor.mediaType)),
            ("digest", .string(descriptor.digest.description)),
            ("size", .integer(descriptor.size)),
        ])
        if let tag { entry["annotations"] = .object([(AnnotationKey.refName, .string(tag))]) }
        return entry
    }
}
