import KilnSpec
import KilnStore
import OCI

/// The files AWS's deploy actions read, written from the plan (offline, pinned by digest):
/// CodePipeline's ECS standard deploy `imagedefinitions.json` and CodeDeploy blue/green's
/// `imageDetail.json`.
package enum DeployArtifacts {
    /// `[{"name": CONTAINER, "imageUri": "REPO@sha256:…"}, …]`, one entry per spec, in the
    /// order planned. The container is the spec's `container:`, else its name.
    /// - Throws: ``SpecError`` naming the spec whose target is a layout, whose name is no ECS
    ///   container name (and sets no `container:`), or whose container another spec names too.
    /// - Parameter registry: for specs with several targets, the registry host whose target
    ///   the file names (`--target-registry`: one account and region); `nil`: each spec's first.
    package static func imageDefinitions(_ planned: [(spec: ImageSpec, plan: ImagePlan)], registry: String? = nil) throws -> JSONValue {
        var entries: [JSONValue] = []
        var containers: [String: String] = [:]
        for (spec, plan) in planned {
            let name = try containerName(spec)
            if let other = containers[name] {
                throw SpecError(location: spec.path, message: "container '\(name)' is also spec \(other)'s: CodePipeline matches entries by container name (set container:)")
            }
            containers[name] = spec.name
            entries.append(.object([("name", .string(name)), ("imageUri", .string(try imageURI(spec, plan, registry: registry)))]))
        }
        return .array(entries)
    }

    /// `{"ImageURI": "REPO@sha256:…"}` for exactly one spec.
    /// - Throws: ``SpecError`` when not exactly one spec is planned or its target is a layout.
    package static func imageDetail(_ planned: [(spec: ImageSpec, plan: ImagePlan)], registry: String? = nil) throws -> JSONValue {
        guard planned.count == 1, let (spec, plan) = planned.first else {
            let names = planned.map(\.spec.name).prefix(5).joined(separator: ", ")
            throw SpecError(location: "imagedetail", message: "describes one image: name one spec (\(planned.count) planned: \(names)\(planned.count > 5 ? ", …" : ""))")
        }
        return .object([("ImageURI", .string(try imageURI(spec, plan, registry: registry)))])
    }

    /// The ECS container name of a spec's image.
    static func containerName(_ spec: ImageSpec) throws -> String {
        if let container = spec.container { return container }
        guard ImageSpec.isValidContainerName(spec.name) else {
            throw SpecError(location: spec.path, message: "the spec's name '\(spec.name)' is not an ECS container name (1 to 255 letters, digits, hyphens and underscores); set container:")
        }
        return spec.name
    }

    /// The spec's image at its first target, or at its target on `registry`.
    static func imageURI(_ spec: ImageSpec, _ plan: ImagePlan, registry: String?) throws -> String {
        var index = 0
        if let registry {
            let hosts = spec.targets.map { target -> String? in if case .registry(let reference) = target { reference.registry } else { nil } }
            // `Example.COM`, `example.com.` and `example.com` are one host.
            let wanted = RegistryReference.hostIdentity(registry)
            guard let found = hosts.firstIndex(where: { $0.map(RegistryReference.hostIdentity) == wanted }) else {
                throw SpecError(location: spec.path, message: "no target on \(registry) (targets: \(plan.repositories.joined(separator: ", ")))")
            }
            index = found
        }
        guard case .registry = spec.targets[index] else {
            throw SpecError(location: spec.path, message: "target \(plan.repository) is a layout: ECS deploys images from a registry repository")
        }
        return plan.images[index]
    }
}
