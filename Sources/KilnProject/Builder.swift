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
    private let store: ImageStore
    private let progress: TransferProgress

    package init(project: Project, store: ImageStore, progress: TransferProgress) {
        self.project = project
        self.store = store
        self.progress = progress
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

        // An archive is written whole every time: there are no tags to compare.
        if !target.isArchive {
            let current = try await TagReader(store: store).descriptors(of: target, tags: [plan.tag] + spec.tags).mapValues(\.digest)
            if current[plan.tag] == plan.digest {
                let stale = spec.tags.filter { current[$0] != plan.digest }
                if stale.isEmpty { return Outcome(plan: plan, reference: pinned, action: .upToDate) }
                try await TagReader(store: store).point(target, tags: stale, at: plan.derivation.root, bytes: plan.derivation.rootBytes)
                return Outcome(plan: plan, reference: pinned, action: .retagged)
            }
        }

        var request = spec.request(base: try ImageReference(parsing: entry.pinned), output: ImagePlan.output(target, tag: plan.tag))
        request.additionalTags = spec.tags
        request.createRepository = createRepository
        request.expectedDigest = plan.digest
        request.lockedBase = entry.snapshot
        request.archivePlatform = output.archivePlatform
        let result = try await Baker(store: store, progress: progress).bake(request)
        // The plan and the bake share one derivation, so this holds unless the registry served
        // other bytes for the locked base than the lock holds (which digest checks rule out).
        guard result.digest == plan.digest else {
            throw ProjectError.buildDiffersFromPlan(image: spec.name, built: result.digest, planned: plan.digest)
        }
        return Outcome(plan: plan, reference: pinned, action: .built)
    }
}
