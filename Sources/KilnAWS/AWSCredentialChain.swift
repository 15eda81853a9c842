import Foundation
import OCI

/// Finds AWS credentials in the order the AWS SDKs use: the environment's keys, web identity,
/// the shared files' profile (static keys, `credential_process`, `web_identity_token_file`),
/// ECS container credentials, then EC2 instance metadata (IMDSv2).
package struct AWSCredentialChain: Sendable {
    private let environment: [String: String]

    package init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    var profileName: String {
        environment["AWS_PROFILE"].flatMap { $0.isEmpty ? nil : $0 } ?? environment["AWS_DEFAULT_PROFILE"].flatMap { $0.isEmpty ? nil : $0 } ?? "default"
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
        if let key = environment["AWS_ACCESS_KEY_ID"], !key.isEmpty,
           let secret = environment["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty {
            let token = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
            return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: token, source: "the environment")
        }
        if let tokenFile = environment["AWS_WEB_IDENTITY_TOKEN_FILE"], !tokenFile.isEmpty,
           let role = environment["AWS_ROLE_ARN"], !role.isEmpty {
            return try await WebIdentity(tokenFile: tokenFile, roleARN: role, environment: environment, region: region).assumeRole()
        }
        let files = AWSConfigFiles(environment: environment)
        if let profile = files.profile(profileName) {
            if let key = profile["aws_access_key_id"], let secret = profile["aws_secret_access_key"] {
                return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: profile["aws_session_token"],
                                      source: "profile '\(profileName)'")
            }
            if let command = profile["credential_process"] {
                return try CredentialProcess(profile: profileName, command: command).run()
            }
            if let tokenFile = profile["web_identity_token_file"], let role = profile["role_arn"] {
                return try await WebIdentity(tokenFile: tokenFile, roleARN: role, environment: environment, region: region).assumeRole()
            }
        }
        if let container = try ContainerCredentials(environment: environment) {
            return try await container.fetch()
        }
        if let instance = InstanceMetadataCredentials(environment: environment), let credentials = try await instance.fetch() {
            return credentials
        }
        throw AWSError.noCredentials(lookedIn: searchedLocations)
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
        let data = output.fileHandleForReading.readDataToEndOfFile()
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
