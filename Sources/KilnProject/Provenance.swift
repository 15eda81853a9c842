import Foundation
import KilnBake
import KilnRecipe
import KilnRegistry
import KilnSpec
import KilnStore
import OCI

/// What kiln says about how an image was built: an in-toto statement (v1) with a SLSA
/// provenance v1 predicate, attached to the image as an OCI 1.1 artifact (docs/provenance.md).
///
/// Deterministic: the same spec, overlays, lock, kiln version and builder give the same bytes (no
/// timestamps, no run ids, keys sorted), so attaching it again is a no-op and `kiln verify` can
/// recompute it and look for exactly that digest.
package struct Provenance: Sendable {
    /// The build type: what the predicate's parameters mean. Defined once, documented in
    /// docs/provenance.md (OWNER: the project's home is not settled yet).
    package static let buildType = "https://github.com/OWNER/kiln/blob/main/docs/provenance.md#buildtype-v1"
    /// The builder id when no CI system is recognized and no `--builder-id` is given.
    package static let localBuilderID = "https://github.com/OWNER/kiln/blob/main/docs/provenance.md#builder-local"
    static let statementType = "https://in-toto.io/Statement/v1"
    static let predicateType = "https://slsa.dev/provenance/v1"
    /// The artifact type and layer media type of the attached statement.
    package static let artifactType = "application/vnd.in-toto+json"
    static let emptyConfig = Array("{}".utf8)
    static let emptyMediaType = "application/vnd.oci.empty.v1+json"

    package var statementBytes: [UInt8]
    package var predicateBytes: [UInt8]
    /// One artifact per subject: each platform manifest of an index first, the root last (so a
    /// root artifact present means the run that wrote it finished).
    package var artifacts: [ArtifactManifest]

    /// The artifact whose subject is the image's root.
    package var rootArtifact: ArtifactManifest { artifacts[artifacts.count - 1] }

    /// The build platform's id: `--builder-id`, else the CI system's (GitHub Actions: the
    /// workflow; GitLab CI: the project; CodeBuild: the project's ARN, never a run's id), else
    /// ``localBuilderID``.
    package static func builderID(flag: String?, environment: [String: String]) -> String {
        if let flag, !flag.isEmpty { return flag }
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        if value("GITHUB_ACTIONS") == "true" {
            let server = value("GITHUB_SERVER_URL") ?? "https://github.com"
            if let workflow = value("GITHUB_WORKFLOW_REF") { return "\(server)/\(workflow)" }
            if let repository = value("GITHUB_REPOSITORY") { return "\(server)/\(repository)" }
        }
        if value("GITLAB_CI") == "true", let server = value("CI_SERVER_URL"), let project = value("CI_PROJECT_PATH") {
            return "\(server)/\(project)"
        }
        // arn:aws:codebuild:REGION:ACCOUNT:build/PROJECT:RUN-ID -> ...:project/PROJECT
        if let arn = value("CODEBUILD_BUILD_ARN") {
            let parts = arn.split(separator: ":", omittingEmptySubsequences: false)
            if parts.count >= 7, parts[5].hasPrefix("build/") {
                return parts[0..<5].joined(separator: ":") + ":project/" + parts[5].dropFirst("build/".count)
            }
        }
        return localBuilderID
    }

    /// The provenance of `plan`, built from `spec` and its lock `entry`: no file is hashed
    /// again, the overlay files' digests and the config edits are the plan's.
    package static func make(plan: ImagePlan, spec: ImageSpec, entry: LockFile.Entry, lock: LockFile, project: Project, builderID: String) throws -> Provenance {
        let root = Self.realPath(project.root)
        func relative(_ path: String) -> String {
            let real = Self.realPath(path)
            for prefix in [root, project.root] where real.hasPrefix(prefix + "/") { return String(real.dropFirst(prefix.count + 1)) }
            return real
        }
        func digestMap(_ digest: Digest) -> JSONValue { .object([(digest.algorithm, .string(digest.hex))]) }

        guard let specBytes = FileManager.default.contents(atPath: spec.path) else {
            throw SpecError(location: spec.path, message: "cannot be read again for its provenance")
        }
        let lockEntry = Digest.of(Array(try LockFile(entries: [spec.name: entry]).serialized()))
        let files = plan.overlayFiles

        var external: [(key: String, value: JSONValue)] = [
            ("spec", .object([("path", .string(relative(spec.path))), ("digest", digestMap(Digest.of(specBytes)))])),
            ("lock", .object([("path", .string(relative(project.lockPath))), ("image", .string(spec.name)), ("entryDigest", digestMap(lockEntry))])),
            ("target", .string(plan.repository.hasPrefix("oci:") ? "oci:" + relative(String(plan.repository.dropFirst(4))) : plan.repository)),
            ("tags", .strings([plan.tag] + spec.tags)),
            ("platforms", .string(entry.platforms)),
            ("configEdits", configEdits(plan.edits)),
        ]
        if !spec.removals.isEmpty { external.append(("removals", .strings(spec.removals.map(\.description)))) }
        if let dockerfile = spec.dockerfile {
            // The files and edits above came from it: its bytes are part of the input.
            guard let bytes = FileManager.default.contents(atPath: dockerfile.path) else {
                throw SpecError(location: spec.path, message: "\(dockerfile.dockerfile.path) cannot be read again for the provenance")
            }
            var fields: [(key: String, value: JSONValue)] = [("path", .string(relative(dockerfile.path))), ("digest", digestMap(Digest.of(Array(bytes))))]
            if !dockerfile.buildArgs.isEmpty {
                fields.append(("buildArgs", .object(dockerfile.buildArgs.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.string($0.value)) })))
            }
            external.append(("dockerfile", .object(fields)))
        }
        var internalParameters: [(key: String, value: JSONValue)] = [
            ("kilnVersion", .string(kilnVersion)),
            ("compression", .string(spec.compression.rawValue)),
        ]
        switch spec.entryTimes {
        case .content: internalParameters.append(("mtime", .string("content")))
        case .fixed(let seconds): internalParameters.append(("mtime", .integer(seconds)))
        }
        let baseName = entry.base.hasPrefix("oci:") ? "oci:" + relative(String(entry.base.dropFirst(4))) : entry.base
        var dependencies: [JSONValue] = [.object([
            ("name", .string(baseName)),
            ("digest", digestMap(entry.snapshot.root.digest)),
            ("mediaType", .string(entry.snapshot.root.mediaType)),
            ("annotations", .object([("kiln.role", .string("base"))])),
        ])]
        for file in files {
            dependencies.append(.object([
                ("uri", .string("file:" + relative(file.source))),
                ("digest", digestMap(file.sha256)),
                ("annotations", .object([("kiln.role", .string("overlay")), ("kiln.destination", .string(file.destination))])),
            ]))
        }
        var platformManifests = derivation(plan)
        for index in platformManifests.indices { platformManifests[index].platform = plan.derivation.images[index].platform }
        return try assemble(subjectName: plan.repository, root: plan.derivation.root, platformManifests: platformManifests,
                            external: external, internal: internalParameters, dependencies: dependencies, builderID: builderID)
    }

    private static func derivation(_ plan: ImagePlan) -> [Descriptor] {
        plan.derivation.isIndex ? plan.derivation.images.map(\.manifest) : []
    }

    /// The statement of a bake from the command line (`kiln bake --provenance`): no spec or lock,
    /// the flags instead; paths relative to the working directory when they are below it.
    package static func make(bake request: BakeRequest, facts: ProvenanceFacts, overlayArguments: [(from: String, to: String)], builderID: String) throws -> Provenance {
        let here = realPath(FileManager.default.currentDirectoryPath)
        func relative(_ path: String) -> String? {
            let real = realPath(path)
            return real.hasPrefix(here + "/") ? String(real.dropFirst(here.count + 1)) : nil
        }
        func reference(_ reference: ImageReference) -> String {
            switch reference {
            case .layout(let layout):
                var text = "oci:" + (relative(layout.directory) ?? (layout.directory as NSString).lastPathComponent)
                if let tag = layout.tag { text += ":\(tag)" }
                if let digest = layout.digest { text += "@\(digest)" }
                return text
            case .registry(let registry): return registry.description
            case .archive(let archive): return archive.description
            }
        }
        func digestMap(_ digest: Digest) -> JSONValue { .object([(digest.algorithm, .string(digest.hex))]) }
        var external: [(key: String, value: JSONValue)] = [
            ("base", .string(reference(request.base))),
            ("output", .string(reference(request.output))),
            ("overlays", .array(overlayArguments.map { .object([("from", .string(relative($0.from) ?? ($0.from as NSString).lastPathComponent)), ("to", .string($0.to))]) })),
            ("platforms", .string(request.platforms.text)),
            ("configEdits", configEdits(request.edits)),
        ]
        if !request.additionalTags.isEmpty { external.append(("tags", .strings(request.additionalTags))) }
        if !request.removals.isEmpty { external.append(("removals", .strings(request.removals.map(\.description)))) }
        var internalParameters: [(key: String, value: JSONValue)] = [("kilnVersion", .string(kilnVersion)), ("compression", .string(request.compression.rawValue))]
        switch request.entryTimes {
        case .content: internalParameters.append(("mtime", .string("content")))
        case .fixed(let seconds): internalParameters.append(("mtime", .integer(seconds)))
        }
        var dependencies: [JSONValue] = [.object([
            ("name", .string(reference(request.base))), ("digest", digestMap(facts.base.digest)), ("mediaType", .string(facts.base.mediaType)),
            ("annotations", .object([("kiln.role", .string("base"))])),
        ])]
        for file in facts.overlayFiles {
            dependencies.append(.object([
                ("uri", .string("file:" + (relative(file.source) ?? file.withinOverlay))),
                ("digest", digestMap(file.sha256)),
                ("annotations", .object([("kiln.role", .string("overlay")), ("kiln.destination", .string(file.destination))])),
            ]))
        }
        let name: String = if case .registry(let registry) = request.output { registry.name } else { reference(request.output) }
        return try assemble(subjectName: name, root: facts.root, platformManifests: facts.platformManifests,
                            external: external, internal: internalParameters, dependencies: dependencies, builderID: builderID)
    }

    /// The statement and its artifacts from the predicate's parts.
    /// - Parameter platformManifests: each with its platform (empty for a single manifest).
    static func assemble(subjectName: String, root: Descriptor, platformManifests: [Descriptor], external: [(key: String, value: JSONValue)],
                         internal internalParameters: [(key: String, value: JSONValue)], dependencies: [JSONValue], builderID: String) throws -> Provenance {
        func digestMap(_ digest: Digest) -> JSONValue { .object([(digest.algorithm, .string(digest.hex))]) }
        let predicate = JSONValue.object([
            ("buildDefinition", .object([
                ("buildType", .string(buildType)),
                ("externalParameters", .object(external)),
                ("internalParameters", .object(internalParameters)),
                ("resolvedDependencies", .array(dependencies)),
            ])),
            ("runDetails", .object([("builder", .object([("id", .string(builderID))]))])),
        ]).sortedByKeyBytes()
        var subjects: [JSONValue] = [.object([("name", .string(subjectName)), ("digest", digestMap(root.digest))])]
        for manifest in platformManifests {
            let platform = manifest.platform.map { " \($0)" } ?? ""
            subjects.append(.object([("name", .string(subjectName + platform)), ("digest", digestMap(manifest.digest))]))
        }
        let statement = JSONValue.object([
            ("_type", .string(statementType)),
            ("subject", .array(subjects)),
            ("predicateType", .string(predicateType)),
            ("predicate", predicate),
        ]).sortedByKeyBytes()
        let statementBytes = statement.serialized()
        // The artifacts' subjects are descriptors as the registry has them: no platform.
        var artifactSubjects = platformManifests.map { Descriptor(mediaType: $0.mediaType, digest: $0.digest, size: $0.size) }
        artifactSubjects.append(root)
        var seen = Set<Digest>()
        let artifacts = try artifactSubjects.filter { seen.insert($0.digest).inserted }.map { try artifact(statementBytes, subject: $0) }
        return Provenance(statementBytes: statementBytes, predicateBytes: predicate.serialized(), artifacts: artifacts)
    }

    /// The OCI 1.1 artifact manifest carrying `statement` with `subject` as its subject: the
    /// empty config, one layer, no annotations that could vary.
    static func artifact(_ statement: [UInt8], subject: Descriptor) throws -> ArtifactManifest {
        func descriptor(_ mediaType: String, _ bytes: [UInt8]) -> JSONValue {
            .object([("mediaType", .string(mediaType)), ("digest", .string(Digest.of(bytes).description)), ("size", .integer(bytes.count))])
        }
        let manifest = JSONValue.object([
            ("schemaVersion", .integer(2)),
            ("mediaType", .string(MediaType.ociManifest)),
            ("artifactType", .string(artifactType)),
            ("config", .object([("mediaType", .string(emptyMediaType)), ("digest", .string(Digest.of(emptyConfig).description)), ("size", .integer(2)), ("data", .string("e30="))])),
            ("layers", .array([descriptor(artifactType, statement)])),
            ("subject", .object([("mediaType", .string(subject.mediaType)), ("digest", .string(subject.digest.description)), ("size", .integer(subject.size))])),
        ])
        return try ArtifactManifest(raw: manifest.serialized(), what: "provenance artifact")
    }

    static func configEdits(_ edits: ConfigEdits) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = []
        if !edits.env.isEmpty { members.append(("env", .strings(edits.env.map { "\($0.key)=\($0.value)" }))) }
        if !edits.labels.isEmpty { members.append(("labels", .object(edits.labels.map { ($0.key, .string($0.value)) }))) }
        if let user = edits.user { members.append(("user", .string(user))) }
        if let workingDir = edits.workingDir { members.append(("workingDir", .string(workingDir))) }
        if let entrypoint = edits.entrypoint { members.append(("entrypoint", .strings(entrypoint))) }
        if let cmd = edits.cmd { members.append(("cmd", .strings(cmd))) }
        return .object(members)
    }

    static func realPath(_ path: String) -> String {
        URL(fileURLWithPath: path).resolvingSymlinksInPath().path
    }

    // MARK: - Delivery

    /// Delivers the statement everywhere the command asked, the one place both `kiln bake
    /// --provenance` and `kiln build` do it: the statement and the predicate written to their
    /// files (`{name}` in a path becomes `name`), then attached to `image` when there is one
    /// (layouts and archives have no referrers API: the files are all they get).
    ///
    /// Both commands call it from inside the image's write (``Baker``'s `beforeTagging`, the
    /// step ``ImageGraphWriter`` runs after the blobs and manifests and before the tags), so
    /// the image is visible under a tag only once its provenance is attached, as `kiln copy`
    /// writes referrers before the tag: a run that dies in between leaves no tag, and the next
    /// run writes the image and its provenance again. An image already tagged (found up to
    /// date) gets it from ``Builder`` when ``isAttached(in:)`` says it lacks it.
    /// - Parameter writingSubject: writes the image's root by digest, for a registry that
    ///   refuses a referrer whose subject is not there yet; `nil` when the root is there.
    /// - Parameter pushed: what ``push(to:)`` already did beside the image's writes (`kiln
    ///   build`); `nil`: it is done here.
    package func deliver(statementPath: String?, predicatePath: String?, name: String, to image: RegistryImage?, pushed: Pushed? = nil,
                         writingSubject: (() async throws -> Void)? = nil) async throws {
        for (path, bytes) in [(statementPath, statementBytes), (predicatePath, predicateBytes)] {
            guard let path else { continue }
            let file = path.replacingOccurrences(of: "{name}", with: name)
            do {
                try FileIO.writeUserFile(bytes + [0x0A], to: file)
            } catch {
                throw SpecError(location: file, message: "cannot be written")
            }
        }
        guard let image else { return }
        if let pushed {
            try await list(pushed, in: image, writingSubject: writingSubject)
        } else {
            try await attach(to: image, writingSubject: writingSubject)
        }
    }

    // MARK: - In a registry

    /// Whether the root's artifact is already in `image`'s repository: one HEAD.
    package func isAttached(in image: RegistryImage) async throws -> Bool {
        try await image.hasManifest(Digest.of(rootArtifact.raw))
    }

    /// Pushes the statement and attaches one artifact per subject (referrers API where the
    /// registry has it, else the tag schema): ``push(to:)``, then ``list(_:in:writingSubject:)``.
    package func attach(to image: RegistryImage, writingSubject: (() async throws -> Void)? = nil) async throws {
        try await list(try await push(to: image), in: image, writingSubject: writingSubject)
    }

    /// What ``push(to:)`` left for ``list(_:in:writingSubject:)``.
    package struct Pushed: Sendable {
        /// Artifacts the registry did not index itself, with their subjects' tag-schema indexes
        /// as read right after: they go in there, platform manifests' first, the root's last.
        var unlisted: [(artifact: ArtifactManifest, index: ReferrersIndex?)] = []
        /// The registry refused the root's artifact (a 4xx): some want the subject first.
        var rootRefused = false
    }

    /// The first half of an attach, nothing a reader of tags sees: the empty config and the
    /// statement (together, each in one request when the repository holds it and two when not:
    /// ``RegistryImage/putSmall(_:as:)``), then every artifact manifest by digest, the
    /// platform manifests' together, the root's last, each followed, when the registry did not
    /// index it, by a GET of its subject's tag-schema index (so that only its PUT is left for
    /// the step before the tags). The subjects need not be in the
    /// repository yet (distribution-spec 1.1), so `kiln build` runs this beside the image's
    /// own uploads. A registry refusing an artifact whose subject is an index (ECR:
    /// aws/containers-roadmap#2783) gets a note: the per-platform ones stand.
    package func push(to image: RegistryImage) async throws -> Pushed {
        async let config: Void = image.putSmall(Self.emptyConfig, as: Descriptor.of(Self.emptyConfig, mediaType: Self.emptyMediaType))
        async let statement: Void = image.putSmall(statementBytes, as: Descriptor.of(statementBytes, mediaType: Self.artifactType))
        try await config
        try await statement
        var pushed = Pushed()
        pushed.unlisted = try await withThrowingTaskGroup(of: (Int, ArtifactManifest, ReferrersIndex)?.self) { group in
            for (number, artifact) in artifacts.dropLast().enumerated() {
                group.addTask { try await Self.pushReadingIndex(artifact, to: image).map { (number, artifact, $0) } }
            }
            var unlisted: [(Int, ArtifactManifest, ReferrersIndex)] = []
            for try await case let found? in group { unlisted.append(found) }
            return unlisted.sorted { $0.0 < $1.0 }.map { ($0.1, $0.2) }
        }
        do {
            if let index = try await Self.pushReadingIndex(rootArtifact, to: image) { pushed.unlisted.append((rootArtifact, index)) }
        } catch RegistryError.unexpectedStatus(_, _, let status, _) where (400..<500).contains(status) {
            pushed.rootRefused = true
        }
        return pushed
    }

    /// Pushes one artifact. - Returns: its subject's tag-schema index, read after the push,
    /// when the registry did not index it; `nil` when it did.
    private static func pushReadingIndex(_ artifact: ArtifactManifest, to image: RegistryImage) async throws -> ReferrersIndex? {
        guard try await !push(artifact, to: image), let subject = artifact.subject else { return nil }
        return try await image.readSchemaIndex(of: subject.digest)
    }

    /// The second half, the one that must come before the image's tags: each subject's
    /// tag-schema index, as ``push(to:)`` read it, gets its artifact (one PUT; the root's last:
    /// nothing written when it is listed already). A root artifact
    /// refused in ``push(to:)`` is pushed again after `writingSubject` wrote the root by digest
    /// (without it, the refusal stands as the error it was).
    package func list(_ pushed: Pushed, in image: RegistryImage, writingSubject: (() async throws -> Void)?) async throws {
        var unlisted = pushed.unlisted
        if pushed.rootRefused {
            if let writingSubject { try await writingSubject() }
            if try await !Self.push(rootArtifact, to: image) { unlisted.append((rootArtifact, nil)) }
        }
        for (artifact, index) in unlisted {
            guard let subject = artifact.subject else { continue }
            try await image.listInSchemaIndex([artifact], subject: subject.digest, read: index)
        }
    }

    /// Pushes one artifact. - Returns: whether the registry indexed it; `true` also when the
    /// registry refused it because its subject is an index (noted).
    private static func push(_ artifact: ArtifactManifest, to image: RegistryImage) async throws -> Bool {
        guard let subject = artifact.subject else { return true }
        do {
            return try await image.pushReferrer(artifact)
        } catch RegistryError.unexpectedStatus(let host, _, let status, let message) where MediaType.indexes.contains(subject.mediaType) && (400..<500).contains(status) {
            image.transport.options.logger.notice("\(host) refused the provenance of index \(subject.digest) (HTTP \(status) \(message)); each platform manifest has its own")
            return true
        }
    }

    /// Whether the root artifact is listed among the image's referrers and served as it is.
    package func isListed(in image: RegistryImage, subject: Digest) async throws -> Bool {
        let digest = Digest.of(rootArtifact.raw)
        guard try await image.referrerDescriptors(of: subject).descriptors.contains(where: { $0.digest == digest }) else { return false }
        return try await image.hasManifest(digest)
    }
}
