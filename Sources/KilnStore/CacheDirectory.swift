import Foundation

/// kiln's per-machine cache directory: `$KILN_CACHE_DIR`, else `$XDG_CACHE_HOME/kiln`, else
/// `~/.cache/kiln`; `nil` when `KILN_CACHE_DIR` is set empty (caches off, as the tests run) or
/// there is no home. The blob-location hints and the base layers' changes live there.
package enum CacheDirectory {
    package static var current: String? {
        let environment = ProcessInfo.processInfo.environment
        if let directory = environment["KILN_CACHE_DIR"] { return directory.isEmpty ? nil : directory }
        if let cache = environment["XDG_CACHE_HOME"], !cache.isEmpty { return "\(cache)/kiln" }
        guard let home = environment["HOME"], !home.isEmpty else { return nil }
        return "\(home)/.cache/kiln"
    }
}
