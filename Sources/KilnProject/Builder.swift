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
        let outcome = try await buildImage(spec, lock: lock, output: output, createRepository: createRepository)
        guard let provenance, provenance.isNeeded else { return outcome }
        // Registries only: a layout or archive has no referrers API (docs/provenance.md).
        let target = try output.target(for: spec)
        let image = provenance.attach && !target.isArchive ? try store.registryImage(target) : nil
        guard image != nil || provenance.statementPath != nil || provenance.predicatePath != nil else { return outcome }
        let entry = try project.lockedEntry(for: spec, in: lock)
        let made = try await Provenance.make(plan: outcome.plan, spec: spec, entry: entry, lock: lock, project: project, builderID: provenance.builderID)
        // An image found up to date costs one HEAD more: its root artifact.
        try await made.deliver(statementPath: provenance.statementPath, predicatePath: provenance.predicatePath, name: spec.name,
                               to: image, skipIfAttached: outcome.action != .built)
        return outcome
    }

    private func buildImage(_ spec: ImageSpec, lock: LockFile, output: BuildOutput, createRepository: RepositoryCreation?) async throws -> Outcome {
        let plan = try await Planner(project: project).plan(spec, lock: lock)
        let entry = try project.lockedEntry(for: spec, in: lock)
        let target = try output.target(for: spec)
        let pinned = ImagePlan.output(target, tag: plan.tag).pinned(plan.digest)

        // An archive is written whole every time: there are no tags to compare.
        if !target.isArchive {
            let current = try await TargetTags(store: store).descriptors(of: target, tags: [plan.tag] + spec.tags).mapValues(\.digest)
            if current[plan.tag] == plan.digest {
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
        // (BakeError.differsFromExpected).
        _ = try await Baker(store: store, progress: progress).bake(request)
        return Outcome(plan: plan, reference: pinned, action: .built)
    }
}
