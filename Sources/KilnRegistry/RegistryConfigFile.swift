import Foundation
import Yams

/// Per-registry settings from `$KILN_CONFIG` or `~/.config/kiln/config.yaml`:
///
/// ```yaml
/// registries:
///   docker.io:
///     endpoint: https://mirror.example.org   # a pull-through cache; references keep their names
///   registry.internal:5000:
///     insecure: true                          # plain HTTP allowed
/// ```
/// Command-line flags win over the file. Unknown keys and wrong types are errors that name the
/// file, the line and the key.
public struct RegistryConfigFile: Equatable, Sendable {
    public var endpoints: [String: String] = [:]
    public var insecureHosts: Set<String> = []

    public init() {}

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
                    default:
                        throw fail(settingKey, "unknown key 'registries.\(name).\(settingKey.string ?? "?")' (known: endpoint, insecure)")
                    }
                }
            }
        }
        return config
    }
}
