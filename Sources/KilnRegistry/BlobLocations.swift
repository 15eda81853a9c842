import Foundation
import KilnStore
import OCI

/// Which repositories of a registry are known to hold a blob, so a blob needed in one
/// repository is mounted from a sibling instead of streamed again (one ECR repository per
/// service, all built on one base). Learnt during the run (every blob seen, mounted or pushed)
/// and kept across runs in a small cache file; an entry goes when a mount from it is refused.
/// Only a hint: a mount that fails falls back to streaming, so a stale entry costs one request.
// Sendable: `known`, `clock`, `changed` and `observed` are read and written only under `lock`.
public final class BlobLocations: @unchecked Sendable {
    /// Repositories kept per blob and registry, most recent first.
    static let repositoriesPerBlob = 4
    /// Blobs kept per registry in the file; the least recently seen go first.
    static let blobsPerRegistry = 5_000

    private let lock = NSLock()
    /// registry -> digest -> repositories (most recent first), with a use counter for trimming.
    private var known: [String: [String: (repositories: [String], seen: Int)]] = [:]
    private var clock = 0
    private var changed = false
    /// What this run itself saw, in order: replayed over the file's current state on save, so
    /// a save neither brings back what another run dropped nor loses what it added.
    private var observed: [(registry: String, digest: Digest, repository: String, held: Bool)] = []
    private let file: String?

    /// - Parameter file: the cache file (`nil`: this run only).
    public init(file: String?) {
        self.file = file
        if let file, let data = FileManager.default.contents(atPath: file) { load(Array(data)) }
    }

    /// `$KILN_CACHE_DIR/blob-locations.json`, else under `$XDG_CACHE_HOME/kiln` or `~/.cache/kiln`.
    public static var defaultFile: String? {
        CacheDirectory.current.map { "\($0)/blob-locations.json" }
    }

    /// Repositories of `registry` known to hold `digest`, most recent first.
    public func repositories(holding digest: Digest, on registry: String) -> [String] {
        lock.withLock { known[registry]?[digest.description]?.repositories ?? [] }
    }

    public func record(_ digest: Digest, registry: String, repository: String) {
        lock.withLock {
            clock += 1
            var entry = known[registry]?[digest.description] ?? ([], 0)
            let before = entry.repositories
            entry.repositories.removeAll { $0 == repository }
            entry.repositories.insert(repository, at: 0)
            entry.repositories = Array(entry.repositories.prefix(Self.repositoriesPerBlob))
            entry.seen = clock
            known[registry, default: [:]][digest.description] = entry
            let repeated = observed.last.map { $0.held && $0.registry == registry && $0.digest == digest && $0.repository == repository } ?? false
            if !repeated { observed.append((registry, digest, repository, true)) }
            if entry.repositories != before { changed = true }
        }
    }

    /// distribution's repository name grammar: path components joined by `/`, at most 255 bytes.
    static func isRepositoryName(_ text: String) -> Bool {
        text.utf8.count <= 255 && text.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { RegistryReference.isValidPathComponent(String($0)) }
    }

    /// A mount from there was refused (deleted, a pull-through repository, mounting off).
    public func forget(_ digest: Digest, registry: String, repository: String) {
        lock.withLock {
            guard var entry = known[registry]?[digest.description] else { return }
            entry.repositories.removeAll { $0 == repository }
            known[registry]?[digest.description] = entry.repositories.isEmpty ? nil : entry
            observed.append((registry, digest, repository, false))
            changed = true
        }
    }

    /// Writes what this run learnt, merged over what other runs wrote meanwhile, atomically.
    /// A cache that cannot be written is skipped: it is only an optimization.
    public func save() {
        guard let file else { return }
        let events = lock.withLock { changed ? observed : nil }
        guard let events else { return }
        let merged = BlobLocations(file: file)
        for event in events {
            if event.held {
                merged.record(event.digest, registry: event.registry, repository: event.repository)
            } else {
                merged.forget(event.digest, registry: event.registry, repository: event.repository)
            }
        }
        let directory = (file as NSString).deletingLastPathComponent
        _ = try? FileIO.makeDirectories(directory)
        try? FileIO.writeAtomically(merged.serialized(), to: file, in: directory)
    }

    private func serialized() -> [UInt8] {
        lock.withLock {
            var registries: [(key: String, value: JSONValue)] = []
            for (registry, blobs) in known.sorted(by: { $0.key < $1.key }) {
                let kept = blobs.sorted { $0.value.seen > $1.value.seen }.prefix(Self.blobsPerRegistry)
                let entries = kept.sorted { $0.key < $1.key }.map { (key: $0.key, value: JSONValue.strings($0.value.repositories)) }
                registries.append((registry, .object(entries)))
            }
            return JSONValue.object([("version", .integer(1)), ("registries", .object(registries))]).prettySerialized()
        }
    }

    /// Reads a cache file; anything unreadable is ignored (the cache starts empty). The file may
    /// come from another run (CI restores caches), so it is untrusted: a registry that is not a
    /// registry name or a repository outside distribution's name grammar is dropped, never put
    /// into a request (`x&from=evil&mount=…` would otherwise reach a mount's query).
    private func load(_ bytes: [UInt8]) {
        guard let value = try? JSONValue(parsing: bytes, what: "blob location cache"), value["version"] == .integer(1),
              case .object(let registries)? = value["registries"] else { return }
        for (registry, blobs) in registries where RegistryReference.problem(withHost: registry) == nil {
            guard case .object(let entries) = blobs else { continue }
            for (digest, repositories) in entries {
                let names = (repositories.arrayValue ?? []).compactMap(\.stringValue).filter(Self.isRepositoryName).prefix(Self.repositoriesPerBlob)
                guard !names.isEmpty, (try? Digest(parsing: digest)) != nil else { continue }
                clock += 1
                known[registry, default: [:]][digest] = (Array(names), clock)
            }
        }
    }
}
