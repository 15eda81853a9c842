import ArgumentParser
import Foundation
import KilnSecrets

extension SecretPolicy.Mode: ExpressibleByArgument {}

/// `--secrets` and `--allow-secret` (kiln bake, kiln docker build), with `KILN_ALLOW_SECRETS`
/// from the environment for the AWS CDK route, which passes no flags of its own.
struct SecretFlags: ParsableArguments {
    @Option(help: ArgumentHelp("What a secret in the files, --env or --label values the image would get does: refuse (the default: exit 1 before anything is written), warn (print the findings and bake; for a first migration) or off (no scan; for benchmarks and inputs known to be public). See docs/secrets.md.", valueName: "refuse|warn|off"))
    var secrets: SecretPolicy.Mode = .refuse

    @Option(name: .customLong("allow-secret"), help: ArgumentHelp("Bake the finding with this fingerprint anyway (the 16 hex digits in brackets a finding prints; it changes when the secret does). Repeatable; KILN_ALLOW_SECRETS adds more, separated by commas.", valueName: "FINGERPRINT"))
    var allowSecret: [String] = []

    func policy(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> SecretPolicy {
        var allowed: Set<String> = []
        do {
            for text in allowSecret { allowed.formUnion(try SecretPolicy.fingerprints(parsing: text, what: "--allow-secret")) }
            if let text = environment["KILN_ALLOW_SECRETS"] { allowed.formUnion(try SecretPolicy.fingerprints(parsing: text, what: "KILN_ALLOW_SECRETS")) }
        } catch let error as SecretPolicyError {
            throw InputError(error.description)
        }
        return SecretPolicy(mode: secrets, allowed: allowed)
    }
}
