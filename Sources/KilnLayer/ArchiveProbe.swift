import CArchive

/// Recognizes a tar archive by its content, as Docker's ADD does before unpacking a local
/// file: a plain tar, or a tar compressed with gzip, bzip2, xz or zstd. Only decoders built
/// into libarchive are used: where libarchive would run an external program (`bzip2 -d`),
/// that compression is not recognized and the file counts as an ordinary file.
public enum ArchiveProbe {
    public enum Format: String, Sendable, Equatable {
        case tar, gzip, bzip2, xz, zstd
    }

    /// The archive's format, or `nil` when the file is not a tar archive (or cannot be read).
    public static func format(ofFileAt path: String) -> Format? {
        guard let handle = archive_read_new() else { return nil }
        defer { archive_read_free(handle) }
        for enable in builtInFilters() {
            guard enable(handle) == ARCHIVE_OK else { return nil }
        }
        guard archive_read_support_filter_none(handle) == ARCHIVE_OK, archive_read_support_format_tar(handle) == ARCHIVE_OK,
              archive_read_open_filename(handle, path, 16384) == ARCHIVE_OK else { return nil }
        var entry: OpaquePointer?
        guard archive_read_next_header(handle, &entry) >= ARCHIVE_WARN else { return nil }
        switch archive_filter_code(handle, 0) {
        case ARCHIVE_FILTER_GZIP: return .gzip
        case ARCHIVE_FILTER_BZIP2: return .bzip2
        case ARCHIVE_FILTER_XZ: return .xz
        case ARCHIVE_FILTER_ZSTD: return .zstd
        default: return .tar
        }
    }

    /// The decoders (gzip, bzip2, xz, zstd) libarchive has built in on this machine.
    static func builtInFilters() -> [(OpaquePointer?) -> Int32] {
        let filters: [(OpaquePointer?) -> Int32] = [
            { archive_read_support_filter_gzip($0) }, { archive_read_support_filter_bzip2($0) },
            { archive_read_support_filter_xz($0) }, { archive_read_support_filter_zstd($0) },
        ]
        return filters.filter(isBuiltIn)
    }

    /// Whether libarchive decodes this filter itself (ARCHIVE_OK) rather than through an
    /// external program (ARCHIVE_WARN), tried on a handle of its own.
    private static func isBuiltIn(_ enable: (OpaquePointer?) -> Int32) -> Bool {
        guard let probe = archive_read_new() else { return false }
        defer { archive_read_free(probe) }
        return enable(probe) == ARCHIVE_OK
    }
}
