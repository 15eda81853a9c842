import Foundation

/// Base images built by the peers (umoci, skopeo), never by kiln.
public enum PeerImages {
    /// An OCI-typed single-platform image at `DIR:TAG`, built with umoci from a tiny root file system.
    ///
    /// The tree has `/etc/os-release`, `/etc/passwd` (with user kong), `/etc/kong/kong.conf.default`, `/usr/local/kong/` and
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
        try Data("root:x:0:0:root:/root:/bin/sh\nkong:x:1000:1000:kong:/home/kong:/bin/sh\n".utf8).write(to: URL(fileURLWithPath: "\(root)/etc/passwd"))
        try Data("prefix = /usr/local/kong/\n".utf8).write(to: URL(fileURLWithPath: "\(root)/etc/kong/kong.conf.default"))
        try Data("#!/bin/sh\n".utf8).write(to: URL(fileURLWithPath: "\(root)/usr/local/bin/kong"))
        try runChecked("umoci", ["repack", "--image", "\(directory):\(tag)", bundle])
        let config = ["config", "--image", "\(directory):\(tag)", "--os", "linux", "--architecture", architecture,
                      "--config.env", "PATH=/usr/local/bin:/usr/bin:/bin", "--config.env", "KONG_DATABASE=postgres",
                      "--config.cmd", "kong", "--config.label", "vendor=peer"]
        try runChecked("umoci", config)
        try FileManager.default.removeItem(atPath: bundle)
    }

    /// The umoci base of ``makeOCIBase(at:tag:architecture:work:)`` at `work("base")`, pushed to
    /// `registry` as `base/app:1.0` with skopeo.
    public static func pushBase(to registry: RegistryServer, work: TemporaryDirectory) throws {
        try makeOCIBase(at: work("base"), work: work)
        try registry.push(layout: "\(work("base")):base", to: "base/app:1.0")
    }

    /// A Docker-typed (v2 schema 2) copy of an image, made by skopeo.
    public static func convertToDocker(from source: String, to destination: String) throws {
        try runChecked("skopeo", ["copy", "--quiet", "--format", "v2s2", "oci:\(source)", "oci:\(destination)"])
    }

    /// A two-platform index (linux/amd64 and linux/arm64/v8) plus a BuildKit-style attestation
    /// entry, at `DIR:TAG`. The images are umoci's; only the index wrapping them is written here,
    /// because no packaged peer assembles indexes.
    /// - Parameter declaringPlatforms: whether the image entries carry their `platform` field
    ///   (`false`: none, as some older tools write; the platform is then only in each config).
    public static func makeTwoPlatformBase(at directory: String, tag: String = "multi", declaringPlatforms: Bool = true, work: TemporaryDirectory) throws {
        try makeOCIBase(at: directory, tag: "amd64", architecture: "amd64", work: work)
        try makeOCIBase(at: directory, tag: "arm64", architecture: "arm64", work: work)
        let reader = LayoutReader(directory)
        let amd64 = try reader.entry(tag: "amd64")
        let arm64 = try reader.entry(tag: "arm64")
        func child(_ entry: [String: Any], _ platform: [String: String]) -> [String: Any] {
            var child: [String: Any] = ["mediaType": entry["mediaType"]!, "digest": entry["digest"]!, "size": entry["size"]!]
            if declaringPlatforms { child["platform"] = platform }
            return child
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

extension PeerImages {
    /// Unpacks `DIR:TAG` with umoci: as root with real owners, otherwise rootless.
    public static func unpack(_ image: String, to bundle: String) throws {
        let rootless = getuid() == 0 ? [] : ["--rootless"]
        try runChecked("umoci", ["unpack"] + rootless + ["--image", image, bundle])
    }

    /// Exposes one image of a layout through skopeo's `dir:` transport (manifest.json plus blobs
    /// named by hex), because skopeo 1.9 reads only OCI-typed manifests from OCI layouts.
    public static func exportToDirTransport(layout: String, manifestDigest: String, to directory: String) throws {
        let reader = LayoutReader(layout)
        let manager = FileManager.default
        try manager.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try reader.blob(manifestDigest).write(to: URL(fileURLWithPath: "\(directory)/manifest.json"))
        let manifest = try reader.json(manifestDigest)
        let descriptors = [manifest["config"] as? [String: Any] ?? [:]] + (manifest["layers"] as? [[String: Any]] ?? [])
        for descriptor in descriptors {
            let digest = descriptor["digest"] as? String ?? ""
            try manager.copyItem(atPath: "\(layout)/blobs/sha256/\(digest.dropFirst(7))", toPath: "\(directory)/\(digest.dropFirst(7))")
        }
        try Data("Directory Transport Version: 1.1\n".utf8).write(to: URL(fileURLWithPath: "\(directory)/version"))
    }
}
