/// A repository's rule for moving tags, as ECR states it (`imageTagMutability` with
/// `imageTagMutabilityExclusionFilters`): all tags mutable or immutable, or one of those with
/// exceptions, where a tag matching an exclusion filter follows the opposite rule.
public struct TagMutability: Sendable, Equatable, CustomStringConvertible {
    /// ECR's four settings.
    public enum Setting: String, Sendable, CaseIterable {
        case mutable = "MUTABLE"
        case immutable = "IMMUTABLE"
        case mutableWithExclusion = "MUTABLE_WITH_EXCLUSION"
        case immutableWithExclusion = "IMMUTABLE_WITH_EXCLUSION"

        /// The rule of a tag no exclusion filter matches.
        var isImmutable: Bool { self == .immutable || self == .immutableWithExclusion }
        /// Whether the setting takes exclusion filters (and needs at least one).
        public var takesExclusions: Bool { self == .mutableWithExclusion || self == .immutableWithExclusion }
    }

    public var setting: Setting
    /// Wildcard filters (`*` matches any run of characters, everything else itself; the
    /// whole tag must match). Only read for the `_WITH_EXCLUSION` settings.
    public var exclusions: [String]

    public init(_ setting: Setting, exclusions: [String] = []) {
        self.setting = setting
        self.exclusions = exclusions
    }

    public static let mutable = TagMutability(.mutable)

    /// ECR's limits on a filter: 1-128 of `[0-9a-zA-Z._*-]`.
    public static func isValidExclusion(_ filter: String) -> Bool {
        (1...128).contains(filter.utf8.count) && filter.utf8.allSatisfy { byte in
            (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte) || [UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "*"), UInt8(ascii: "-")].contains(byte)
        }
    }

    /// ECR allows at most this many exclusion filters.
    public static let maximumExclusions = 5

    /// The first exclusion filter `tag` matches, when the setting reads them.
    public func exclusion(matching tag: String) -> String? {
        guard setting.takesExclusions else { return nil }
        return exclusions.first { Self.wildcard($0, matches: tag) }
    }

    /// Whether a tag that holds a digest may not be moved to another.
    public func isImmutable(_ tag: String) -> Bool {
        exclusion(matching: tag) == nil ? setting.isImmutable : !setting.isImmutable
    }

    /// Why `tag` is immutable, for the refusal: `the repository's tags are immutable`, or the
    /// setting and the filter that made it so.
    public func reason(for tag: String) -> String {
        switch setting {
        case .mutable, .immutable: return "the repository's tags are immutable"
        case .immutableWithExclusion: return "the repository's tags are immutable (IMMUTABLE_WITH_EXCLUSION; the tag matches none of its exclusion filters)"
        case .mutableWithExclusion: return "the tag is immutable in this repository (MUTABLE_WITH_EXCLUSION; it matches the exclusion filter '\(exclusion(matching: tag) ?? "")')"
        }
    }

    public var description: String {
        setting.takesExclusions ? "\(setting.rawValue) (excluding \(exclusions.joined(separator: ", ")))" : setting.rawValue
    }

    /// `*` any run (also empty), every other character itself, anchored at both ends: a
    /// greedy match that backs up to the last `*` only, linear in text times pattern.
    static func wildcard(_ pattern: String, matches text: String) -> Bool {
        let pattern = Array(pattern.utf8)
        let text = Array(text.utf8)
        var (p, t) = (0, 0)
        var star: Int?
        var resume = 0
        while t < text.count {
            if p < pattern.count, pattern[p] == UInt8(ascii: "*") {
                star = p
                resume = t
                p += 1
            } else if p < pattern.count, pattern[p] == text[t] {
                p += 1
                t += 1
            } else if let star {
                p = star + 1
                resume += 1
                t = resume
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.count
    }
}
