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
/// ```
public struct ImageSpec: Sendable {
    /// The image's name: the spec file's name without `.yaml`.
    public var name: String
    /// The spec file, for messages.
    public var path: String
    public var base: ImageReference
    public var platforms: PlatformSelection
    /// The repository (registry reference without tag) or layout directory the image goes to.
    public var target: ImageReference
    public var tags: [String]
    public var overlays: [Overlay]
    public var removals: [ImagePath]
    public var edits: ConfigEdits
}
