import Foundation
import KilnBake
import KilnDockerfile
import KilnRecipe
import KilnSpec
import KilnStore
import OCI

/// `kiln outdated`: whether each locked spec's base reference still names what the lock pinned,
/// asked of the registry (or layout) itself, never of a pull-through mirror: a mirror refreshes
/// tags on its own schedule and must not answer for one.
///
/// One HEAD per distinct base reference, all at once, however many specs share it. A moved
/// index is read (one GET) to compare the platform manifests the spec uses: a republish may
/// touch one platform only. No layer is read unless an explanation is asked for, which then
/// takes the new base's snapshot as `kiln lock` would (skeletons cached as always).
package struct BaseFreshness: Sendable {
    package let project: Project
    private let store: ImageSession

    package init(project: Project, store: ImageSession) {
        self.project = project
        self.store = store
    }

    /// One spec's answer.
    package struct Finding: Sendable {
        package enum State: String, Sendable {
            /// The base reference still gives the locked digest (or, for an index, the same
            /// manifests for the spec's platforms).
            case current
            /// The base moved.
            case outdated
            /// Current, but its `created` time is older than `--max-age`.
            case stale
            /// Not checked: the error says why.
            case error
        }

        package var name: String
        /// The base reference as written (normalized).
        package var base: String
        package var state: State
        /// The lock's root digest.
        package var locked: Digest?
        /// What the base reference names now.
        package var latest: Digest?
        /// The base's `created` time (the oldest of its platforms' configs) and its age in days.
        package var created: String?
        package var ageDays: Int?
        /// Platforms whose manifests moved (for an index).
        package var movedPlatforms: [String] = []
        /// The error (for ``State/error``), one printable line.
        package var error: String? {
            get { storedError }
            set { storedError = newValue.map { UntrustedText.excerpt($0, limit: 400) } }
        }
        private var storedError: String?
        /// What the new base changes (with an explanation).
        package var report: BaseChangeReport?
        /// The new lock entry, when an explanation was made (`kiln lock --update` would write it).
        package var newEntry: LockFile.Entry?

        init(name: String, base: String, state: State) {
            self.name = name
            self.base = base
            self.state = state
        }
    }

    /// Checks every spec; an error on one spec is that spec's finding, the others are checked.
    /// - Parameters:
    ///   - maxAgeDays: a current base whose config is older than this is ``Finding/State/stale``.
    ///   - explain: take the new base's snapshot of every outdated spec and report what changes.
    ///   - now: seconds since the epoch (for the age).
    package func check(_ specs: [ImageSpec], lock: LockFile, maxAgeDays: Int?, explain: Bool, now: Int64) async -> [Finding] {
        var findings: [Finding] = []
        var entries: [String: LockFile.Entry] = [:]
        for spec in specs {
            var finding = Finding(name: spec.name, base: spec.base.description, state: .error)
            do {
                let entry = try project.lockedEntry(for: spec, in: lock)
                entries[spec.name] = entry
                finding.locked = entry.snapshot.root.digest
            } catch {
                finding.error = "\(error)"
            }
            findings.append(finding)
        }

        // One HEAD per distinct base reference, in parallel.
        let bases = Array(Set(specs.filter { entries[$0.name] != nil }.map(\.base.description))).sorted()
        let references = Dictionary(specs.map { ($0.base.description, $0.base) }, uniquingKeysWith: { first, _ in first })
        let store = self.store
        let heads = (try? await BoundedConcurrency.map(bases, limit: max(1, min(bases.count, 16))) { base in
            do {
                return Answer(descriptor: try await store.head(references[base]!))
            } catch {
                return Answer(error: "\(error)")
            }
        }) ?? bases.map { _ in Answer(error: "cancelled") }
        let answers = Dictionary(uniqueKeysWithValues: zip(bases, heads))

        // A moved index: its new version, read once per base, tells which platforms moved.
        var newIndexes: [String: Answer] = [:]
        for (number, spec) in specs.enumerated() {
            guard let entry = entries[spec.name], let answer = answers[spec.base.description] else { continue }
            var finding = findings[number]
            defer { findings[number] = finding }
            guard let latest = answer.descriptor else {
                let error = answer.error ?? "no answer"
                finding.error = error.contains(spec.base.description) ? error : "base \(spec.base): \(error)"
                continue
            }
            finding.latest = latest.digest
            if latest.digest == entry.snapshot.root.digest {
                finding.state = .current
            } else if let locked = LockedPlatforms(entry.snapshot), locked.isIndex, MediaType.indexes.contains(latest.mediaType) {
                let base = spec.base.description
                if newIndexes[base] == nil { newIndexes[base] = await fetchDocument(spec.base, latest) }
                guard let bytes = newIndexes[base]?.bytes else {
                    finding.error = "base \(spec.base): \(newIndexes[base]?.error ?? "no answer")"
                    continue
                }
                do {
                    let index = try ImageIndex(raw: bytes, descriptorMediaType: latest.mediaType, what: "index \(latest.digest) of \(spec.base)")
                    // The registry names the platforms: one printable, bounded name each.
                    finding.movedPlatforms = locked.moved(in: index, platforms: spec.platforms).map { UntrustedText.excerpt($0, limit: 100) }
                    finding.state = finding.movedPlatforms.isEmpty ? .current : .outdated
                } catch {
                    finding.error = "\(error)"
                    continue
                }
            } else {
                finding.state = .outdated
            }
            if finding.state == .current {
                let created = SnapshotImage.images(of: entry.snapshot).compactMap { image in
                    image.created.flatMap { text in UTCTime.epochSeconds(rfc3339: text).map { Created(text: text, seconds: $0) } }
                }.min { $0.seconds < $1.seconds }
                if let created {
                    finding.created = created.text
                    finding.ageDays = Int(max(0, now - created.seconds) / 86_400)
                    if let maxAgeDays, let age = finding.ageDays, age > maxAgeDays { finding.state = .stale }
                }
            }
        }

        guard explain else { return findings }
        // The new base's snapshot per distinct (base, platforms, digest), as `kiln lock` takes it.
        var snapshots: [String: LockFile.Entry] = [:]
        for (number, spec) in specs.enumerated() where findings[number].state == .outdated {
            guard let latest = findings[number].latest, let old = entries[spec.name] else { continue }
            let key = "\(spec.base) \(spec.platforms.text) \(latest)"
            do {
                if snapshots[key] == nil {
                    let pinned = try spec.base.pinnedKeepingTag(latest)
                    let (snapshot, reference) = try await Baker(store: store).snapshot(of: pinned, platforms: spec.platforms)
                    snapshots[key] = LockFile.Entry(base: spec.base.description, platforms: spec.platforms.text, pinned: reference.description, snapshot: snapshot)
                }
                let new = snapshots[key]!
                findings[number].newEntry = new
                findings[number].report = await BaseChangeReport.make(spec: spec, old: old, new: new, project: project)
            } catch {
                findings[number].state = .error
                findings[number].error = "base \(spec.base) at \(latest): \(error)"
            }
        }
        return findings
    }

    /// The document `descriptor` names, read by its digest (and checked against it).
    private func fetchDocument(_ reference: ImageReference, _ descriptor: Descriptor) async -> Answer {
        do {
            let source = try store.source(try reference.pinnedKeepingTag(descriptor.digest))
            return Answer(bytes: try await source.fetch(try await source.resolve()))
        } catch {
            return Answer(error: "\(error)")
        }
    }

    /// A request's outcome, kept per base (a struct, never a tuple: see ``BoundedConcurrency``).
    private struct Answer: Sendable {
        var descriptor: Descriptor?
        var bytes: [UInt8]?
        var error: String?
    }

    private struct Created {
        var text: String
        var seconds: Int64
    }
}

/// The platform manifests a lock entry pinned, to compare with a new index.
struct LockedPlatforms {
    let isIndex: Bool
    /// The manifests the bake uses, by digest.
    let manifests: Set<Digest>
    /// The locked index's bakeable entries, for the platforms' names.
    let entries: [Descriptor]

    init?(_ snapshot: BaseSnapshot) {
        guard let bytes = snapshot.documents[snapshot.root.digest],
              let kind = try? ManifestKind(raw: bytes, descriptorMediaType: snapshot.root.mediaType, what: "the locked root") else { return nil }
        switch kind {
        case .image:
            isIndex = false
            entries = []
        case .index(let index):
            isIndex = true
            entries = index.manifests.filter(\.isBakeableImage)
        }
        manifests = Set(snapshot.trees.keys)
    }

    /// The platforms (as the index names them) whose manifest for the spec differs in `index`:
    /// changed, added (with `platforms: all`) or gone. Empty when the spec's images are the same.
    func moved(in index: ImageIndex, platforms: PlatformSelection) -> [String] {
        let wanted = index.manifests.filter { $0.isBakeableImage && ($0.platform.map(platforms.includes) ?? true) }
        let lockedWanted = entries.filter { manifests.contains($0.digest) }
        var moved: [String] = []
        for entry in wanted where !manifests.contains(entry.digest) {
            moved.append(entry.platform?.description ?? entry.digest.description)
        }
        let now = Set(wanted.map(\.digest))
        for entry in lockedWanted where !now.contains(entry.digest) {
            let name = entry.platform?.description ?? entry.digest.description
            if !moved.contains(name) { moved.append(name) }
        }
        return moved
    }
}
