import Foundation
import KilnBake
import KilnSpec
import KilnStore
import OCI

/// `kiln plan --matrix`: which specs a CI run has to build, as the job matrix GitHub Actions
/// (`strategy.matrix: ${{ fromJSON(...) }}`) and GitLab (`parallel:matrix`) take.
///
/// A spec needs building when one of its targets lacks the planned image: its content tag
/// `kiln.sha256.<hex>` is missing (one HEAD per target, several targets at once), or, when it is
/// there, one of the spec's extra tags does not hold the digest yet (`kiln build` would retag).
package struct BuildMatrix: Sendable {
    private let store: ImageSession

    /// HEAD requests in flight at once: enough to hide the latency of a remote registry behind a
    /// few dozen specs, few enough not to look like a flood to it.
    package static let concurrentChecks = 8

    package init(store: ImageSession) {
        self.store = store
    }

    /// What was found at one spec's target.
    package struct Check: Sendable {
        package var name: String
        /// The target repository (for error lines).
        package var target: String
        /// `true` when the target lacks the image or one of its tags; an error when the target
        /// could not be asked (unreachable, denied, a broken answer).
        package var needsBuild: Result<Bool, any Error>
    }

    /// Asks every target of every spec, at most ``concurrentChecks`` at a time; a failed target
    /// does not stop the others. A spec with several targets needs building when any of them
    /// lacks the image.
    /// - Returns: one check per spec, in the specs' order (a spec whose target could not be
    ///   asked names the first such target).
    package func check(_ items: [(spec: ImageSpec, plan: ImagePlan)]) async -> [Check] {
        let store = store
        let work = items.flatMap { item in
            zip(item.spec.targets, item.plan.repositories).map { Item(spec: item.spec, plan: item.plan, target: $0, repository: $1) }
        }
        // Errors are caught per target, so the map itself never throws.
        let perTarget = (try? await BoundedConcurrency.map(work, limit: Self.concurrentChecks) { item -> Check in
            do {
                let reader = TargetTags(store: store)
                let content = try await reader.descriptors(of: item.target, tags: [item.plan.tag])
                guard content[item.plan.tag]?.digest == item.plan.digest else {
                    return Check(name: item.spec.name, target: item.repository, needsBuild: .success(true))
                }
                let extra = try await reader.descriptors(of: item.target, tags: item.spec.tags)
                let stale = item.spec.tags.contains { extra[$0]?.digest != item.plan.digest }
                return Check(name: item.spec.name, target: item.repository, needsBuild: .success(stale))
            } catch {
                return Check(name: item.spec.name, target: item.repository, needsBuild: .failure(error))
            }
        }) ?? []
        var position = 0
        return items.map { item in
            let checks = perTarget[position..<position + item.spec.targets.count]
            position += item.spec.targets.count
            if let failed = checks.first(where: { if case .failure = $0.needsBuild { true } else { false } }) { return failed }
            return checks.first { (try? $0.needsBuild.get()) == true } ?? checks.first!
        }
    }

    private struct Item: Sendable {
        var spec: ImageSpec
        var plan: ImagePlan
        var target: ImageReference
        var repository: String
    }

    /// One spec of the matrix.
    package struct Entry: Sendable {
        package var name: String
        /// The spec file, relative to the repository root where it is under it.
        package var path: String

        package init(name: String, path: String) {
            self.name = name
            self.path = path
        }
    }

    /// The matrix document: `{"include": [{"spec": NAME, "path": PATH}, ...]}`, one job per
    /// spec; with `shards`, `{"include": [{"shard": "K/N", "specs": "NAME NAME"}, ...]}`, one job
    /// per group that has a spec to build, in group order, for `kiln build --shard K/N`.
    package static func document(_ entries: [Entry], shards: Int?) -> JSONValue {
        guard let shards else {
            return .object([("include", .array(entries.map { .object([("spec", .string($0.name)), ("path", .string($0.path))]) }))])
        }
        var groups: [Int: [String]] = [:]
        for entry in entries { groups[Shard.index(of: entry.name, count: shards), default: []].append(entry.name) }
        let include: [JSONValue] = groups.keys.sorted().map { index in
            .object([("shard", .string(Shard(index: index, count: shards).description)), ("specs", .string(groups[index]!.joined(separator: " ")))])
        }
        return .object([("include", .array(include))])
    }

    /// A spec file's path relative to `root`, when it is under it.
    package static func relativePath(_ path: String, root: String) -> String {
        let file = URL(fileURLWithPath: path).standardizedFileURL.path
        let base = URL(fileURLWithPath: root).standardizedFileURL.path
        let prefix = base.hasSuffix("/") ? base : base + "/"
        return file.hasPrefix(prefix) ? String(file.dropFirst(prefix.count)) : path
    }
}
