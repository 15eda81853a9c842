import Foundation

/// Base images built by the peers (umoci, skopeo), never by kiln.
public enum PeerImages {
    /// An OCI-typed single-platform image at `DIR:TAG`, built with umoci from a tiny root file system.
    ///
    /// The tree has `/etc/os-release`, `/etc/kong/kong.conf.default`, `/usr/local/kong/` and
    /// `/usr/local/bin/kong`, like the gateway's real base.
    public static func makeOCIBase(at directory: String, tag: String = "base", architecture: String = "amd64", work: TemporaryDirectory) throws {
        if !FileManager.default.fileExists(atPath: "\(directory)/oci-layout") {
            try runChecked("umoci", ["init", "--layout", directory])
        }
        try runChecked("umoci", ["new", "--image", "\(directory):\(tag)"])
        let bundle = work("bundle-\(tag)-\(UUID().uuidString)")
        try runChecked("umoci", ["unpack", "--rootless", "--image", "\(directory):\(tag)", bundle])
        let root = "\(bundle)/rootfs"
        try FileManager.default.createDirectory(atPath: "\(root)/etc/kong", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(root)/usr/local/kong", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(root)/usr/local/bin", withIntermediateDirectories: true)
        try Data("ID=peer-base\nARCH=\(architecture)\n".utf8).write(to: URL(fileURLWithPath: "\(root)/etc/os-release"))
        try Data("prefix = /usr/local/kong/\n".utf8).write(to: URL(fileURLWithPath: "\(root)/etc/kong/kong.conf.default"))
        try Data("#!/bin/sh\n".utf8).write(to: URL(fileURLWithPath: "\(root)/usr/local/bin/kong"))
        try runChecked("umoci", ["repack", "--image", "\(directory):\(tag)", bundle])
        let config = ["config", "--image", "\(directory):\(tag)", "--os", "linux", "--architecture", architecture,
                      "--config.env", "PATH=/usr/local/bin:/usr/bin:/bin", "--config.env", "KONG_DATABASE=postgres",
                      "--config.cmd", "kong", "--config.label", "vendor=peer"]
        try runChecked("umoci", config)
        try FileManager.default.removeItem(atPath: bundle)
    }

    /// A Docker-typed (v2 schema 2) copy of an image, made by skopeo.
    public static func convertToDocker(from source: String, to destination: String) throws {
        try runChecked("skopeo", ["copy", "--quiet", "--format", "v2s2", "oci:\(source)", "oci:\(destination)"])
    }

    /// A two-platform index (linux/amd64 and linux/arm64/v8) plus a BuildKit-style attestation
    /// entry, at `DIR:TAG`. The images are umoci's; only the index wrapping them is written here,
    /// because no packaged peer assembles indexes.
    public static func makeTwoPlatformBase(at directory: String, tag: String = "multi", work: TemporaryDirectory) throws {
        try makeOCIBase(at: directory, tag: "amd64", architecture: "amd64", work: work)
        try makeOCIBase(at: directory, tag: "arm64", architecture: "arm64", work: work)
        let reader = LayoutReader(directory)
        let amd64 = try reader.entry(tag: "amd64")
        let arm64 = try reader.entry(tag: "arm64")
        func child(_ entry: [String: Any], _ platform: [String: String]) -> [String: Any] {
            ["mediaType": entry["mediaType"]!, "digest": entry["digest"]!, "size": entry["size"]!, "platform": platform]
        }
        // The attestation points at an existing blob (the amd64 manifest) so the layout stays valid.
        let attestation: [String: Any] = [
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": amd64["digest"]!, "size": amd64["size"]!,
            "platform": ["os": "unknown", "architecture": "unknown"],
            "annotations": ["vnd.docker.reference.type": "attestation-manifest"],
        ]
        let index: [String: Any] = [
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [child(amd64, ["os": "linux", "architecture": "amd64"]),
                          child(arm64, ["os": "linux", "architecture": "arm64", "variant": "v8"]), attestation],
        ]
        let bytes = try JSONSerialization.data(withJSONObject: index, options: [.sortedKeys])
        let digest = "sha256:" + Array(bytes).hexDigest
        try bytes.write(to: URL(fileURLWithPath: "\(directory)/blobs/sha256/\(digest.dropFirst(7))"))
        var layoutIndex = try reader.index()
        var manifests = layoutIndex["manifests"] as? [[String: Any]] ?? []
        manifests.append(["mediaType": "application/vnd.oci.image.index.v1+json", "digest": digest, "size": bytes.count,
                          "annotations": ["org.opencontainers.image.ref.name": tag]])
        layoutIndex["manifests"] = manifests
        try JSONSerialization.data(withJSONObject: layoutIndex).write(to: URL(fileURLWithPath: "\(directory)/index.json"))
    }
}
