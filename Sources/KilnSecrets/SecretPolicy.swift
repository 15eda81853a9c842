import KilnCrypto

/// What a run does with the secrets it finds: refuse the bake (the default) or warn, and which
/// findings are allowed by fingerprint.
public struct SecretPolicy: Sendable, Equatable {
    public enum Mode: String, Sendable, CaseIterable {
        /// A finding that is not allowed fails the run before anything is written.
        case refuse
        /// Findings are printed as warnings and the bake goes on (`--secrets warn`, for a first
        /// migration).
        case warn
        /// No scan at all: what `warn` lets through, without reading for it (benchmarks; inputs
        /// known to be public). Never the default.
        case off
    }

    public var mode: Mode
    /// Fingerprints (16 lowercase hex digits) of findings that may be baked.
    public var allowed: Set<String>

    public init(mode: Mode = .refuse, allowed: Set<String> = []) {
        self.mode = mode
        self.allowed = allowed
    }

    /// Parses fingerprints as `--allow-secret`, `allow-secrets:` and `KILN_ALLOW_SECRETS` give
    /// them: separated by commas or blanks, 16 hex digits each.
    /// - Throws: ``SecretPolicyError`` naming the first that is not one (bounded).
    public static func fingerprints(parsing text: String, what: String) throws -> Set<String> {
        var result: Set<String> = []
        for part in text.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" || $0 == "\n" }) {
            let lower = part.lowercased()
            guard lower.utf8.count == 16, lower.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
                throw SecretPolicyError("\(what): \(shown(part)) is not a secret fingerprint (16 hex digits, as a finding prints it)")
            }
            result.insert(lower)
        }
        return result
    }

    /// An entry that is no fingerprint, as its error shows it: whole when it is a few hex
    /// digits (a mistyped fingerprint), else only its first 4 characters and its length, since
    /// it may be the secret itself pasted by mistake; escaped, so it is one printable line.
    static func shown(_ part: Substring) -> String {
        let hex = part.utf8.allSatisfy { (48...57).contains($0) || (65...70).contains($0) || (97...102).contains($0) }
        if hex && part.utf8.count <= 20 { return "'\(part)'" }
        let head = part.unicodeScalars.prefix(4).map { scalar in
            (0x21...0x7E).contains(scalar.value) ? String(scalar) : "\\u{\(String(scalar.value, radix: 16))}"
        }.joined()
        let count = part.unicodeScalars.count
        return count <= 4 ? "'\(head)'" : "'\(head)…' (\(count) characters)"
    }

    /// The findings this policy does not allow (neither by fingerprint nor inline).
    public func refused(_ located: [LocatedFinding]) -> [LocatedFinding] {
        located.filter { !$0.finding.allowedInline && !allowed.contains($0.fingerprint) }
    }
}

/// A bad fingerprint in an allow list.
public struct SecretPolicyError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A finding with where it was found and where it would go.
public struct LocatedFinding: Sendable, Equatable {
    /// Where it is on the building machine, as the user named it (`overlays/kong/kong.conf`),
    /// or the flag or instruction that set it (`--env`, `Dockerfile:4`).
    public var source: String
    /// What the image would carry: a path in the image, or `Env` / `Labels` with the key.
    public var target: Target
    public var finding: SecretFinding

    public enum Target: Sendable, Equatable {
        case file(String)
        case environment(String)
        case label(String)

        /// What the fingerprint hashes as the place in the image.
        var identity: String {
            switch self {
            case .file(let path): return path
            case .environment(let name): return "Env:" + name
            case .label(let key): return "Labels:" + key
            }
        }

        var phrase: String {
            switch self {
            case .file(let path): return "would be baked into \(path)"
            case .environment(let name): return "would be set in the image's Env (\(SecretNames.display(Array(name.utf8)[...])))"
            case .label(let key): return "would be set in the image's Labels (\(SecretNames.display(Array(key.utf8)[...])))"
            }
        }
    }

    public init(source: String, target: Target, finding: SecretFinding) {
        self.source = source
        self.target = target
        self.finding = finding
    }

    /// Identifies the finding without revealing it: the first 16 hex digits of the SHA-256 of
    /// the image path, the rule and the secret's own SHA-256. It changes when the secret does.
    public var fingerprint: String {
        var bytes = Array(target.identity.utf8)
        bytes.append(0)
        bytes += Array(finding.rule.rawValue.utf8)
        bytes.append(0)
        bytes += finding.secretDigest
        return SHA256.hash(bytes).prefix(8).map { byte in
            let digits = Array("0123456789abcdef".utf8)
            return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]], as: UTF8.self)
        }.joined()
    }

    /// The one line a finding prints (after `kiln: error: ` or `kiln: warning: `).
    public var message: String {
        let place = finding.line > 0 ? "\(source):\(finding.line)" : source
        return "\(place): \(finding.what) \(target.phrase); keep it out of the image (docs/secrets.md) or allow it with allow-secrets: [\(fingerprint)]"
    }
}

/// The findings a run refused: one line each; the first is the error, the others follow it.
public struct SecretsRefused: Error, CustomStringConvertible {
    public var findings: [LocatedFinding]

    public init(_ findings: [LocatedFinding]) { self.findings = findings }

    /// One line per finding: the first printed after `kiln: error: `, so each further one
    /// carries that prefix itself.
    public var description: String {
        findings.map(\.message).joined(separator: "\nkiln: error: ")
    }
}
