import Foundation
import OCI

/// Finds AWS credentials in the order the AWS SDKs use: the environment's keys, web identity,
/// the shared files' profile (static keys, `credential_process`, `web_identity_token_file`,
/// `role_arn` with `source_profile`),
/// ECS container credentials, then EC2 instance metadata (IMDSv2).
package struct AWSCredentialChain: Sendable {
    private let environment: [String: String]
    /// A profile chosen for one registry (`registries.HOST.aws-profile`): only it is asked.
    private let chosenProfile: String?

    /// - Parameter profile: ask only this profile of the shared files (a registry's own
    ///   account), not the environment's keys or the rest of the chain.
    package init(environment: [String: String] = ProcessInfo.processInfo.environment, profile: String? = nil) {
        self.environment = environment
        chosenProfile = profile
    }

    var profileName: String {
        chosenProfile ?? environment["AWS_PROFILE"].flatMap { $0.isEmpty ? nil : $0 } ?? environment["AWS_DEFAULT_PROFILE"].flatMap { $0.isEmpty ? nil : $0 } ?? "default"
    }

    /// The places the chain looks, for the "none found" error.
    package var searchedLocations: [String] {
        let files = AWSConfigFiles(environment: environment)
        return ["environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)",
                "web identity (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN)",
                "profile '\(profileName)' in \(files.credentialsPath) and \(files.configPath)",
                "ECS container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, AWS_CONTAINER_CREDENTIALS_FULL_URI)",
                InstanceMetadataCredentials(environment: environment).map { "EC2 instance metadata at \($0.endpoint)" }
                    ?? "EC2 instance metadata (disabled by AWS_EC2_METADATA_DISABLED)"]
    }

    /// The first credentials found.
    /// - Throws: ``AWSError/noCredentials(lookedIn:)`` listing where it looked, or the error of
    ///   a source that exists but fails (a broken `credential_process`).
    package func resolve() async throws -> AWSCredentials {
        if let chosenProfile {
            let files = AWSConfigFiles(environment: environment)
            guard let credentials = try await profileCredentials(chosenProfile, files: files, chain: []) else {
                throw AWSError.invalidProfile(profile: chosenProfile, reason: "not found, or without credentials, in \(files.credentialsPath) and \(files.configPath)")
            }
            return credentials
        }
        if let key = environment["AWS_ACCESS_KEY_ID"], !key.isEmpty,
           let secret = environment["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty {
            let token = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
            return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: token, source: "the environment")
        }
        if let tokenFile = environment["AWS_WEB_IDENTITY_TOKEN_FILE"], !tokenFile.isEmpty,
           let role = environment["AWS_ROLE_ARN"], !role.isEmpty {
            return try await WebIdentity(tokenFile: tokenFile, roleARN: role, environment: environment, region: region).assumeRole()
        }
        if let credentials = try await profileCredentials(profileName, files: AWSConfigFiles(environment: environment), chain: []) {
            return credentials
        }
        if let container = try ContainerCredentials(environment: environment) {
            return try await container.fetch()
        }
        if let instance = InstanceMetadataCredentials(environment: environment), let credentials = try await instance.fetch() {
            return credentials
        }
        throw AWSError.noCredentials(lookedIn: searchedLocations)
    }

    /// A profile's credentials: static keys, `credential_process`, a web identity role, or a
    /// role assumed with a `source_profile`'s credentials (followed at most 4 deep, never round
    /// a loop); `nil` when the profile is missing or has none of them.
    /// - Parameter chain: the profiles whose `source_profile` led here, outermost first.
    private func profileCredentials(_ name: String, files: AWSConfigFiles, chain: [String]) async throws -> AWSCredentials? {
        let depth = chain.count
        guard let profile = files.profile(name) else { return nil }
        if let key = profile["aws_access_key_id"], let secret = profile["aws_secret_access_key"], profile["role_arn"] == nil || depth > 0 {
            return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: profile["aws_session_token"], source: "profile '\(name)'")
        }
        if let command = profile["credential_process"] {
            return try CredentialProcess(profile: name, command: command).run()
        }
        if let tokenFile = profile["web_identity_token_file"], let role = profile["role_arn"] {
            return try await WebIdentity(tokenFile: tokenFile, roleARN: role, environment: environment, region: region).assumeRole()
        }
        if profile["role_arn"] != nil, let sourceName = profile["source_profile"] {
            let path = chain + [name]
            // A profile naming itself holds the keys the role is assumed with (once); any other
            // return to a profile of the chain is a loop, named as such.
            if path.dropLast().contains(sourceName) || (sourceName == name && chain.last == name) {
                throw AWSError.invalidProfile(profile: path[0], reason: "its source_profile chain loops without credentials (\((path + [sourceName]).joined(separator: " -> ")))")
            }
            guard depth < 4 else { throw AWSError.invalidProfile(profile: path[0], reason: "source_profile goes more than 4 profiles deep (\((path + [sourceName]).joined(separator: " -> ")))") }
            let source = try await profileCredentials(sourceName, files: files, chain: path)
            guard let source else {
                throw AWSError.invalidProfile(profile: name, reason: "its source_profile '\(sourceName)' is missing or has no credentials")
            }
            return try await AssumeRole(profile: name, settings: profile, environment: environment, region: profile["region"] ?? region).assume(with: source)
        }
        return nil
    }

    /// The region from `AWS_REGION`, `AWS_DEFAULT_REGION` or the profile.
    package var region: String? {
        if let region = environment["AWS_REGION"], !region.isEmpty { return region }
        if let region = environment["AWS_DEFAULT_REGION"], !region.isEmpty { return region }
        return AWSConfigFiles(environment: environment).profile(profileName)?["region"]
    }
}

/// `credential_process`: a command printing `{"Version": 1, "AccessKeyId", "SecretAccessKey",
/// "SessionToken", "Expiration"}` on standard output.
struct CredentialProcess {
    let profile: String
    let command: String
    /// The most output read from the command.
    static let maxOutput = 64 << 10

    func run() throws -> AWSCredentials {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        do { try process.run() } catch {
            throw AWSError.credentialProcess(profile: profile, reason: "could not start it")
        }
        // At most 64 KiB (credentials are a few hundred bytes): a command that prints without
        // end (`yes`) is stopped, not read into memory until the machine runs out.
        let reader = output.fileHandleForReading
        var data = Data()
        while data.count <= Self.maxOutput, let chunk = try? reader.read(upToCount: 16384), !chunk.isEmpty {
            data.append(chunk)
        }
        if data.count > Self.maxOutput {
            // Closing the pipe first: a writer that ignores SIGTERM (an inherited signal mask)
            // still ends on its next write.
            try? reader.close()
            process.terminate()
            process.waitUntilExit()
            throw AWSError.credentialProcess(profile: profile, reason: "it printed more than \(Self.maxOutput) bytes")
        }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw AWSError.credentialProcess(profile: profile, reason: "it exited with status \(process.terminationStatus)")
        }
        guard let object = JSONValue.object(parsing: Array(data), what: "credential_process"),
              object["Version"]?.doubleValue == 1,
              let key = object["AccessKeyId"]?.stringValue, let secret = object["SecretAccessKey"]?.stringValue else {
            throw AWSError.credentialProcess(profile: profile, reason: "its output is not {\"Version\": 1, \"AccessKeyId\", \"SecretAccessKey\", …} JSON")
        }
        return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: object["SessionToken"]?.stringValue,
                              source: "credential_process of profile '\(profile)'")
    }
}
