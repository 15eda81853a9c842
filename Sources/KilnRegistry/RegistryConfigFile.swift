import Foundation
import Yams

/// Per-registry settings from `$KILN_CONFIG` or `~/.config/kiln/config.yaml`:
///
/// ```yaml
/// registries:
///   docker.io:
///     mirrors:                                # read through these first, in order
///       - location: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/docker-hub
///       - location: mirror.internal:5000      # HOST[:PORT][/PATH], no scheme
///         insecure: true                      # plain HTTP allowed to this mirror
///     pull-from-mirror: digest-only           # all (default) | digest-only | tag-only
///   quay.io:
///     endpoint: https://quay-cache.example.org  # every request for quay.io goes there
///   registry.internal:5000:
///     insecure: true                          # plain HTTP allowed
///   210987654321.dkr.ecr.us-east-1.amazonaws.com:
///     aws-profile: prod-push                  # ECR: this account's credentials (a profile of
///                                             # ~/.aws/config, e.g. role_arn + source_profile)
/// ```
/// A mirror serves `REGISTRY/REPO` as `HOST/PATH/REPO` (an ECR pull-through cache rule's shape)
/// and is used for reading only, never for pushes; the image keeps its name (digest, lock,
/// `base.name` annotation). `endpoint` instead sends all of a registry's requests, pushes
/// too, to one base URL, with the same repository paths. Command-line flags win over the file.
/// Unknown keys and wrong types are errors that name the file, the line and the key.
public struct RegistryConfigFile: Equatable, Sendable {
    public var endpoints: [String: String] = [:]
    /// Registries and mirror hosts that may be reached over plain HTTP.
    public var insecureHosts: Set<String> = []
    /// Registry name -> its mirrors and when they are used.
    public var mirrors: [String: RegistryMirrors] = [:]
    /// ECR registry host -> the AWS profile whose credentials it is reached with (one role per
    /// account); hosts not named use the credential chain as it is.
    public var awsProfiles: [String: String] = [:]
    /// The file these settings came from (for errors found later); `nil` without one.
    public var path: String?

    public init() {}

    /// Equal settings, wherever they were read from.
    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.endpoints == rhs.endpoints && lhs.insecureHosts == rhs.insecureHosts && lhs.mirrors == rhs.mirrors && lhs.awsProfiles == rhs.awsProfiles
    }

    /// The config file kiln reads, if any: `$KILN_CONFIG` (which must exist), else
    /// `$XDG_CONFIG_HOME/kiln/config.yaml` or `~/.config/kiln/config.yaml` when present.
    public static func load(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> RegistryConfigFile {
        if let explicit = environment["KILN_CONFIG"], !explicit.isEmpty {
            guard let text = try? String(contentsOfFile: explicit, encoding: .utf8) else {
                throw RegistryError.invalidConfig(path: explicit, reason: "cannot read it (named by KILN_CONFIG)")
            }
            return try parse(text, path: explicit)
        }
        let base = environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? environment["HOME"].map { "\($0)/.config" }
        guard let base, let text = try? String(contentsOfFile: "\(base)/kiln/config.yaml", encoding: .utf8) else {
            return RegistryConfigFile()
        }
        return try parse(text, path: "\(base)/kiln/config.yaml")
    }

    /// Parses the YAML text of a config file.
    public static func parse(_ text: String, path: String) throws -> RegistryConfigFile {
        func fail(_ node: Node?, _ reason: String) -> RegistryError {
            .invalidConfig(path: node?.mark.map { "\(path):\($0.line)" } ?? path, reason: reason)
        }
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch {
            throw RegistryError.invalidConfig(path: path, reason: "not valid YAML")
        }
        var config = RegistryConfigFile()
        config.path = path
        guard let root else { return config }
        guard let top = root.mapping else { throw fail(root, "the file must be a mapping with a 'registries' key") }
        for (key, value) in top {
            guard key.string == "registries" else { throw fail(key, "unknown key '\(key.string ?? "?")' (known: registries)") }
            guard let registries = value.mapping else { throw fail(value, "'registries' must map registry names to settings") }
            for (nameNode, settingsNode) in registries {
                guard let name = nameNode.string, !name.isEmpty else { throw fail(nameNode, "a registry name must be a string") }
                guard let settings = settingsNode.mapping else { throw fail(settingsNode, "registries.\(name) must be a mapping") }
                for (settingKey, settingValue) in settings {
                    switch settingKey.string {
                    case "endpoint":
                        guard let url = settingValue.string, url.hasPrefix("http://") || url.hasPrefix("https://") else {
                            throw fail(settingValue, "registries.\(name).endpoint must be an http:// or https:// URL")
                        }
                        config.endpoints[name] = url
                    case "insecure":
                        guard let flag = settingValue.bool else { throw fail(settingValue, "registries.\(name).insecure must be true or false") }
                        if flag { config.insecureHosts.insert(name) }
                    case "mirrors":
                        guard let list = settingValue.sequence else {
                            throw fail(settingValue, "registries.\(name).mirrors must be a list of mappings with a 'location'")
                        }
                        var mirrors: [RegistryMirror] = []
                        for entry in list {
                            let (mirror, insecure) = try parseMirror(entry, key: "registries.\(name).mirrors", fail: fail)
                            mirrors.append(mirror)
                            // kiln's sessions are per host: the mirror host's plain-HTTP permission.
                            if insecure { config.insecureHosts.insert(mirror.host) }
                        }
                        config.mirrors[name, default: RegistryMirrors()].mirrors = mirrors
                    case "pull-from-mirror":
                        guard let text = settingValue.string, let policy = MirrorPolicy(rawValue: text) else {
                            throw fail(settingValue, "registries.\(name).pull-from-mirror must be one of \(MirrorPolicy.allCases.map(\.rawValue).joined(separator: ", "))")
                        }
                        config.mirrors[name, default: RegistryMirrors()].policy = policy
                    case "aws-profile":
                        guard let profile = settingValue.string, !profile.isEmpty, profile.utf8.count <= 128,
                              profile.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "[") && $0 != UInt8(ascii: "]") }) else {
                            throw fail(settingValue, "registries.\(name).aws-profile must be a profile name of the AWS config files")
                        }
                        config.awsProfiles[name] = profile
                    default:
                        throw fail(settingKey, "unknown key 'registries.\(name).\(settingKey.string ?? "?")' (known: endpoint, insecure, mirrors, pull-from-mirror, aws-profile)")
                    }
                }
            }
        }
        return config
    }

    /// One entry of a `mirrors` list: `{location: HOST[:PORT][/PATH], insecure: BOOL}`.
    private static func parseMirror(_ entry: Node, key: String, fail: (Node?, String) -> RegistryError) throws -> (RegistryMirror, Bool) {
        guard let fields = entry.mapping else { throw fail(entry, "each entry of \(key) must be a mapping with a 'location'") }
        var location: RegistryMirror?
        var insecure = false
        for (fieldKey, fieldValue) in fields {
            switch fieldKey.string {
            case "location":
                guard let text = fieldValue.string, !text.isEmpty else { throw fail(fieldValue, "\(key).location must be HOST[:PORT][/PATH]") }
                do { location = try RegistryMirror(location: text) } catch {
                    throw fail(fieldValue, "\(key).location: \(error.description)")
                }
            case "insecure":
                guard let flag = fieldValue.bool else { throw fail(fieldValue, "\(key).insecure must be true or false") }
                insecure = flag
            default:
                throw fail(fieldKey, "unknown key '\(key).\(fieldKey.string ?? "?")' (known: location, insecure)")
            }
        }
        guard let location else { throw fail(entry, "an entry of \(key) has no 'location'") }
        return (location, insecure)
    }
}
