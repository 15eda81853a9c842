import Foundation
import KilnCrypto
import OCI

/// Reads an OCI layout the way a test inspects kiln's output: plain files, parsed with Foundation.
public struct LayoutReader {
    public let directory: String

    public init(_ directory: String) { self.directory = directory }

    public func blob(_ digest: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: "\(directory)/blobs/sha256/\(digest.dropFirst("sha256:".count))"))
    }

    public func json(_ digest: String) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: blob(digest)) as? [String: Any] else {
            throw TestFailure("blob \(digest) is not a JSON object")
        }
        return object
    }

    public func index() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(directory)/index.json"))
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { throw TestFailure("index.json is not an object") }
        return object
    }

    /// The descriptor in `index.json` tagged `tag`.
    public func entry(tag: String) throws -> [String: Any] {
        let manifests = try index()["manifests"] as? [[String: Any]] ?? []
        guard let entry = manifests.first(where: { ($0["annotations"] as? [String: String])?["org.opencontainers.image.ref.name"] == tag }) else {
            throw TestFailure("no entry tagged \(tag) in \(directory)/index.json")
        }
        return entry
    }

    /// Every file below the layout with its SHA-256: a fingerprint of the whole directory.
    public func fingerprint() -> [String: String] {
        var result: [String: String] = [:]
        guard let walker = FileManager.default.enumerator(atPath: directory) else { return result }
        while let relative = walker.nextObject() as? String {
            let full = "\(directory)/\(relative)"
            var isDirectory: ObjCBool = false
            FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory)
            if isDirectory.boolValue { result[relative + "/"] = "dir"; continue }
            let data = (try? Data(contentsOf: URL(fileURLWithPath: full))) ?? Data()
            result[relative] = Array(data).hexDigest
        }
        return result
    }
}

extension Array where Element == UInt8 {
    var hexDigest: String { SHA256.hash(self).hexString }
}
