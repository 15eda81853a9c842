import Foundation
import KilnDockerfile
import KilnLayer
import KilnRecipe
import KilnStore
import OCI

/// `kiln.lock`: for every image, the base its spec names pinned to a digest, with the exact
/// bytes of the base documents a bake reads and, per platform manifest, the digest of the base's
/// skeleton (``BaseTree``), so a derived digest can be computed with no network and no cache.
/// Written as pretty JSON with sorted keys: diffs stay small and readable (one line per
/// document), and the same lock always has the same bytes.
///
/// The skeletons (a few thousand lines for a Debian base) are kept out of the lock, in
/// `kiln.lock.d/sha256-HEX.jsonl` beside it, named by their digest and checked against it when
/// read: the lock stays reviewable, and images on one base share one file.
package struct LockFile: Equatable, Sendable {
    package static let version = 2

    /// One image's locked base.
    package struct Entry: Equatable, Sendable {
        /// The spec's `base`, normalized (`docker.io/library/kong:2.6.0-alpine`).
        package var base: String
        /// The spec's `platforms` (`all` or `linux/amd64,…`).
        package var platforms: String
        /// The base pinned: `docker.io/library/kong:2.6.0-alpine@sha256:…`.
        package var pinned: String
        package var snapshot: BaseSnapshot

        /// Whether the entry has its base's skeletons (a version-1 entry has none).
        package var hasEveryTree: Bool { !snapshot.trees.isEmpty }

        package init(base: String, platforms: String, pinned: String, snapshot: BaseSnapshot) {
            self.base = base
            self.platforms = platforms
            self.pinned = pinned
            self.snapshot = snapshot
        }
    }

    /// By image name (the spec file's name).
    package var entries: [String: Entry]

    package init(entries: [String: Entry] = [:]) {
        self.entries = entries
    }

    /// The directory of a lock's skeleton files: `kiln.lock.d` beside `kiln.lock`.
    package static func treeDirectory(ofLock path: String) -> String { path + ".d" }

    /// A skeleton file's name: its digest.
    package static func treeFileName(_ digest: Digest) -> String { "\(digest.algorithm)-\(digest.hex).jsonl" }

    /// Reads a lock file and the skeleton files it names; a missing file is an empty lock.
    /// - Throws: ``SpecError`` naming the file and what is wrong with it.
    /// - Parameter upgrading: also read a version-1 lock (no skeletons), for `kiln lock` to
    ///   upgrade it keeping its pinned bases.
    package static func load(path: String, upgrading: Bool = false) throws -> LockFile {
        guard FileManager.default.fileExists(atPath: path) else { return LockFile() }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SpecError(location: path, message: "cannot read the lock file")
        }
        let directory = treeDirectory(ofLock: path)
        return try parse(data, path: path, upgrading: upgrading) { digest in
            FileManager.default.contents(atPath: "\(directory)/\(treeFileName(digest))").map(Array.init)
        }
    }

    /// - Parameter readTree: the bytes of the skeleton file with that digest, `nil` when missing.
    package static func parse(_ data: Data, path: String, upgrading: Bool = false, readTree: (Digest) -> [UInt8]? = { _ in nil }) throws -> LockFile {
        func fail(_ message: String) -> SpecError { SpecError(location: path, message: message) }
        guard let object = try? JSONValue(parsing: Array(data), what: path), object.isObject else {
            throw fail("not a kiln lock file (not a JSON object); run kiln lock")
        }
        let isVersion1 = upgrading && object["lockVersion"] == .integer(1)
        guard object["lockVersion"] == .integer(version) || isVersion1 else {
            throw fail("lockVersion must be \(version); run kiln lock")
        }
        guard case .object(let images)? = object["images"] else { throw fail("images: missing") }
        var entries: [String: Entry] = [:]
        for (name, image) in images {
            // Names come from a pull request too, and errors and `lock --check` print them.
            guard SpecName.isAcceptable(name) else {
                throw fail("images: '\(UntrustedText.excerpt(name))' is no spec's name (blanks, control or invisible characters, or over 255 bytes); run kiln lock")
            }
            func text(_ value: JSONValue?) -> String? { value?.stringValue }
            guard let base = text(image["base"]), let platforms = text(image["platforms"]),
                  let pinned = text(image["pinned"]), let root = image["root"],
                  let mediaType = text(root["mediaType"]), let digestText = text(root["digest"]),
                  case .number(let sizeText)? = root["size"], let size = Int64(sizeText), size >= 0,
                  case .object(let documents)? = image["documents"] else {
                throw fail("images.\(name): needs base, platforms, pinned, root {mediaType, digest, size} and documents")
            }
            var bytes: [Digest: [UInt8]] = [:]
            for (digestText, value) in documents {
                guard let text = value.stringValue else { throw fail("images.\(name).documents.\(digestText): must be a string") }
                guard let digest = try? Digest(parsing: digestText) else { throw fail("images.\(name).documents: '\(UntrustedText.excerpt(digestText))' is not a digest") }
                let document = Array(text.utf8)
                // A hand-edited document must not pass for the locked one.
                guard Digest.of(document) == digest else {
                    throw fail("images.\(name).documents.\(digestText): the text does not have that digest (edited by hand?); run kiln lock")
                }
                bytes[digest] = document
            }
            guard let digest = try? Digest(parsing: digestText), bytes[digest] != nil else {
                throw fail("images.\(name).root: its digest is not among the documents")
            }
            // The bake pulls `pinned`; it must name the very root the documents were locked from.
            guard let pinnedReference = try? ImageReference(parsing: pinned) else {
                throw fail("images.\(name).pinned: '\(pinned)' is not an image reference")
            }
            let pinnedDigest: Digest? = switch pinnedReference {
            case .layout(let layout): layout.digest
            case .registry(let registry): registry.digest
            case .archive: nil
            }
            guard pinnedDigest == digest else {
                throw fail("images.\(name).pinned: '\(pinned)' does not name the locked root \(digest) (edited by hand?); run kiln lock")
            }
            let treeMembers: [(key: String, value: JSONValue)]
            switch image["trees"] {
            case .object(let members)?: treeMembers = members
            case nil where isVersion1: treeMembers = []
            default: throw fail("images.\(name).trees: missing; run kiln lock")
            }
            var trees: [Digest: BaseTree] = [:]
            for (manifestText, value) in treeMembers {
                guard let manifest = try? Digest(parsing: manifestText), bytes[manifest] != nil,
                      let treeText = value.stringValue, let treeDigest = try? Digest(parsing: treeText) else {
                    throw fail("images.\(name).trees: '\(manifestText)' must be a locked manifest's digest, with a skeleton's digest")
                }
                let file = "\(treeDirectory(ofLock: path))/\(treeFileName(treeDigest))"
                guard let treeBytes = readTree(treeDigest) else { throw fail("\(file) is missing; run kiln lock") }
                guard Digest.of(treeBytes) == treeDigest else { throw fail("\(file) does not have that digest (edited by hand?); run kiln lock") }
                do { trees[manifest] = try BaseTree(parsing: treeBytes, what: file) } catch { throw fail("\(error)") }
            }
            let snapshot = BaseSnapshot(root: Descriptor(mediaType: mediaType, digest: digest, size: size), documents: bytes,
                                        imageName: image["imageName"]?.stringValue, trees: trees)
            entries[name] = Entry(base: base, platforms: platforms, pinned: pinned, snapshot: snapshot)
        }
        return LockFile(entries: entries)
    }

    /// The file's bytes: the same lock always gives the same bytes.
    /// - Throws: when a document is not UTF-8 text (no JSON manifest or config is).
    /// The lock's text: indented JSON with every object's keys in UTF-8 byte order, written by
    /// kiln's own serializer, so the file is byte-identical on Linux and macOS.
    package func serialized() throws -> Data {
        var images: [(key: String, value: JSONValue)] = []
        for (name, entry) in entries {
            var documents: [(key: String, value: JSONValue)] = []
            for (digest, bytes) in entry.snapshot.documents {
                guard let text = String(validating: bytes, as: UTF8.self), Array(text.utf8) == bytes else {
                    throw SpecError(location: "kiln.lock", message: "base document \(digest) of image \(name) is not UTF-8 text")
                }
                documents.append((digest.description, .string(text)))
            }
            let root = entry.snapshot.root
            var image: [(key: String, value: JSONValue)] = [
                ("base", .string(entry.base)), ("platforms", .string(entry.platforms)), ("pinned", .string(entry.pinned)),
                ("root", .object([("mediaType", .string(root.mediaType)), ("digest", .string(root.digest.description)), ("size", .integer(root.size))])),
                ("documents", .object(documents)),
                ("trees", .object(entry.snapshot.trees.map { ($0.key.description, .string(Digest.of($0.value.serialized()).description)) })),
            ]
            if let imageName = entry.snapshot.imageName { image.append(("imageName", .string(imageName))) }
            images.append((name, .object(image)))
        }
        let object: JSONValue = .object([("lockVersion", .integer(LockFile.version)), ("images", .object(images))])
        return Data(object.sortedByKeyBytes().prettySerialized())
    }

    /// The skeleton files the lock names, by file name.
    package func treeFiles() -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        for entry in entries.values {
            for tree in entry.snapshot.trees.values {
                let bytes = tree.serialized()
                files[LockFile.treeFileName(Digest.of(bytes))] = bytes
            }
        }
        return files
    }
}
