import ArgumentParser
import Foundation
import KilnAWS
import KilnRegistry
import KilnStore
import Logging

/// Flags that say how registries are reached; shared by every command that talks to one.
struct TransportFlags: ParsableArguments {
    @Option(name: .customLong("insecure"), help: ArgumentHelp("Allow plain HTTP to this registry, or to this host as the token realm of a plain-HTTP registry (loopback always may). Repeatable.", valueName: "HOST[:PORT]"))
    var insecureHosts: [String] = []

    @Option(name: .customLong("ca-file"), help: ArgumentHelp("PEM file of extra CA certificates (default: $SSL_CERT_FILE).", valueName: "PATH"))
    var caFile: String?

    @Option(name: .customLong("registry-endpoint"), help: ArgumentHelp("Send every request for registry HOST, pushes too, to URL (a test registry, a proxy serving the same paths); references keep their names. Repeatable; also in $KILN_CONFIG or ~/.config/kiln/config.yaml, which also takes read-only pull-through mirrors with a path (registries.HOST.mirrors).", valueName: "HOST=URL"))
    var endpoints: [String] = []

    @Option(help: ArgumentHelp("User name for the output registry; the password is read from standard input with --password-stdin.", valueName: "NAME"))
    var username: String?

    @Flag(help: "Read the output registry's password from standard input.")
    var passwordStdin = false

    @Option(help: "Blob transfers in parallel; for several targets, also the targets each step writes to at once.")
    var jobs: Int = 4

    @Flag(help: "Print only the result and errors (no progress or notes).")
    var quiet = false

    /// Builds the transport options; `outputRegistry` receives --username/--password-stdin.
    /// Credentials are chosen here, for every command (``RegistryCredentials`` says the order):
    /// `kiln docker` adds its login file and may leave out Docker's config (`--config DIR`).
    func options(outputRegistry: String?, loginFile: String? = nil, dockerConfig: DockerConfigCredentials = DockerConfigCredentials()) throws -> TransportOptions {
        let file = try RegistryConfigFile.load()
        let ecr: ECRCredentials
        do { ecr = try ECRCredentials(profiles: file.awsProfiles) } catch {
            throw RegistryError.invalidConfig(path: file.path ?? "kiln's config", reason: "\(error)")
        }
        var credentials = RegistryCredentials(loginFile: loginFile, ecr: ecr, dockerConfig: dockerConfig)
        var options = TransportOptions(credentials: credentials)
        options.destinationPreparations = [ECRRepositoryCheck(credentials: ecr)]
        options.endpoints = file.endpoints
        options.mirrors = file.mirrors
        options.insecureHosts = file.insecureHosts.union(insecureHosts)
        options.caFile = caFile ?? ProcessInfo.processInfo.environment["SSL_CERT_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        for entry in endpoints {
            guard let equals = entry.firstIndex(of: "="), entry[entry.index(after: equals)...].contains("://") else {
                throw ValidationError("--registry-endpoint '\(entry.redactingUserinfo)' must have the form HOST=URL, e.g. docker.io=http://127.0.0.1:5000")
            }
            options.endpoints[String(entry[..<equals])] = String(entry[entry.index(after: equals)...])
        }
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
        options.jobs = jobs
        if username != nil || passwordStdin {
            guard let username, passwordStdin else { throw ValidationError("--username and --password-stdin go together") }
            guard let outputRegistry else { throw ValidationError("--username applies to a registry output; the output is not in a registry") }
            let password = (readLine(strippingNewline: true) ?? "")
            guard !password.isEmpty else { throw ValidationError("--password-stdin read an empty password") }
            credentials.flags = (outputRegistry, Credential(username: username, secret: password, source: RegistryCredentials.flagsSource))
            options.credentials = credentials
        }
        var logger = Logger(label: "kiln")
        logger.logLevel = quiet ? .warning : .info
        options.logger = logger
        return options
    }
}
