import KilnLayer

extension LayerEntry {
    /// One line a test can compare: `PATH KIND MODE UID:GID` (KIND: d, f, l->TARGET, w).
    var summary: String {
        let kind: String
        switch self.kind {
        case .directory: kind = "d"
        case .file: kind = "f"
        case .symlink(let target): kind = "l->\(target)"
        case .whiteout: kind = "w"
        }
        return "\(path) \(kind) \(String(mode, radix: 8)) \(owner)"
    }
}
