import Foundation
import OCI

/// Credentials as the Docker CLI and podman keep them: `auths` entries, `credHelpers` per
/// registry and a default `credsStore`, in `$DOCKER_CONFIG/config.json` (else
/// `~/.docker/config.json`) and in `$REGISTRY_AUTH_FILE`.
public struct DockerConfigCredentials: CredentialProvider {
    /// Config files in the order they are consulted.
    public let files: [String]
    private let environment: [String: String]

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
        var files: [String] = []
        if let authFile = environment["REGISTRY_AUTH_FILE"], !authFile.isEmpty { files.append(authFile) }
        if let dockerConfig = environment["DOCKER_CONFIG"], !dockerConfig.isEmpty {
            files.append("\(dockerConfig)/config.json")
        } else if let home = environment["HOME"] {
            files.append("\(home)/.docker/config.json")
        }
        self.files = files
    }

    /// Exactly these files (`kiln docker --config DIR`, its login file); credential helpers are
    /// found on `environment`'s `PATH`.
    public init(files: [String], environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
        self.files = files
    }

    public var searchedLocations: [String] { files }

    public func credential(for registry: String) async throws -> Credential? {
        try lookUp(registry)
    }

    /// The synchronous look-up: config files and credential helpers are local.
    public func lookUp(_ registry: String) throws -> Credential? {
        for file in files where FileManager.default.fileExists(atPath: file) {
            if let found = try credential(for: registry, in: file) { return found }
        }
        return nil
    }

    /// The keys a registry may be stored under (Docker Hub has historical names).
    static func keys(for registry: String) -> [String] {
        if registry == "docker.io" {
            return ["https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io", "https://registry-1.docker.io"]
        }
        return [registry, "https://\(registry)", "http://\(registry)", "https://\(registry)/v1/", "https://\(registry)/v2/"]
    }

    private func credential(for registry: String, in file: String) throws -> Credential? {
        guard let data = FileManager.default.contents(atPath: file),
              let config = JSONValue.object(parsing: Array(data), what: file) else {
            throw RegistryError.invalidConfig(path: file, reason: "not a JSON object")
        }
        let keys = DockerConfigCredentials.keys(for: registry)
        if let helpers = config["credHelpers"], let helper = keys.lazy.compactMap({ helpers[$0]?.stringValue }).first {
            return try CredentialHelper(name: helper, environment: environment).get(serverURL: registry)
        }
        if let auths = config["auths"], let entry = keys.lazy.compactMap({ auths[$0] }).first(where: \.isObject) {
            if let auth = entry["auth"]?.stringValue, !auth.isEmpty {
                guard let credential = Credential(basicToken: auth, source: file) else {
                    throw RegistryError.invalidConfig(path: file, reason: "the auth entry for \(registry) is not base64 of user:password")
                }
                return credential
            }
            if let user = entry["username"]?.stringValue, let password = entry["password"]?.stringValue {
                return Credential(username: user, secret: password, source: file)
            }
        }
        if let store = config["credsStore"]?.stringValue, !store.isEmpty {
            return try CredentialHelper(name: store, environment: environment).get(serverURL: registry)
        }
        return nil
    }
}
