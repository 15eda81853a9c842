import KilnDockerfile
import KilnRecipe
import KilnLayer
import KilnStore
import OCI

/// One derived image, as declared in `images/NAME.yaml`.
///
/// ```yaml
/// base: kong:2.6.0-alpine
/// platforms: [linux/amd64]                 # optional; default: every platform of the base
/// target: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/um/gateway   # a repository, or oci:DIR
/// targets:                                 # optional: more registry repositories, same image
///   - 210987654321.dkr.ecr.us-east-1.amazonaws.com/um/gateway
/// tags: [latest]                           # optional extra tags
/// overlays:
///   - from: overlays/gateway/kong.conf     # relative to the repository root
///     to: /etc/kong/kong.conf
///     owner: "1000:0"
///     mode: "0640"
/// remove: [/etc/kong/kong.conf.default]
/// config:
///   env: {KONG_DATABASE: "off"}
///   user: kong
///   cmd: [kong, docker-start]
/// compression: stored-gzip                 # optional: stored-gzip (default), gzip or zstd
/// mtime: content                           # optional: content (default), epoch (0) or seconds
/// container: gateway                       # optional: the ECS container name (default: the spec's name)
/// ```
///
/// Or, instead of `base`, `overlays`, `remove` and `config`, a Dockerfile of the subset
/// `kiln docker build` reads (its FROM is the base):
///
/// ```yaml
/// dockerfile: images/gateway/Dockerfile    # relative to the repository root
/// context: images/gateway                  # optional; default: the Dockerfile's directory
/// build-args: {KONG_VERSION: 2.6.0}        # optional
/// target: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/um/gateway
/// ```
package struct ImageSpec: Sendable {
    /// The image's name: the spec file's name without `.yaml`.
    package var name: String
    /// The spec file, for messages.
    package var path: String
    package var base: ImageReference
    package var platforms: PlatformSelection
    /// Every repository the image goes to, in the spec's order (`target:` first, then
    /// `targets:`): one registry repository (without tag) or layout directory, or several
    /// registry repositories, each named once. The derived image, and its digest, do not
    /// depend on them.
    package var targets: [ImageReference]
    /// The most repositories `targets:` may list.
    package static let maxTargets = 256
    /// The first target: where a spec with one target goes, and the one a deploy file names
    /// when none is chosen.
    package var target: ImageReference { targets[0] }
    package var tags: [String]
    package var overlays: [Overlay]
    package var removals: [ImagePath]
    package var edits: ConfigEdits
    package var compression: LayerCompression = .storedGzip
    /// How the layer's entries are dated; `epoch` is 0 here: specs ignore `SOURCE_DATE_EPOCH`.
    package var entryTimes: EntryTimes = .content
    /// The Dockerfile the spec names instead of overlays and config (evaluated against the
    /// locked base's config when a bake is planned).
    package var dockerfile: SpecDockerfile? = nil
    /// `allow-secrets`: fingerprints of secret findings this image may bake anyway
    /// (docs/secrets.md).
    package var allowSecrets: Set<String> = []
    /// The repository root's real path: findings name overlay files relative to it.
    package var repositoryRoot: String = ""
    /// The ECS container name `kiln plan --format imagedefinitions` writes, when the spec sets
    /// `container:` (checked against ECS's rule); else the spec's name is used.
    package var container: String? = nil

    /// Whether `name` is a valid ECS container name: 1 to 255 ASCII letters, digits, hyphens
    /// and underscores.
    package static func isValidContainerName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        return (1...255).contains(bytes.count) && bytes.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x5F
        }
    }
}

/// A spec's Dockerfile, read and checked when the spec is.
package struct SpecDockerfile: Sendable {
    package var dockerfile: Dockerfile
    package var context: BuildContext
    package var buildArgs: [String: String]
    /// Its real path (inside the repository).
    package var path: String
}
