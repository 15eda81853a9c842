/// An ECR registry host and what it says: account, region, FIPS, China.
package struct ECRHost: Equatable, Sendable {
    package var account: String
    package var region: String
    package var fips: Bool
    package var china: Bool

    /// The documented forms: `<account>.<prefix><region><suffix>`.
    private static let forms: [(prefix: String, suffix: String, fips: Bool, china: Bool)] = [
        ("dkr.ecr.", ".amazonaws.com", false, false),
        ("dkr.ecr-fips.", ".amazonaws.com", true, false),
        ("dkr.ecr.", ".amazonaws.com.cn", false, true),
        ("dkr-ecr.", ".on.aws", false, false),
        ("dkr-ecr-fips.", ".on.aws", true, false),
    ]

    /// Recognizes an ECR host (a port, if any, is ignored); `nil` for any other host.
    package init?(_ host: String) {
        let name = (host.split(separator: ":").first.map(String.init) ?? "").lowercased()
        guard let dot = name.firstIndex(of: ".") else { return nil }
        let account = String(name[..<dot])
        let rest = String(name[name.index(after: dot)...])
        guard account.count == 12, account.allSatisfy(\.isNumber) else { return nil }
        for form in ECRHost.forms where rest.hasPrefix(form.prefix) && rest.hasSuffix(form.suffix) && rest.count > form.prefix.count + form.suffix.count {
            let region = String(rest.dropFirst(form.prefix.count).dropLast(form.suffix.count))
            guard !region.contains("."), region.contains("-") else { continue }
            self.account = account
            self.region = region
            self.fips = form.fips
            self.china = form.china
            return
        }
        return nil
    }

    /// The same for every host of one registry: an account's registry in a region answers at
    /// its standard, FIPS and dual-stack (`*.on.aws`) hosts alike, with the same repositories.
    package var registryIdentity: String { "ecr:\(account).\(region)\(china ? ".cn" : "")" }

    /// The ECR API endpoint for this region (without overrides).
    package var apiEndpoint: String {
        if china { return "https://api.ecr.\(region).amazonaws.com.cn" }
        if fips { return "https://ecr-fips.\(region).amazonaws.com" }
        return "https://api.ecr.\(region).amazonaws.com"
    }
}
