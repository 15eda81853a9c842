import Foundation
import KilnRecipe
import KilnSpec
import OCI
import Testing

/// kiln.lock is written by kiln's own serializer: keys in UTF-8 byte order (Foundation's
/// `.sortedKeys` compares numerically and ignoring case, and its pretty printer differs between
/// platforms), so the file is the same bytes on Linux and macOS.
@Suite struct LockFileTests {
    static func entry(document: String) -> LockFile.Entry {
        let bytes = Array(document.utf8)
        let root = Descriptor(mediaType: MediaType.ociManifest, digest: Digest.of(bytes), size: Int64(bytes.count))
        return LockFile.Entry(base: "oci:/b:1", platforms: "all", pinned: "oci:/b@\(root.digest)",
                              snapshot: BaseSnapshot(root: root, documents: [root.digest: bytes], imageName: nil))
    }

    @Test func keysAreInByteOrderAndTheTextIsExact() throws {
        var lock = LockFile()
        for name in ["app9", "app10", "Web", "api"] { lock.entries[name] = Self.entry(document: "{\"n\":\"\(name)\"}") }
        let text = String(decoding: try lock.serialized(), as: UTF8.self)
        let names = text.split(separator: "\n").filter { $0.hasPrefix("    \"") && $0.hasSuffix("{") }.map { $0.split(separator: "\"")[1] }
        #expect(names == ["Web", "api", "app10", "app9"], "byte order, not numeric or case-insensitive")

        var single = LockFile()
        single.entries["gateway"] = Self.entry(document: "{}")
        let digest = Digest.of(Array("{}".utf8))
        #expect(String(decoding: try single.serialized(), as: UTF8.self) == """
            {
              "images": {
                "gateway": {
                  "base": "oci:/b:1",
                  "documents": {
                    "\(digest)": "{}"
                  },
                  "pinned": "oci:/b@\(digest)",
                  "platforms": "all",
                  "root": {
                    "digest": "\(digest)",
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "size": 2
                  },
                  "trees": {}
                }
              },
              "lockVersion": 2
            }

            """)
    }

    @Test func whatIsWrittenParsesBackToTheSameLock() throws {
        var lock = LockFile()
        lock.entries["a"] = Self.entry(document: "{\"x\":\"caf\\u00e9 \\\"q\\\" \\n\"}")
        let written = try lock.serialized()
        let parsed = try LockFile.parse(written, path: "kiln.lock")
        #expect(parsed == lock)
        #expect(try parsed.serialized() == written)
    }

    /// kiln.lock comes from pull requests: an entry named with a newline and terminal escapes
    /// (3 KB) once went raw into `kiln lock --check`'s lines ("image '…' has no spec any more").
    /// Such a name is no spec's; the lock is refused in one line, the name escaped and bounded.
    @Test func anEntryNoSpecCouldHaveIsRefused() throws {
        var lock = LockFile()
        lock.entries["evil\u{1B}]0;x\u{07}\nweb fake" + String(repeating: "x", count: 3000)] = Self.entry(document: "{}")
        #expect {
            try LockFile.parse(try lock.serialized(), path: "kiln.lock")
        } throws: { error in
            let text = "\(error)"
            return text.hasPrefix("kiln.lock: images: 'evil\\x1B]0;x\\x07\\nweb fakexxx") && text.count < 300
                && text.hasSuffix("is no spec's name (blanks, control or invisible characters, or over 255 bytes); run kiln lock")
        }
        lock = LockFile()
        lock.entries["two words"] = Self.entry(document: "{}")
        #expect(throws: SpecError.self) { try LockFile.parse(try lock.serialized(), path: "kiln.lock") }
    }
}
