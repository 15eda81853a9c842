import KilnBake
import KilnRegistry
import KilnSpec
import KilnStore

/// `kiln lock`: pins each spec's base to a digest and records the documents a bake reads.
package struct Locker: Sendable {
    package let project: Project
    private let store: ImageSession

    package init(project: Project, store: ImageSession) {
        self.project = project
        self.store = store
    }

    /// What `kiln lock` reports per image.
    package enum Change: String, Sendable {
        case added, updated, unchanged, removed
    }

    /// Locks the specs. Entries whose spec did not change are kept as they are unless `update`
    /// (re-resolve moving tags); entries of deleted specs are dropped when `all` specs were given.
    package func lock(_ specs: [ImageSpec], into existing: LockFile, update: Bool, all: Bool) async throws -> (lock: LockFile, changes: [(String, Change)]) {
        var lock = existing
        var changes: [(String, Change)] = []
        let baker = Baker(store: store)
        for spec in specs {
            let old = existing.entries[spec.name]
            var reference = spec.base
            if let old, !update, Project.change(of: spec, since: old) == nil, Project.pins(old.pinned, spec.base) {
                if old.hasEveryTree {
                    changes.append((spec.name, .unchanged))
                    continue
                }
                // A version-1 entry: its skeletons are taken from the base it pinned, which
                // therefore does not move.
                if let pinned = try? ImageReference(parsing: old.pinned) { reference = pinned }
            }
            if update, case .registry(let registry) = reference, registry.digest == nil {
                // Re-pin to what the registry itself names now, as `kiln outdated` asks it: a
                // pull-through mirror allowed to serve tags may still hold the tag's old image.
                reference = try reference.pinnedKeepingTag(try await store.head(reference).digest)
            }
            let (snapshot, pinned) = try await baker.snapshot(of: reference, platforms: spec.platforms)
            let entry = LockFile.Entry(base: spec.base.description, platforms: spec.platforms.text, pinned: pinned.description, snapshot: snapshot)
            lock.entries[spec.name] = entry
            changes.append((spec.name, old == nil ? .added : (old == entry ? .unchanged : .updated)))
        }
        if all {
            let names = Set(specs.map(\.name))
            for name in existing.entries.keys.sorted() where !names.contains(name) {
                lock.entries[name] = nil
                changes.append((name, .removed))
            }
        }
        return (lock, changes)
    }

    /// `kiln lock --check`, offline: every spec has an entry that matches it, and (for all
    /// specs) no entry is left over. - Returns: one line per problem; empty when the lock is current.
    package static func problems(_ specs: [ImageSpec], lock: LockFile, project: Project, all: Bool) -> [String] {
        var problems: [String] = []
        for spec in specs {
            do { _ = try project.lockedEntry(for: spec, in: lock) } catch { problems.append("\(error)") }
        }
        if all {
            let names = Set(specs.map(\.name))
            for name in lock.entries.keys.sorted() where !names.contains(name) {
                problems.append("\(project.lockPath): image '\(name)' has no spec any more; run kiln lock")
            }
        }
        return problems
    }
}
