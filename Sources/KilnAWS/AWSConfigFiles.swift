import Foundation

/// The shared AWS files, `~/.aws/credentials` and `~/.aws/config` (or `AWS_SHARED_CREDENTIALS_FILE`
/// and `AWS_CONFIG_FILE`), read the way the AWS SDKs read them.
struct AWSConfigFiles {
    let credentialsPath: String
    let configPath: String
    private let credentials: [String: [String: String]]
    private let config: [String: [String: String]]

    init(environment: [String: String]) {
        let home = environment["HOME"] ?? NSHomeDirectory()
        credentialsPath = environment["AWS_SHARED_CREDENTIALS_FILE"].flatMap { $0.isEmpty ? nil : $0 } ?? "\(home)/.aws/credentials"
        configPath = environment["AWS_CONFIG_FILE"].flatMap { $0.isEmpty ? nil : $0 } ?? "\(home)/.aws/config"
        credentials = AWSConfigFiles.parse(path: credentialsPath, profilePrefix: false)
        config = AWSConfigFiles.parse(path: configPath, profilePrefix: true)
    }

    /// A profile's settings: the credentials file wins over the config file, key by key.
    func profile(_ name: String) -> [String: String]? {
        let fromConfig = config[name]
        let fromCredentials = credentials[name]
        guard fromConfig != nil || fromCredentials != nil else { return nil }
        return (fromConfig ?? [:]).merging(fromCredentials ?? [:]) { $1 }
    }

    /// INI sections to key/value maps. In the config file, sections other than `default` are
    /// written `[profile NAME]`.
    static func parse(path: String, profilePrefix: Bool) -> [String: [String: String]] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
        var result: [String: [String: String]] = [:]
        var section: String?
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                var name = String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
                if profilePrefix, name.hasPrefix("profile ") {
                    name = String(name.dropFirst("profile ".count)).trimmingCharacters(in: .whitespaces)
                } else if profilePrefix, name != "default" {
                    section = nil  // e.g. [sso-session x]: not a profile
                    continue
                }
                section = name
                result[name, default: [:]] = result[name] ?? [:]
                continue
            }
            guard let section, let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            result[section]?[key] = value
        }
        return result
    }
}
