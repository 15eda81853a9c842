import Foundation
import KilnBake
import KilnRegistry
import KilnSpec
import KilnStore
import OCI

/// `kiln build`: bakes and pushes every spec's image from the lock, under its content tag and
/// its extra tags. An image whose content tag already holds the planned digest is not rebuilt:
/// a HEAD per tag decides it.
package struct Builder: Sendable {
    package let project: Project
    private let store: ImageSession
    private let progress: TransferProgress

    /// What build does about provenance (docs/provenance.md).
    package struct ProvenanceSettings: Sendable {
        package var builderID: String
        /// Attach it to images pushed to a registry.
        package var attach: Bool
        /// Where to write the statement / the predicate alone; `{name}` is the spec's name.
        package var statementPath: String?
        package var predicatePath: String?

        package init(builderID: String, attach: Bool = true, statementPath: String? = nil, predicatePath: String? = nil) {
            self.builderID = builderID
            self.attach = attach
            self.statementPath = statementPath
            self.predicatePath = predicatePath
        }

        var isNeeded: Bool { attach || statementPath != nil || predicatePath != nil }
    }
    private let provenance: ProvenanceSettings?

    package init(project: Project, store: ImageSession, progress: TransferProgress, provenance: ProvenanceSettings? = nil) {
        self.project = project
        self.store = store
        self.progress = progress
        self.provenance = provenance
    }

    package enum Action: String, Sendable {
        /// Baked and written.
        case built
        /// The content tag and every extra tag already held the digest: nothing written.
        case upToDate = "up to date"
        /// The content tag held the digest; some extra tags were pointed at it.
        case retagged
    }

    package struct Outcome: Sendable {
        package var plan: ImagePlan
        /// Where the image went, pinned: `REPO@sha256:…`, `oci:DIR@sha256:…` or an archive's
        /// `docker-archive:DIR/NAME.tar:REPO:TAG@sha256:…`.
        package var reference: String
        package var action: Action
    }

    /// One image's outcome in a build of several.
    package struct Report: Sendable {
        package var name: String
        package var result: Result<Outcome, any Error>
    }

    /// Builds every spec, at most `parallel` at a time. A failed image does not stop the others.
    /// - Returns: one report per spec, sorted by name.
    package func buildAll(_ specs: [ImageSpec], lock: LockFile, output: BuildOutput, createRepository: RepositoryCreation?, parallel: Int) async -> [Report] {
        // Errors are caught per image, so the map itself never throws.
        let reports: [Report] = (try? await BoundedConcurrency.map(specs, limit: parallel) { (spec: ImageSpec) -> Report in
            do {
                return Report(name: spec.name, result: .success(try await build(spec, lock: lock, output: output, createRepository: createRepository)))
            } catch {
                return Report(name: spec.name, result: .failure(error))
            }
        }) ?? []
        return reports.sorted { $0.name < $1.name }
    }

    /// Builds one spec.
    /// - Parameters:
    ///   - output: the spec's target, or a layout or archive per spec instead of pushing.
    package func build(_ spec: ImageSpec, lock: LockFile, output: BuildOutput, createRepository: RepositoryCreation?) async throws -> Outcome {
        let plan = try await Planner(project: project).plan(spec, lock: lock)
        let entry = try project.lockedEntry(for: spec, in: lock)
        let target = try output.target(for: spec)
        let pinned = ImagePlan.output(target, tag: plan.tag).pinned(plan.digest)
        let delivery = try provenanceDelivery(spec, plan: plan, entry: entry, lock: lock, target: target)

        // An archive is written whole every time: there are no tags to compare.
        if !target.isArchive {
            let tags = TargetTags(store: store)
            // The content tag first: a new image needs no other look (its tags are written last
            // by the bake, each after its own HEAD).
            if try await tags.descriptors(of: target, tags: [plan.tag])[plan.tag]?.digest == plan.digest {
                // Tagged: by this kiln, its provenance went in before the tag, but the builder
                // may differ, or an older kiln or `--no-provenance` tagged it; one HEAD says,
                // asked together with the extra tags'.
                async let extra = tags.descriptors(of: target, tags: spec.tags)
                var attached = true
                if let image = delivery?.image { attached = try await delivery?.provenance.isAttached(in: image) ?? true }
                let current = try await extra.mapValues(\.digest)
                try await delivery?.deliver(attaching: !attached)
                let stale = spec.tags.filter { current[$0] != plan.digest }
                if stale.isEmpty { return Outcome(plan: plan, reference: pinned, action: .upToDate) }
                try await TargetTags(store: store).point(target, tags: stale, at: plan.derivation.root, bytes: plan.derivation.rootBytes)
                return Outcome(plan: plan, reference: pinned, action: .retagged)
            }
        }

        var request = try await spec.request(base: try ImageReference(parsing: entry.pinned), output: ImagePlan.output(target, tag: plan.tag), snapshot: entry.snapshot)
        request.additionalTags = spec.tags
        request.createRepository = createRepository
        request.expectedDigest = plan.digest
        request.lockedBase = entry.snapshot
        request.archivePlatform = output.archivePlatform
        // The bake checks its derived root against the plan's digest before writing anything
        // (BakeError.differsFromExpected). The provenance's blobs and artifacts go up beside the
        // image's own writes; their listing, the part a reader of tags sees, before the tags.
        let push: @Sendable () async throws -> Provenance.Pushed? = { [delivery] in
            guard let delivery, let image = delivery.image else { return nil }
            return try await delivery.provenance.push(to: image)
        }
        _ = try await Baker(store: store, progress: progress).bake(request, beside: push) { untagged, pushed in
            try await delivery?.deliver(attaching: true, pushed: pushed, writingSubject: untagged.writeRootByDigest)
        }
        return Outcome(plan: plan, reference: pinned, action: .built)
    }

    /// Where one image's provenance goes.
    private struct Delivery: Sendable {
        var provenance: Provenance
        var settings: ProvenanceSettings
        var name: String
        /// The registry image to attach it to; `nil` for layouts and archives.
        var image: RegistryImage?

        func deliver(attaching: Bool, pushed: Provenance.Pushed? = nil, writingSubject: (() async throws -> Void)? = nil) async throws {
            try await provenance.deliver(statementPath: settings.statementPath, predicatePath: settings.predicatePath, name: name,
                                         to: attaching ? image : nil, pushed: pushed, writingSubject: writingSubject)
        }
    }

    /// The image's provenance when the build is to write or attach it, made from the plan (no
    /// file is read again); `nil` otherwise.
    private func provenanceDelivery(_ spec: ImageSpec, plan: ImagePlan, entry: LockFile.Entry, lock: LockFile, target: ImageReference) throws -> Delivery? {
        guard let provenance, provenance.isNeeded else { return nil }
        // Registries only: a layout or archive has no referrers API (docs/provenance.md).
        let image = provenance.attach && !target.isArchive ? try store.registryImage(target) : nil
        guard image != nil || provenance.statementPath != nil || provenance.predicatePath != nil else { return nil }
        let made = try Provenance.make(plan: plan, spec: spec, entry: entry, lock: lock, project: project, builderID: provenance.builderID)
        return Delivery(provenance: made, settings: provenance, name: spec.name, image: image)
    }
}
