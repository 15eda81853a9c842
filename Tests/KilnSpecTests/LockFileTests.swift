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
}
