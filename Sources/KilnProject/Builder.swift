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
        let plan = try await Planner(project: project).plan(spec, lock: lock)
        let entry = try project.lockedEntry(for: spec, in: lock)
        let target = try output.target(for: spec)
        let pinned = ImagePlan.output(target, tag: plan.tag).pinned(plan.digest)
        let tags = TargetTags(store: store)
        // The content tag first: a new image needs no other look (its tags are written last by
        // the bake, each after its own HEAD). An archive is written whole every time: there are
        // no tags to compare. The provenance is made while the HEAD is out.
        @Sendable func contentTagDigest() async throws -> Digest? {
            target.isArchive ? nil : try await tags.descriptors(of: target, tags: [plan.tag])[plan.tag]?.digest
        }
        async let contentTag = contentTagDigest()
        let delivery = try provenanceDelivery(spec, plan: plan, entry: entry, lock: lock, target: target)

        if !target.isArchive {
            if try await contentTag == plan.digest {
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
        let retagged = await FanOutState.each(retags, limit: store.options.jobs) { item in
            try await TargetTags(store: store).point(spec.targets[item.0], tags: item.1, at: plan.derivation.root, bytes: plan.derivation.rootBytes)
        }
        for (item, failure) in zip(retags, retagged) { outcomes[item.0].failure = failure }

        // The provenance is made once: each target the bake writes gets it before its tags, as a
        // single target does; the others (and its files) after, in ``deliverProvenance``.
        let delivery = try provenanceDelivery(spec, plan: plan, entry: entry, lock: lock, target: spec.targets[0])
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
                let result = try await Baker(store: store, progress: progress).bake(request) { [delivery, store] untagged in
                    guard let delivery, delivery.settings.attach, let image = try store.registryImage(untagged.reference) else { return }
                    try await delivery.provenance.deliver(statementPath: nil, predicatePath: nil, name: delivery.name, to: image, writingSubject: untagged.writeRootByDigest)
                }
                for (index, written) in zip(building, result.outputs) { outcomes[index].failure = written.failure }
            } catch let failed as ImageGraphWriter.TargetsFailed {
                // Every target refused at its preparation: each its own reason.
                for (index, result) in zip(building, failed.results) { outcomes[index].failure = result.failure.map { "\($0)" } }
            } catch {
                // Before any destination was written (the bake itself failed): every one of them.
                for index in building { outcomes[index].failure = "\(error)" }
            }
        }
        if let delivery {
            try await deliverProvenance(delivery, spec: spec, outcomes: &outcomes)
        }
        let succeeded = outcomes.filter { $0.failure == nil }.map(\.action)
        let action: Action = succeeded.contains(.built) ? .built : succeeded.contains(.retagged) ? .retagged : .upToDate
        return Outcome(plan: plan, reference: outcomes[0].reference, action: action, targets: outcomes)
    }

    /// The provenance of a fan-out beside its bake: its files written once, and attached at
    /// every target found holding the image (up to date or retagged) that lacks it; a target
    /// refusing it is failed like any other write. (Targets the bake wrote got it before their
    /// tags.)
    private func deliverProvenance(_ delivery: Delivery, spec: ImageSpec, outcomes: inout [TargetOutcome]) async throws {
        try await delivery.deliver(attaching: false)
        guard delivery.settings.attach else { return }
        let store = store
        let attaching = outcomes.indices.filter { outcomes[$0].failure == nil && outcomes[$0].action != .built }.map { (index: $0, target: spec.targets[$0]) }
        let failures = await FanOutState.each(attaching, limit: store.options.jobs) { item in
            guard let image = try store.registryImage(item.target) else { return }
            if try await !delivery.provenance.isAttached(in: image) {
                try await delivery.provenance.deliver(statementPath: nil, predicatePath: nil, name: delivery.name, to: image)
            }
        }
        for (item, failure) in zip(attaching, failures) where failure != nil { outcomes[item.index].failure = failure }
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

/// What one target of a fan-out build holds, asked before anything is written.
private enum FanOutState: Sendable {
    case upToDate
    /// The content tag is there; these extra tags are not.
    case retag([String])
    case build
    case failed(String)

    /// Asks every target, `--jobs` at a time.
    static func ask(_ targets: [ImageReference], tags: [String], plan: ImagePlan, store: ImageSession) async -> [FanOutState] {
        let found = await each(targets, limit: store.options.jobs) { target -> FanOutState in
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

    /// `body` for every item, `limit` at a time (`--jobs`: a spec may list 256 targets); each
    /// item's failure as its one line, `nil` for success.
    static func each<Item: Sendable>(_ items: [Item], limit: Int, _ body: @escaping @Sendable (Item) async throws -> Void) async -> [String?] {
        await each(items, limit: limit) { item -> Bool in
            try await body(item)
            return true
        }.map { result in
            if case .failure(let error) = result { return "\(error)" }
            return nil
        }
    }

    static func each<Item: Sendable, Value: Sendable>(_ items: [Item], limit: Int, _ body: @escaping @Sendable (Item) async throws -> Value) async -> [Result<Value, any Error>] {
        // Errors are caught per item, so the map never throws.
        (try? await BoundedConcurrency.map(items, limit: max(1, limit)) { item in
            do { return Caught(result: .success(try await body(item))) } catch { return Caught(result: .failure(error)) }
        }.map(\.result)) ?? []
    }

    /// A named struct as a task's result (see ``BoundedConcurrency``).
    private struct Caught<Value: Sendable>: Sendable {
        var result: Result<Value, any Error>
    }
}
