import KilnBake
import KilnRegistry
import KilnSpec
import KilnStore
import OCI

/// `kiln verify`: rebuilds each image's documents and layer from spec, overlays and lock, and
/// compares them with what the target holds under the content tag and the extra tags.
package struct Verifier: Sendable {
    package let project: Project
    private let store: ImageSession

    /// The builder id the provenance was made with; `nil`: provenance is not checked.
    private let provenanceBuilderID: String?

    package init(project: Project, store: ImageSession, provenanceBuilderID: String? = nil) {
        self.project = project
        self.store = store
        self.provenanceBuilderID = provenanceBuilderID
    }

    /// - Returns: the plan and every difference found, readable, one per line; none means the
    ///   target holds exactly what the spec and lock give.
    package func verify(_ spec: ImageSpec, lock: LockFile) async throws -> (plan: ImagePlan, differences: [String]) {
        let plan = try await Planner(project: project).plan(spec, lock: lock)
        let entry = try project.lockedEntry(for: spec, in: lock)
        var differences: [String] = []

        // The lock's base must still be what its registry serves under that digest.
        let pinned = try ImageReference(parsing: entry.pinned)
        do {
            let served = try await store.head(pinned)
            if served.digest != entry.snapshot.root.digest {
                differences.append("base: \(entry.pinned) resolves to \(served.digest)")
            }
        } catch RegistryError.manifestNotFound {
            differences.append("base: \(entry.pinned) is no longer in its registry")
        }

        // Each target (a spec with several: each line names its repository).
        for (target, repository) in zip(spec.targets, plan.repositories) {
            let found = try await targetDifferences(spec, plan: plan, entry: entry, lock: lock, target: target, repository: repository)
            differences += spec.targets.count > 1 ? found.map { "\(repository): \($0)" } : found
        }
        return (plan, differences)
    }

    /// What one target holds that differs from the plan.
    private func targetDifferences(_ spec: ImageSpec, plan: ImagePlan, entry: LockFile.Entry, lock: LockFile, target: ImageReference, repository: String) async throws -> [String] {
        var differences: [String] = []
        let reader = TargetTags(store: store)
        let held = try await reader.descriptors(of: target, tags: [plan.tag] + spec.tags)
        guard let actual = held[plan.tag] else {
            return differences + ["\(repository):\(plan.tag) is missing (not built yet?)"]
        }
        if actual.digest != plan.digest {
            differences.append("\(repository):\(plan.tag) holds \(actual.digest), the spec and lock give \(plan.digest)")
            differences += try await documentDifferences(expected: plan.derivation, actual: actual, target: target, reader: reader)
        }
        for tag in spec.tags {
            if let descriptor = held[tag] {
                if descriptor.digest != plan.digest { differences.append("tag \(tag) holds \(descriptor.digest), the spec and lock give \(plan.digest)") }
            } else {
                differences.append("tag \(tag) is missing")
            }
        }
        // The provenance is deterministic: recomputed here, it must be attached under exactly
        // its digest (registries only: layouts have no referrers).
        if let builderID = provenanceBuilderID, actual.digest == plan.digest, let image = try store.registryImage(target) {
            let provenance = try Provenance.make(plan: plan, spec: spec, entry: entry, lock: lock, project: project, builderID: builderID)
            if try await !provenance.isListed(in: image, subject: plan.digest) {
                differences.append("provenance \(Digest.of(provenance.rootArtifact.raw)) (builder \(builderID)) is not attached to \(plan.digest); run kiln build (with the same --builder-id), or verify with --builder-id or --no-provenance")
            }
        }
        return differences
    }

    /// Which platform, blob or config field differs between the derived documents and the
    /// target's.
    private func documentDifferences(expected: Derivation, actual root: Descriptor, target: ImageReference, reader: TargetTags) async throws -> [String] {
        let graph = try await ImageGraph.read(from: try store.source(target.pinnedReference(root.digest)), root: root, what: "\(target)")
        if let index = graph.index {
            guard expected.isIndex else {
                return ["root: expected a single image manifest, found an index of \(index.manifests.count)"]
            }
            var lines: [String] = []
            for image in expected.images {
                // The target's image of that platform, by ``ImageGraph``'s rule.
                let found: ImageGraph.Image
                do {
                    found = try await graph.image(for: image.platform)
                } catch StoreError.noImageForPlatform {
                    lines.append("platform \(image.platform): missing from the target's index")
                    continue
                }
                if found.descriptor.digest != image.manifest.digest {
                    lines += try await manifestDifferences(image, actual: found.manifest, target: target, reader: reader).map { "\(image.platform): \($0)" }
                }
            }
            return lines
        }
        guard !expected.isIndex, let image = expected.images.first, let manifest = graph.manifest else {
            return ["root: expected an index of \(expected.images.count) platforms, found a single image manifest"]
        }
        return try await manifestDifferences(image, actual: manifest, target: target, reader: reader)
    }

    private func manifestDifferences(_ expected: Derivation.Platformed, actual: ImageManifest, target: ImageReference, reader: TargetTags) async throws -> [String] {
        let mine = try ImageManifest(raw: expected.manifestBytes, what: "derived manifest")
        var lines: [String] = []
        if mine.mediaType != actual.mediaType { lines.append("manifest mediaType: expected \(mine.mediaType), found \(actual.mediaType)") }
        for index in 0..<max(mine.layers.count, actual.layers.count) {
            let name = index == mine.layers.count - 1 ? "layer \(index + 1) (kiln's layer)" : "layer \(index + 1) (base)"
            switch (index < mine.layers.count ? mine.layers[index] : nil, index < actual.layers.count ? actual.layers[index] : nil) {
            case let (wanted?, found?) where wanted.digest != found.digest:
                lines.append("\(name): expected \(wanted.digest) (\(wanted.size) bytes), found \(found.digest) (\(found.size) bytes)")
            case let (wanted?, nil): lines.append("\(name): expected \(wanted.digest), missing")
            case let (nil, found?): lines.append("layer \(index + 1): unexpected \(found.digest)")
            default: break
            }
        }
        if actual.config.digest != expected.config.digest {
            lines.append("config: expected \(expected.config.digest), found \(actual.config.digest)")
            let theirs = try JSONValue(parsing: try await reader.fetch(target, actual.config), what: "config \(actual.config.digest)")
            let ours = try JSONValue(parsing: expected.configBytes, what: "derived config")
            lines += ours.differences(to: theirs).prefix(20).map { "in the config: \($0)" }
        }
        let annotations = try JSONValue(parsing: expected.manifestBytes, what: "derived manifest")["annotations"] ?? .object([])
        lines += annotations.differences(to: actual.json["annotations"] ?? .object([]), at: "annotations").map { "manifest \($0)" }
        return lines
    }
}
