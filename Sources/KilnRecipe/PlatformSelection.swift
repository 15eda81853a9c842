import OCI

/// Which platforms of a multi-platform base to bake.
public enum PlatformSelection: Sendable, Equatable {
    /// Every image platform of the base (attestations and unknown entries are dropped).
    case all
    /// Only these; a single-platform base must match one of them.
    case only([Platform])

    /// Parses `all` or a comma-separated list of `os/arch[/variant]`.
    public init(parsing text: String) throws {
        if text == "all" { self = .all; return }
        self = .only(try text.split(separator: ",").map { try Platform(parsing: String($0)) })
    }

    package func includes(_ platform: Platform) -> Bool {
        switch self {
        case .all: return true
        case .only(let wanted): return wanted.contains { $0.matches(platform) }
        }
    }

    public var text: String {
        switch self {
        case .all: return "all"
        case .only(let wanted): return wanted.map(\.description).joined(separator: ",")
        }
    }
}
