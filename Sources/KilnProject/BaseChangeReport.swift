import KilnBake
import KilnDockerfile
import KilnLayer
import KilnRecipe
import KilnSpec
import OCI

/// What a new base changes for one spec, from its old and new lock entries alone (no network):
/// per platform the base's `created` times, the config fields that differ, the layers added and
/// removed, the skeleton differences that matter to the bake (the directories and links on the
/// paths kiln writes, the users and groups its owners name), then the derived image's old and
/// new planned digest and whether the bake would now fail. `kiln outdated --explain` and
/// `kiln lock --update` print it.
package struct BaseChangeReport: Sendable {
    /// The report's lines, without indentation, in a stable order.
    package var lines: [String]
    /// Why the bake would fail on the new base (the planner's error), if it would.
    package var failure: String?
    package var oldPlan: Digest?
    package var newPlan: Digest?

    /// - Parameters:
    ///   - old: the entry the lock has now.
    ///   - new: the entry the new base would give (`kiln lock`'s, not yet written).
    package static func make(spec: ImageSpec, old: LockFile.Entry, new: LockFile.Entry, project: Project) async -> BaseChangeReport {
        var lines: [String] = []
        let oldImages = SnapshotImage.images(of: old.snapshot)
        let newImages = SnapshotImage.images(of: new.snapshot)
        let labelled = Set(oldImages.map(\.platform) + newImages.map(\.platform)).count > 1
        // The overlays as the spec (or its Dockerfile, evaluated against each base's config)
        // gives them: their paths and owner names are what the skeleton is checked for.
        let oldRequest = try? await spec.request(base: spec.base, output: spec.target, snapshot: old.snapshot)
        let newRequest = try? await spec.request(base: spec.base, output: spec.target, snapshot: new.snapshot)
        let writes = [oldRequest, newRequest].map { Writes(overlays: $0?.overlays ?? [], removals: $0?.removals ?? []) }
        for image in newImages where !oldImages.contains(where: { $0.platform == image.platform }) {
            lines.append("\(image.platform): new platform in the base (manifest \(image.manifestDigest))")
        }
        for image in oldImages {
            let prefix = labelled ? "\(image.platform): " : ""
            guard let newer = newImages.first(where: { $0.platform == image.platform }) else {
                lines.append("\(image.platform): no longer in the base")
                continue
            }
            guard newer.manifestDigest != image.manifestDigest else {
                if labelled { lines.append("\(prefix)unchanged (manifest \(image.manifestDigest))") }
                continue
            }
            // A single manifest is the root: its move is the report's first line already.
            if labelled { lines.append("\(prefix)manifest \(image.manifestDigest) -> \(newer.manifestDigest)") }
            lines += image.changes(to: newer, old: writes[0], new: writes[1]).map { prefix + $0 }
        }
        let planner = Planner(project: project)
        var report = BaseChangeReport(lines: lines)
        do { report.oldPlan = try await planner.plan(spec, lock: LockFile(entries: [spec.name: old])).digest } catch {}
        do {
            let plan = try await planner.plan(spec, lock: LockFile(entries: [spec.name: new]))
            report.newPlan = plan.digest
        } catch {
            report.failure = "\(error)"
        }
        let before = report.oldPlan.map(\.description) ?? "(does not plan)"
        let after = report.newPlan.map(\.description) ?? "(would fail)"
        report.lines.append(report.oldPlan == report.newPlan ? "planned image unchanged: \(before)" : "planned image: \(before) -> \(after)")
        // Config values and paths come from the registry: one printable, bounded line each.
        report.lines = report.lines.map { UntrustedText.excerpt($0, limit: 400) }
        report.failure = report.failure.map { UntrustedText.excerpt($0, limit: 400) }
        return report
    }

    init(lines: [String]) { self.lines = lines }
}

/// What a spec writes into a base: its overlays and removals as evaluated against that base.
struct Writes {
    var overlays: [Overlay]
    var removals: [ImagePath]
}

/// One platform image of a lock entry's base, read from its snapshot's documents.
struct SnapshotImage {
    var platform: String
    var manifestDigest: Digest
    var manifest: ImageManifest
    var config: JSONValue
    var tree: BaseTree?

    /// The images a bake uses (those the snapshot has skeletons for; a single manifest alone),
    /// in the index's order. Documents that do not parse are left out: the lock checked them
    /// against their digests, and the planner reports what is wrong with them.
    static func images(of snapshot: BaseSnapshot) -> [SnapshotImage] {
        guard let rootBytes = snapshot.documents[snapshot.root.digest],
              let kind = try? ManifestKind(raw: rootBytes, descriptorMediaType: snapshot.root.mediaType, what: "the locked root") else { return [] }
        let entries: [Descriptor]
        switch kind {
        case .image: entries = [snapshot.root]
        case .index(let index): entries = index.manifests.filter { snapshot.trees[$0.digest] != nil }
        }
        var seen = Set<Digest>()
        return entries.compactMap { entry in
            guard seen.insert(entry.digest).inserted, let bytes = snapshot.documents[entry.digest],
                  let manifest = try? ImageManifest(raw: bytes, descriptorMediaType: entry.mediaType, what: "manifest \(entry.digest)"),
                  let configBytes = snapshot.documents[manifest.config.digest],
                  let config = try? JSONValue(parsing: configBytes, what: "config \(manifest.config.digest)") else { return nil }
            let platform = entry.platform ?? Platform(os: config["os"]?.stringValue ?? "unknown", architecture: config["architecture"]?.stringValue ?? "unknown",
                                                      variant: config["variant"]?.stringValue)
            return SnapshotImage(platform: platform.description, manifestDigest: entry.digest, manifest: manifest, config: config, tree: snapshot.trees[entry.digest])
        }
    }

    /// The base's `created` time, as written.
    var created: String? { config["created"]?.stringValue }

    /// What changed from this image to `newer`, one line each.
    /// - Parameters: old, new: what the spec writes into this image and into `newer`.
    func changes(to newer: SnapshotImage, old: Writes, new: Writes) -> [String] {
        let createdLine = created == newer.created ? "created \(created ?? "(none)") (unchanged)" : "created \(created ?? "(none)") -> \(newer.created ?? "(none)")"
        var lines = [createdLine]
        // `created`, the layer list and the history are reported otherwise (or are noise).
        lines += Self.settings(config).differences(to: Self.settings(newer.config), wording: .change)
        let oldLayers = Set(manifest.layers.map(\.digest))
        let newLayers = Set(newer.manifest.layers.map(\.digest))
        for layer in newer.manifest.layers where !oldLayers.contains(layer.digest) { lines.append("layer added \(layer.digest) (\(layer.size) bytes)") }
        for layer in manifest.layers where !newLayers.contains(layer.digest) { lines.append("layer removed \(layer.digest) (\(layer.size) bytes)") }
        if let oldTree = tree, let newTree = newer.tree {
            lines += Self.skeletonChanges(oldTree, newTree, oldWrites: old, newWrites: new)
        }
        return lines
    }

    /// The config without `created`, `rootfs` and `history`.
    static func settings(_ config: JSONValue) -> JSONValue {
        guard let members = config.members else { return config }
        return .object(members.filter { !["created", "rootfs", "history"].contains($0.key) })
    }

    /// The skeleton differences that matter to a bake: the node (directory with mode and owner,
    /// link, or neither) at every path the layer writes or removes and every parent of one, in
    /// either base; and the users and groups the overlays' owners name.
    static func skeletonChanges(_ old: BaseTree, _ new: BaseTree, oldWrites: Writes, newWrites: Writes) -> [String] {
        var paths = Set<ImagePath>()
        func add(_ path: ImagePath) {
            guard !path.isRoot else { return }
            paths.insert(path)
            path.ancestors.forEach { paths.insert($0) }
        }
        for (tree, writes) in [(old, oldWrites), (new, newWrites)] {
            // The entries the scanner places against each base (resolved through its links); a
            // base the overlays no longer fit is the planner's to report.
            if let entries = try? OverlayScanner().scan(overlays: writes.overlays, removals: writes.removals, base: tree) {
                entries.forEach { add($0.path) }
            }
            writes.overlays.forEach { add($0.destination) }
            writes.removals.forEach { add($0) }
        }
        var lines: [String] = []
        for path in paths.sorted(by: { $0.description < $1.description }) {
            let before = old.node(at: path)
            let after = new.node(at: path)
            guard before != after else { continue }
            lines.append("\(path): \(describe(before)) -> \(describe(after))")
        }
        var users = Set<String>()
        var groups = Set<String>()
        for overlay in oldWrites.overlays + newWrites.overlays {
            guard case .named(let user, let group)? = overlay.owner else { continue }
            if Int(user) == nil { users.insert(user) }
            if let group, Int(group) == nil { groups.insert(group) }
        }
        for user in users.sorted() where old.users[user] != new.users[user] {
            lines.append("user \(user) (uid:gid): \(old.users[user].map(\.description) ?? "missing") -> \(new.users[user].map(\.description) ?? "missing")")
        }
        for group in groups.sorted() where old.groups[group] != new.groups[group] {
            lines.append("group \(group) (gid): \(old.groups[group].map { String($0) } ?? "missing") -> \(new.groups[group].map { String($0) } ?? "missing")")
        }
        return lines
    }

    static func describe(_ node: BaseTree.Node?) -> String {
        switch node {
        case .directory(let mode, let owner)?:
            let octal = String(mode, radix: 8)
            return "directory \(String(repeating: "0", count: max(0, 4 - octal.count)) + octal) \(owner)"
        case .symlink(let target)?: return "symlink to \(target)"
        case nil: return "no directory or link"
        }
    }
}
