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
        /// `docker-archive:DIR/NAME.tar:REPO:TAG@sha256:…` (the first target of several).
        package var reference: String
        /// What was done: for several targets, `built` when any target was built, else
        /// `retagged` when any was retagged.
        package var action: Action
        /// Each target of a spec with several (`targets:`), in the spec's order; empty for one.
        package var targets: [TargetOutcome] = []

        /// Whether some target failed (the others were still written).
        package var hasFailures: Bool { targets.contains { $0.failure != nil } }
    }

    /// What became of one target of a spec with several.
    package struct TargetOutcome: Sendable {
        /// `REPO@sha256:…`.
        package var reference: String
        /// What was done there; meaningless when `failure` is set.
        package var action: Action
        /// Why this target was given up; `nil`: it holds the image under every tag.
        package var failure: String?
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
        if output == .targets, spec.targets.count > 1 { return try await buildFanOut(spec, lock: lock, createRepository: createRepository) }
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

    /// A spec with several targets: each target's tags asked at once; targets holding the image
    /// are left (or retagged), the others get ONE bake written to all of them (``Baker``'s
    /// fan-out: base blobs read once, layer built once, each tagged after its own upload). A
    /// target that fails is named in the outcome; the others still finish.
    private func buildFanOut(_ spec: ImageSpec, lock: LockFile, createRepository: RepositoryCreation?) async throws -> Outcome {
        let plan = try await Planner(project: project).plan(spec, lock: lock)
        let entry = try project.lockedEntry(for: spec, in: lock)
        let tags = [plan.tag] + spec.tags
        let store = store
        // What each target holds: up to date, a retag, a build, or a failure to ask.
        let states = await FanOutState.ask(spec.targets, tags: tags, plan: plan, store: store)
        var outcomes = zip(spec.targets, states).map { target, state -> TargetOutcome in
            let reference = ImagePlan.output(target, tag: plan.tag).pinned(plan.digest)
            switch state {
            case .upToDate: return TargetOutcome(reference: reference, action: .upToDate)
            case .retag: return TargetOutcome(reference: reference, action: .retagged)
            case .build: return TargetOutcome(reference: reference, action: .built)
            case .failed(let error): return TargetOutcome(reference: reference, action: .built, failure: error)
            }
        }
        // Retags at once (each prepared like any write: immutable tags are never moved).
        let retags = states.indices.compactMap { index -> (Int, [String])? in
            if case .retag(let stale) = states[index] { return (index, stale) }
            return nil
        }
        let retagged = await FanOutState.each(retags) { item in
            try await TargetTags(store: store).point(spec.targets[item.0], tags: item.1, at: plan.derivation.root, bytes: plan.derivation.rootBytes)
        }
        for (item, failure) in zip(retags, retagged) { outcomes[item.0].failure = failure }

        let building = states.indices.filter { if case .build = states[$0] { true } else { false } }
        if let first = building.first {
            var request = try await spec.request(base: try ImageReference(parsing: entry.pinned), output: ImagePlan.output(spec.targets[first], tag: plan.tag), snapshot: entry.snapshot)
            request.otherOutputs = building.dropFirst().map { ImagePlan.output(spec.targets[$0], tag: plan.tag) }
            request.isOneOfSeveralTargets = true
            request.additionalTags = spec.tags
            request.createRepository = createRepository
            request.expectedDigest = plan.digest
            request.lockedBase = entry.snapshot
            do {
                let result = try await Baker(store: store, progress: progress).bake(request)
                for (index, written) in zip(building, result.outputs) { outcomes[index].failure = written.failure }
            } catch let failed as ImageGraphWriter.TargetsFailed {
                // Every target refused at its preparation: each its own reason.
                for (index, result) in zip(building, failed.results) { outcomes[index].failure = result.failure.map { "\($0)" } }
            } catch {
                // Before any destination was written (the bake itself failed): every one of them.
                for index in building { outcomes[index].failure = "\(error)" }
            }
        }
        if let provenance, provenance.isNeeded {
            try await deliverProvenance(provenance, plan: plan, spec: spec, lock: lock, outcomes: &outcomes)
        }
        let succeeded = outcomes.filter { $0.failure == nil }.map(\.action)
        let action: Action = succeeded.contains(.built) ? .built : succeeded.contains(.retagged) ? .retagged : .upToDate
        return Outcome(plan: plan, reference: outcomes[0].reference, action: action, targets: outcomes)
    }

    /// The provenance of a fan-out: made once, its files written once, attached at every
    /// target that holds the image (a target refusing it is failed like any other write).
    private func deliverProvenance(_ provenance: ProvenanceSettings, plan: ImagePlan, spec: ImageSpec, lock: LockFile, outcomes: inout [TargetOutcome]) async throws {
        let entry = try project.lockedEntry(for: spec, in: lock)
        let made = try await Provenance.make(plan: plan, spec: spec, entry: entry, lock: lock, project: project, builderID: provenance.builderID)
        try await made.deliver(statementPath: provenance.statementPath, predicatePath: provenance.predicatePath, name: spec.name, to: nil, skipIfAttached: false)
        guard provenance.attach else { return }
        let store = store
        let attaching = outcomes.indices.filter { outcomes[$0].failure == nil }.map { (index: $0, target: spec.targets[$0], built: outcomes[$0].action == .built) }
        let failures = await FanOutState.each(attaching) { item in
            guard let image = try store.registryImage(item.target) else { return }
            try await made.deliver(statementPath: nil, predicatePath: nil, name: spec.name, to: image, skipIfAttached: !item.built)
        }
        for (item, failure) in zip(attaching, failures) where failure != nil { outcomes[item.index].failure = failure }
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

/// What one target of a fan-out build holds, asked before anything is written.
private enum FanOutState: Sendable {
    case upToDate
    /// The content tag is there; these extra tags are not.
    case retag([String])
    case build
    case failed(String)

    /// Asks every target at once.
    static func ask(_ targets: [ImageReference], tags: [String], plan: ImagePlan, store: ImageSession) async -> [FanOutState] {
        let found = await each(targets) { target -> FanOutState in
            let current = try await TargetTags(store: store).descriptors(of: target, tags: tags).mapValues(\.digest)
            guard current[plan.tag] == plan.digest else { return .build }
            let stale = plan.extraTags.filter { current[$0] != plan.digest }
            return stale.isEmpty ? .upToDate : .retag(stale)
        }
        return found.map { result in
            switch result {
            case .success(let state): return state
            case .failure(let error): return .failed("\(error)")
            }
        }
    }

    /// `body` for every item at once; each item's failure as its one line, `nil` for success.
    static func each<Item: Sendable>(_ items: [Item], _ body: @escaping @Sendable (Item) async throws -> Void) async -> [String?] {
        await each(items) { item -> Bool in
            try await body(item)
            return true
        }.map { result in
            if case .failure(let error) = result { return "\(error)" }
            return nil
        }
    }

    static func each<Item: Sendable, Value: Sendable>(_ items: [Item], _ body: @escaping @Sendable (Item) async throws -> Value) async -> [Result<Value, any Error>] {
        // Errors are caught per item, so the map never throws.
        (try? await BoundedConcurrency.map(items, limit: max(items.count, 1)) { item in
            do { return Caught(result: .success(try await body(item))) } catch { return Caught(result: .failure(error)) }
        }.map(\.result)) ?? []
    }

    /// A named struct as a task's result (see ``BoundedConcurrency``).
    private struct Caught<Value: Sendable>: Sendable {
        var result: Result<Value, any Error>
    }
}
