import Foundation
import KilnTestSupport

/// The README's demo bake: the committed sample base plus the gateway overlays.
enum Demo {
    static let base = "oci:\(repositoryRoot)/samples/base:1.0"

    static func arguments(overlays: String = "\(repositoryRoot)/overlays/gateway", output: String) -> [String] {
        [
            "bake", "--base", base,
            "--overlay", "\(overlays)/kong.conf:/etc/kong/kong.conf",
            "--overlay", "\(overlays)/declarative:/usr/local/kong/declarative",
            "--owner", "1000:0", "--mode", "0640",
            "--remove", "/etc/kong/kong.conf.default",
            "--env", "KONG_DATABASE=off", "--env", "KONG_DECLARATIVE_CONFIG=/usr/local/kong/declarative/kong.yml",
            "--user", "kong", "--cmd", #"["kong","docker-start"]"#,
            "--output", output,
        ]
    }

    /// Digests of the demo bake. They change only when kiln's output format changes on purpose
    /// (or samples/ or overlays/gateway change): update them then, and say so in the commit.
    /// The defaults: stored gzip, files dated by content. Their bytes depend on kiln alone.
    static let goldenManifest = "sha256:8c056bf0e8da7735850c44ecf7500c49b69d277611472b7572a2c1daa26e4dce"
    static let goldenLayer = "sha256:8e0d76629c192fdde678e7774b6346d45b901a5b8d1e8629110de383547c65b3"
    /// With `--compression gzip --mtime epoch`, kiln 0.2's format: zlib level 6, whose bytes
    /// follow the machine's zlib (this is Debian 12's zlib 1.2.13; zlib-ng gives another).
    static let goldenManifestZlibEpoch = "sha256:d4c1b993ae493c2510d1a508cf8026593a4857567eb2aab65848e471bc044d64"
}

/// Decodes `kiln bake --json` output.
struct BakeJSON: Decodable {
    struct Layer: Decodable, Equatable {
        var digest: String
        var diffID: String
        var size: Int
    }

    var reference: String
    var digest: String
    var mediaType: String
    var platforms: [String]
    var layer: Layer

    init(_ result: ProcessResult) throws {
        guard result.status == 0 else { throw TestFailure("kiln failed (\(result.status)): \(result.stderr)") }
        self = try JSONDecoder().decode(BakeJSON.self, from: Data(result.stdout.utf8))
    }
}

/// Copies `source` into `destination` creating files in the given order, with the given mtime.
func copyTree(_ source: String, to destination: String, reversed: Bool, mtime: Date) throws {
    let manager = FileManager.default
    var files = (manager.enumerator(atPath: source)?.allObjects as? [String] ?? []).sorted()
    if reversed { files.reverse() }
    for relative in files {
        var isDirectory: ObjCBool = false
        manager.fileExists(atPath: "\(source)/\(relative)", isDirectory: &isDirectory)
        let target = "\(destination)/\(relative)"
        if isDirectory.boolValue {
            try manager.createDirectory(atPath: target, withIntermediateDirectories: true)
        } else {
            try manager.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try manager.copyItem(atPath: "\(source)/\(relative)", toPath: target)
        }
    }
    for relative in files { try manager.setAttributes([.modificationDate: mtime], ofItemAtPath: "\(destination)/\(relative)") }
}
