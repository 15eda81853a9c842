import KilnStore
import OCI

/// `docker inspect NAME`: the JSON array Docker prints for an image, with the fields callers
/// read (`Id` is the config's digest, as Docker's image ID; `RepoTags`; `Config`; platform;
/// `RootFS`), from the store alone.
package enum DockerInspect {
    package static func json(of name: DockerImageName, in images: DockerImageStore) async throws -> JSONValue {
        guard let descriptor = try images.lookUp(name) else { throw DockerError.noSuchImage(name.description) }
        let source = images.source(name)
        let manifestBytes = try await source.fetch(descriptor)
        let manifest = try ImageManifest(raw: manifestBytes, descriptorMediaType: descriptor.mediaType, what: "manifest \(descriptor.digest) of kiln docker image '\(name)'")
        let config = try JSONValue(parsing: try await source.fetch(manifest.config), what: "config \(manifest.config.digest) of kiln docker image '\(name)'")
        let names = try images.images().filter { $0.descriptor.digest == descriptor.digest }.map(\.name)
        var fields: [(String, JSONValue)] = [
            ("Id", .string(manifest.config.digest.description)),
            ("RepoTags", .array(names.map { .string($0) })),
            ("RepoDigests", .array([])),
            ("Created", config["created"] ?? .string("1970-01-01T00:00:00Z")),
            ("Config", config["config"] ?? .object([])),
            ("Architecture", config["architecture"] ?? .string("")),
        ]
        if let variant = config["variant"] { fields.append(("Variant", variant)) }
        fields += [
            ("Os", config["os"] ?? .string("")),
            ("Size", .integer(manifest.layers.reduce(0) { $0 + $1.size })),
            ("RootFS", config["rootfs"] ?? .object([])),
            ("Metadata", .object([("LastTagTime", .string("0001-01-01T00:00:00Z"))])),
        ]
        return .array([.object(fields)])
    }
}
