/// The OCI 1.1 referrers tag schema: on registries without the referrers API, the index of an
/// image's referrers (signatures, SBOMs, attestations) lives under the tag `<alg>-<hex>` of the
/// image's digest, and cosign writes `<alg>-<hex>.sig`, `.att` and `.sbom`. kiln never writes
/// a tag of that shape, so it can never overwrite what was attached to an image.
package enum ReferrersTagSchema {
    /// Whether `tag` has the schema's shape: a lower-case algorithm name, `-`, at least 32 hex
    /// digits, optionally `.sig`, `.att` or `.sbom`.
    package static func collides(_ tag: String) -> Bool {
        var rest = Substring(tag)
        for suffix in [".sig", ".att", ".sbom"] where rest.hasSuffix(suffix) {
            rest = rest.dropLast(suffix.count)
            break
        }
        guard let dash = rest.firstIndex(of: "-") else { return false }
        let algorithm = rest[..<dash]
        let hex = rest[rest.index(after: dash)...]
        let isAlgorithm = !algorithm.isEmpty && algorithm.allSatisfy { ($0.isLowercase || $0.isNumber) && $0.isASCII }
        let isHex = hex.count >= 32 && hex.allSatisfy { $0.isHexDigit && !$0.isUppercase }
        return isAlgorithm && isHex
    }
}
