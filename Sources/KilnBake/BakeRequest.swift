import KilnRegistry
import KilnLayer
import KilnStore
import OCI
import KilnRecipe
import KilnSecrets

/// Everything a bake needs, with every input already parsed and validated.
public struct BakeRequest: Sendable {
    public var base: ImageReference
    public var output: ImageReference
    public var overlays: [Overlay]
    public var removals: [ImagePath]
    public var edits: ConfigEdits
    public var platforms: PlatformSelection
    /// The new layer's compression; the default, kiln's stored gzip, has bytes that depend on
    /// kiln alone.
    public var compression: LayerCompression
    /// How the new layer's entries are dated; the default dates each file by its content.
    public var entryTimes: EntryTimes
    /// Whether the bake adds a layer (overlays or removals); config edits alone add none.
    public var addsLayer: Bool { !overlays.isEmpty || !removals.isEmpty }

    /// Time of the history entry, `SOURCE_DATE_EPOCH` when set, else 0; when set it also becomes
    /// the config's `created`. (Layer entries are dated by ``entryTimes``.)
    public var sourceDateEpoch: Int64?
    /// For an ECR output: create the repository when it is missing, with these settings.
    public var createRepository: RepositoryCreation?
    /// Further destinations of the same image (a spec's other targets), each named with its
    /// tag like `output`: the base's blobs are read once for all, the layer built once, and each
    /// destination tagged after its own upload; one that fails does not stop the others
    /// (``BakeResult/outputs`` names each).
    public var otherOutputs: [ImageReference] = []
    /// The outputs are some of a spec's several targets (`kiln build` writes only those that
    /// lack the image): written as a fan-out however many they are, `--create-repository`
    /// creating the ECR ones and leaving the others alone.
    public var isOneOfSeveralTargets = false
    /// Further tags of the output given the same image after its own tag (`kiln build`: the
    /// spec's `tags` after the content tag).
    public var additionalTags: [String] = []
    /// The digest the result must have (`kiln build`'s plan): checked before anything is
    /// tagged, so a result that differs from the plan is never visible under any tag.
    public var expectedDigest: Digest?
    /// The base's documents as locked (`kiln build`): read from the lock, not the registry,
    /// which then serves only the base's layers.
    public var lockedBase: BaseSnapshot?
    /// The `org.opencontainers.image.base.name` annotation: `nil` takes the base reference's
    /// registry name (none for a layout); `.some("")` leaves it out; any other text is written
    /// as given (`--base-name`), so a bake from a local layout can reproduce CI's digest.
    public var baseName: String?
    /// For a docker-archive output, which holds one image: the platform whose image it gets
    /// when the bake has several (`kiln build --platform`); `nil`: the bake must have one.
    /// The bake itself, and its digest, are unchanged.
    public var archivePlatform: Platform?
    /// Whether the result carries ``ProvenanceFacts`` (the overlay files are hashed once more).
    public var recordsProvenanceFacts = false
    /// What the bake does with secrets in what it adds: refuse (the default) or warn, and
    /// which findings are allowed (docs/secrets.md).
    public var secrets = SecretPolicy()
    /// How findings name overlay sources the user did not name (ADD's unpacked archives):
    /// overlay source -> name.
    public var sourceNames: [String: String] = [:]
    /// Where the Env and Labels came from, as findings name it (`images/gateway.yaml`, a
    /// Dockerfile); `nil`: the `--env` and `--label` flags.
    public var configOrigin: String?

    /// The annotation value to write, given the base's own registry name.
    func baseNameAnnotation(default sourceName: String?) -> String? {
        guard let baseName else { return sourceName }
        return baseName.isEmpty ? nil : baseName
    }

    public init(
        base: ImageReference, output: ImageReference, overlays: [Overlay], removals: [ImagePath] = [],
        edits: ConfigEdits = ConfigEdits(), platforms: PlatformSelection = .all, compression: LayerCompression = .storedGzip,
        entryTimes: EntryTimes = .content, sourceDateEpoch: Int64? = nil
    ) {
        self.base = base
        self.output = output
        self.overlays = overlays
        self.removals = removals
        self.edits = edits
        self.platforms = platforms
        self.compression = compression
        self.entryTimes = entryTimes
        self.sourceDateEpoch = sourceDateEpoch
    }

    /// Reads `SOURCE_DATE_EPOCH` the way reproducible-builds.org defines it.
    public static func sourceDateEpoch(from environment: [String: String]) throws -> Int64? {
        guard let text = environment["SOURCE_DATE_EPOCH"], !text.isEmpty else { return nil }
        guard let value = Int64(text), value >= 0 else { throw BakeError.invalidSourceDateEpoch(text) }
        return value
    }
}

/// What a bake produced.
public struct BakeResult: Sendable, Equatable {
    /// The derived image's reference, pinned by digest: `oci:DIR@sha256:…` (an archive:
    /// `docker-archive:FILE:NAME:TAG@sha256:…`, the digest it has in a registry or layout).
    public var reference: String
    /// Digest of the derived manifest, or of the index for a multi-platform base.
    public var digest: Digest
    public var mediaType: String
    /// The platforms written (a docker-archive holds one image: its platform).
    public var platforms: [Platform]
    /// The new layer; `nil` for a config-only bake.
    public var layer: BuiltLayer?
    /// With ``BakeRequest/recordsProvenanceFacts``: what a provenance statement says.
    public var provenanceFacts: ProvenanceFacts?
    /// Each destination (`output`, then ``BakeRequest/otherOutputs``), pinned, and why it failed
    /// if it did. A bake to one destination throws its failure instead.
    public var outputs: [Output] = []

    public struct Output: Sendable, Equatable {
        /// `REPO@sha256:…`.
        public var reference: String
        /// The one-line error that gave this destination up; `nil`: written and tagged.
        public var failure: String?
    }
}

/// The facts of a bake its provenance records.
public struct ProvenanceFacts: Sendable, Equatable {
    /// The base's root (manifest or index), by digest.
    public var base: Descriptor
    /// The derived root.
    public var root: Descriptor
    /// The derived platform manifests, with their platforms (empty for a single manifest).
    public var platformManifests: [Descriptor]
    /// Every regular file of the new layer.
    public var overlayFiles: [OverlayFile]
}
