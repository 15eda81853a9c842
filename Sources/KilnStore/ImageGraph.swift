import OCI

/// An image as a source holds it: the root its reference resolves to (one manifest or an
/// index) and, per platform image, its descriptor, manifest, config and platform. Read lazily:
/// only the root up front; a platform image only when asked for, and one whose index entry
/// declares a platform nobody wants is never fetched. Every caller that walks
/// root -> index -> manifest -> config (bake, lock, plan, copy, docker build, a Dockerfile
/// spec, verify) walks it here. (The blobs a root reaches, every child included, are another
/// walk: a layout's tag step and abort, an oci-archive's contents.)
///
/// **The platform rule**, the one place kiln decides what platform an image is and which image
/// a platform asks for:
/// - An index's platform images are its entries that are image manifests, not attestations,
///   signatures, nested indexes or `unknown/unknown` entries (``Descriptor/isBakeableImage``).
/// - An image's platform is its index entry's `platform`; an entry without one (older tools
///   write such indexes) gets the platform its config names (`os`, `architecture`, `variant`),
///   as a single manifest does.
/// - A platform request matches by ``Platform/matches(_:)`` (a request without a variant takes
///   any variant). A selection of platforms takes every image it matches, in index order;
///   where ONE image is needed (docker build's FROM, `copy --platform`, a docker-archive) and
///   several match, the first in index order is taken, as containerd, Docker,
///   go-containerregistry and skopeo do. None matching is an error listing what there is.
public struct ImageGraph: Sendable {
    /// One platform image.
    public struct Image: Sendable {
        /// Its index entry; for a single-manifest root, the manifest's own descriptor.
        public var descriptor: Descriptor
        public var manifest: ImageManifest
        public var config: JSONValue
        public var configBytes: [UInt8]
        public var platform: Platform
    }

    public let source: ImageSource
    /// Names the image in errors (`manifest <digest> of <what>`).
    public let what: String
    /// What the reference resolved to, and its bytes as read.
    public let root: Descriptor
    public let rootBytes: [UInt8]
    /// The root when it is an index; `nil` for a single manifest.
    public let index: ImageIndex?
    /// The root when it is a single manifest.
    public let manifest: ImageManifest?

    /// Resolves the source's reference and reads the root document.
    public static func read(from source: ImageSource, what: String) async throws -> ImageGraph {
        try await read(from: source, root: try await source.resolve(), what: what)
    }

    /// Reads the root document `root` of the source.
    public static func read(from source: ImageSource, root: Descriptor, what: String) async throws -> ImageGraph {
        try ImageGraph(source: source, root: root, rootBytes: try await source.fetch(root), what: what)
    }

    /// A graph over a root document already in hand.
    public init(source: ImageSource, root: Descriptor, rootBytes: [UInt8], what: String) throws {
        self.source = source
        self.root = root
        self.rootBytes = rootBytes
        self.what = what
        switch try ManifestKind(raw: rootBytes, descriptorMediaType: root.mediaType.isEmpty ? nil : root.mediaType, what: "manifest \(root.digest) of \(what)") {
        case .image(let manifest):
            self.manifest = manifest
            index = nil
        case .index(let index):
            self.index = index
            manifest = nil
        }
    }

    public var isIndex: Bool { index != nil }

    /// The index's platform images (none for a single manifest).
    public var platformEntries: [Descriptor] { index?.manifests.filter(\.isBakeableImage) ?? [] }

    /// A child manifest of the index, as the source holds it.
    public func childManifest(_ entry: Descriptor) async throws -> ImageManifest {
        try ImageManifest(raw: try await source.fetch(entry), descriptorMediaType: entry.mediaType.isEmpty ? nil : entry.mediaType, what: "manifest \(entry.digest) of \(what)")
    }

    /// The images whose platform `selected` accepts, in index order.
    /// - Parameter requested: the selection as text, for the error.
    /// - Throws: ``StoreError/noImageForPlatform(what:requested:available:)`` when none is.
    public func images(_ selected: (Platform) -> Bool, requested: String) async throws -> [Image] {
        var images: [Image] = []
        let available = try await walk { platform in selected(platform) ? .take : .skip } found: { images.append($0); return true }
        guard !images.isEmpty else { throw StoreError.noImageForPlatform(what: what, requested: requested, available: available.map(\.description)) }
        return images
    }

    /// Every platform image.
    public func allImages() async throws -> [Image] {
        try await images({ _ in true }, requested: "any")
    }

    /// The one image for `wanted`: the first in index order that matches it.
    /// - Throws: ``StoreError/noImageForPlatform(what:requested:available:)`` when none does.
    public func image(for wanted: Platform) async throws -> Image {
        var chosen: Image?
        let available = try await walk { wanted.matches($0) ? .take : .skip } found: { chosen = $0; return false }
        guard let chosen else { throw StoreError.noImageForPlatform(what: what, requested: wanted.description, available: available.map(\.description)) }
        return chosen
    }

    /// The single manifest's image (its platform from its config), whatever platform it is.
    /// - Throws: when the root is an index.
    public func onlyImage() async throws -> Image {
        guard let manifest else { throw StoreError.notOneImage(location: what) }
        return try await load(manifest, descriptor: manifest.descriptor, declared: nil)
    }

    private enum Decision { case take, skip }

    /// Visits the platform images in order: an entry declaring a platform is read only when
    /// `decide` takes it; one declaring none is read to learn its platform from its config.
    /// - Parameter found: gets each image taken; returns whether to go on.
    /// - Returns: the platforms seen (for errors).
    private func walk(_ decide: (Platform) -> Decision, found: (Image) -> Bool) async throws -> [Platform] {
        guard let index else {
            let image = try await onlyImage()
            if decide(image.platform) == .take { _ = found(image) }
            return [image.platform]
        }
        var seen: [Platform] = []
        for entry in index.manifests where entry.isBakeableImage {
            if let declared = entry.platform {
                seen.append(declared)
                guard decide(declared) == .take else { continue }
            }
            let image = try await load(try await childManifest(entry), descriptor: entry, declared: entry.platform)
            if entry.platform == nil { seen.append(image.platform) }
            if entry.platform == nil, decide(image.platform) == .skip { continue }
            if !found(image) { break }
        }
        return seen
    }

    private func load(_ manifest: ImageManifest, descriptor: Descriptor, declared: Platform?) async throws -> Image {
        let what = "config \(manifest.config.digest) of \(self.what)"
        let bytes = try await source.fetch(manifest.config)
        let config = try JSONValue(parsing: bytes, what: what)
        guard config.isObject else { throw OCIError.malformed(what: what, reason: "not a JSON object") }
        return Image(descriptor: descriptor, manifest: manifest, config: config, configBytes: bytes, platform: declared ?? Platform(config: config))
    }
}

extension Platform {
    /// The platform an image config names (`os`, `architecture`, `variant`); `unknown` where
    /// it names none.
    public init(config: JSONValue) {
        self.init(os: config["os"]?.stringValue ?? "unknown", architecture: config["architecture"]?.stringValue ?? "unknown",
                  variant: config["variant"]?.stringValue)
    }
}
