import Foundation
import KilnDockerfile
import KilnRegistry
import KilnStore
import OCI

/// Where `docker login` keeps what it was given: `DIR/config.json` with `--config DIR` (as
/// Docker does), else kiln's own `auth.json` (`$XDG_CONFIG_HOME/kiln`, or `~/.config/kiln`),
/// both in Docker's `auths` format, written atomically with mode 0600. The secret is never
/// printed, and goes only to the host it was given for.
package struct DockerLogins: Sendable {
    package let file: String

    package init(configDirectory: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        if let configDirectory {
            file = "\(configDirectory)/config.json"
        } else if let base = environment["XDG_CONFIG_HOME"].flatMap({ $0.isEmpty ? nil : $0 }) ?? environment["HOME"].map({ "\($0)/.config" }) {
            file = "\(base)/kiln/auth.json"
        } else {
            throw RegistryError.invalidConfig(path: "kiln docker login", reason: "no place for credentials: give --config DIR or set HOME")
        }
    }

    /// Stores `credential` for `host` (replacing what the file had for it), keeping every other
    /// entry and key of the file.
    package func store(_ credential: Credential, for host: String) throws {
        let directory = (file as NSString).deletingLastPathComponent
        _ = try FileIO.makeDirectories(directory)
        var config: JSONValue = .object([])
        if FileIO.exists(file), let bytes = try FileIO.readFile(file, limit: maxMetadataBlobSize), !bytes.isEmpty {
            guard let parsed = JSONValue.object(parsing: bytes, what: file) else {
                throw RegistryError.invalidConfig(path: file, reason: "not a JSON object")
            }
            config = parsed
        }
        var auths = config["auths"] ?? .object([])
        guard auths.isObject else { throw RegistryError.invalidConfig(path: file, reason: "'auths' is not an object") }
        auths[host] = .object([("auth", .string(credential.basicToken))])
        config["auths"] = auths
        try FileIO.writeAtomically(config.serialized(), to: file, in: directory, mode: 0o600)
    }

    /// The longest password `--password-stdin` takes (a token is a few KiB; standard input
    /// may be `/dev/zero`).
    package static let maximumSecretLength = 64 * 1024

    /// `docker login`'s SERVER as the registry host it stores the credential for: a scheme and
    /// trailing `/` dropped (as Docker does), then `HOST[:PORT]` with a port from 1 to 65535,
    /// nothing else (no path, blank, control character or escape sequence).
    /// - Throws: ``DockerError/invalidArgument(_:)`` quoting a bounded excerpt.
    package static func registryHost(_ server: String) throws -> String {
        var host = server
        for scheme in ["https://", "http://"] where host.hasPrefix(scheme) { host.removeFirst(scheme.count) }
        while host.hasSuffix("/") { host.removeLast() }
        guard !host.isEmpty, RegistryReference.problem(withHost: host) == nil else {
            throw DockerError.invalidArgument("'\(UntrustedText.excerpt(server))' is not a registry host (HOST[:PORT], a port from 1 to 65535)")
        }
        return host
    }

    /// The password on `input`'s first line (its line ending dropped), at most
    /// ``maximumSecretLength`` bytes: reading stops there, whatever follows.
    /// - Throws: ``DockerError/invalidArgument(_:)`` when the line is longer or empty.
    package static func readSecret(from input: FileHandle = .standardInput) throws -> String {
        var bytes: [UInt8] = []
        while bytes.count <= maximumSecretLength {
            guard let chunk = try input.read(upToCount: 4096), !chunk.isEmpty else { break }
            let chunkBytes = Array(chunk)
            if let newline = chunkBytes.firstIndex(of: 10) {
                bytes += chunkBytes[..<newline]
                break
            }
            bytes += chunkBytes
        }
        guard bytes.count <= maximumSecretLength else {
            throw DockerError.invalidArgument("--password-stdin: the password is longer than \(maximumSecretLength) bytes")
        }
        if bytes.last == 13 { bytes.removeLast() }
        guard !bytes.isEmpty else { throw DockerError.invalidArgument("--password-stdin read an empty password") }
        return String(decoding: bytes, as: UTF8.self)
    }
}
