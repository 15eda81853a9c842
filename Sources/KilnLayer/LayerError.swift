/// Why an overlay cannot become a layer. Each case names the culprit in one line.
public enum LayerError: Error, Equatable, CustomStringConvertible {
    case missingSource(String)
    case destinationNotAbsolute(String)
    case invalidImagePath(String, reason: String)
    case escapingSymlink(path: String, target: String)
    case unsupportedFileType(path: String, kind: String)
    case hardlink(String)
    case unreadable(path: String, reason: String)
    case conflict(String)
    case reservedName(String)
    case invalidOwner(String)
    case unknownOwner(String)
    case invalidMode(String)
    case invalidOverlay(String)
    case fileChanged(String)
    case invalidEntryTime(String)
    case archive(String)
    case output(String)

    public var description: String {
        switch self {
        case .missingSource(let path): return "overlay source '\(path)' does not exist"
        case .destinationNotAbsolute(let dest): return "overlay destination '\(dest)' must be an absolute path in the image"
        case .invalidImagePath(let path, let reason): return "image path '\(path)' is invalid: \(reason)"
        case .escapingSymlink(let path, let target): return "symlink '\(path)' points outside its overlay (to '\(target)'); only links that stay inside the overlay are kept"
        case .unsupportedFileType(let path, let kind): return "'\(path)' is a \(kind); overlays may hold only regular files, directories and symlinks"
        case .hardlink(let path): return "'\(path)' is a hard link (more than one name for the same file); copy it instead"
        case .unreadable(let path, let reason): return "cannot read '\(path)': \(reason)"
        case .conflict(let message): return message
        case .reservedName(let path): return "'\(path)' starts with '.wh.', which marks deletions in image layers; rename it"
        case .invalidOwner(let text): return "invalid owner '\(text)' (expected USER[:GROUP], numbers or names from the base's /etc/passwd and /etc/group)"
        case .unknownOwner(let message): return message
        case .invalidMode(let text): return "invalid mode '\(text)' (expected octal, e.g. 0644)"
        case .invalidOverlay(let text): return "invalid overlay '\(text)' (expected SRC[:DEST])"
        case .fileChanged(let path): return "'\(path)' changed while the layer was being written (its size, type or content, or it became a link)"
        case .invalidEntryTime(let text): return "'\(text)' is not content, epoch or a whole number of seconds"
        case .archive(let message): return "libarchive: \(message)"
        case .output(let message): return "cannot write layer: \(message)"
        }
    }
}
