import KilnDockerfile
import KilnSpec
import KilnStore
import OCI

/// `kiln render-taskdef`: points every container of a task definition whose image names a
/// spec's target repository (any of a spec's several targets: the one it names) (with any tag, a digest, or neither) at that spec's planned digest,
/// offline, from the specs and the lock. Other containers are reported and left as they are.
package struct TaskDefinitionRenderer: Sendable {
    package let project: Project
    /// The registry a host name stands for: two hosts with the same identity are one registry
    /// (ECR's dual-stack and FIPS hosts, from the CLI, which knows ECR; Docker Hub's names here).
    package let registryIdentity: @Sendable (String) -> String

    package init(project: Project, registryIdentity: @escaping @Sendable (String) -> String = TaskDefinitionRenderer.plainIdentity) {
        self.project = project
        self.registryIdentity = registryIdentity
    }

    /// What rendering did.
    package struct Rendering: Sendable {
        /// The file's bytes with the matched images replaced.
        package var bytes: [UInt8]
        /// `container 'web': REPO@sha256:… (spec NAME)`, one per container rewritten.
        package var rendered: [String]
        /// `container 'sidecar' (IMAGE): …`, one per container left as it was.
        package var untouched: [String]
    }

    /// Host names compared without case; Docker Hub's API and index hosts are `docker.io`.
    package static func plainIdentity(_ host: String) -> String {
        let host = host.lowercased()
        return ["index.docker.io", "registry-1.docker.io"].contains(host) ? "docker.io" : host
    }

    /// - Parameters:
    ///   - file: names the task definition in errors.
    ///   - specs: the specs whose images may be named; a layout target names no repository.
    /// - Throws: ``SpecError`` naming the container when the spec its image names has no lock
    ///   entry or two specs target its repository, and naming the file when no container names
    ///   any spec's repository.
    package func render(_ definition: TaskDefinition, file: String, specs: [ImageSpec], lock: LockFile) async throws -> Rendering {
        var specsByRepository: [String: [ImageSpec]] = [:]
        // Every target of a spec: a container is pinned at the repository it names (one
        // account's task definition names that account's repository).
        for spec in specs {
            for case .registry(let target) in spec.targets where !(specsByRepository[key(target)] ?? []).contains(where: { $0.name == spec.name }) {
                specsByRepository[key(target), default: []].append(spec)
            }
        }
        let planner = Planner(project: project)
        var plans: [String: ImagePlan] = [:]
        var images: [Int: String] = [:]
        var rendering = Rendering(bytes: definition.bytes, rendered: [], untouched: [])
        for container in definition.containers {
            guard let image = container.image else {
                rendering.untouched.append("container \(container.label) has no image; left as is")
                continue
            }
            let shown = UntrustedText.excerpt(image)
            guard let reference = try? RegistryReference(parsing: image), let candidates = specsByRepository[key(reference)] else {
                rendering.untouched.append("container \(container.label) (\(shown)) is no spec's image; left as is")
                continue
            }
            guard candidates.count == 1, let spec = candidates.first else {
                let names = candidates.map(\.name).joined(separator: ", ")
                throw SpecError(location: file, message: "container \(container.label) names \(shown), the target of specs \(names); name the one to render")
            }
            guard lock.entries[spec.name] != nil else {
                throw SpecError(location: file, message: "container \(container.label) names \(shown), the target of \(spec.path), which is not in \(project.lockPath); run kiln lock")
            }
            if plans[spec.name] == nil { plans[spec.name] = try await planner.plan(spec, lock: lock) }
            guard let plan = plans[spec.name] else { continue }
            let pinned = "\(Self.nameAsWritten(image))@\(plan.digest)"
            images[container.index] = pinned
            rendering.rendered.append("container \(container.label): \(UntrustedText.excerpt(pinned)) (spec \(spec.name))")
        }
        guard !images.isEmpty else {
            let repositories = specsByRepository.keys.isEmpty ? "no spec has a registry target" : "spec targets: " + specs.flatMap { spec in
                spec.targets.compactMap { if case .registry(let target) = $0 { target.name } else { nil } }
            }.prefix(5).joined(separator: ", ")
            throw SpecError(location: file, message: "no container's image names a spec's target repository (\(repositories))")
        }
        rendering.bytes = definition.replacingImages(images)
        return rendering
    }

    /// The registry and repository, the way they are compared.
    private func key(_ reference: RegistryReference) -> String { "\(registryIdentity(reference.registry))/\(reference.repository)" }

    /// The image's name as the task definition spells it, without tag or digest: a container
    /// that names its registry by another host (or Docker Hub's short form) keeps that spelling.
    static func nameAsWritten(_ image: String) -> String {
        var name = Substring(image)
        if name.hasPrefix("docker://") { name = name.dropFirst("docker://".count) }
        if let at = name.firstIndex(of: "@") { name = name[..<at] }
        if let colon = name.lastIndex(of: ":"), !name[colon...].contains("/") { name = name[..<colon] }
        return String(name)
    }
}
