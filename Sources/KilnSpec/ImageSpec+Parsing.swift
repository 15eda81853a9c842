import Foundation
import KilnDockerfile
import KilnRecipe
import KilnLayer
import KilnStore
import OCI
import KilnSecrets
import Yams

extension ImageSpec {
    /// Reads and validates `images/NAME.yaml`.
    ///
    /// - Parameters:
    ///   - path: the spec file.
    ///   - repositoryRoot: overlay `from` paths are relative to it and must stay inside it.
    /// - Throws: ``SpecError`` naming the file, the line and the key for unknown keys, wrong
    ///   types, bad references and overlays outside the repository.
    package static func load(path: String, repositoryRoot: String) throws -> ImageSpec {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SpecError(location: path, message: "cannot read the spec")
        }
        return try parse(text, path: path, repositoryRoot: repositoryRoot)
    }

    /// Parses spec text; `path` names the file in errors and gives the image its name.
    package static func parse(_ text: String, path: String, repositoryRoot: String) throws -> ImageSpec {
        var reader = SpecReader(path: path, repositoryRoot: repositoryRoot)
        return try reader.read(text)
    }
}

/// Walks the YAML node tree, remembering where each value stands for error messages.
private struct SpecReader {
    let path: String
    let repositoryRoot: String

    func fail(_ node: Node?, _ key: String, _ message: String) -> SpecError {
        let line = node?.mark.map { ":\($0.line)" } ?? ""
        return SpecError(location: path + line, message: key.isEmpty ? message : "\(key): \(message)")
    }

    func string(_ node: Node, _ key: String) throws -> String {
        guard case .scalar(let scalar) = node else { throw fail(node, key, "must be a string") }
        return scalar.string
    }

    func strings(_ node: Node, _ key: String) throws -> [String] {
        guard let sequence = node.sequence else { throw fail(node, key, "must be a list of strings") }
        return try sequence.enumerated().map { try string($1, "\(key)[\($0)]") }
    }

    /// A mapping of string keys to string values, in the file's order. Values are taken as
    /// written: `off` stays the string "off" (YAML 1.1 would make it a boolean).
    func stringMap(_ node: Node, _ key: String) throws -> [(key: String, value: String)] {
        guard let mapping = node.mapping else { throw fail(node, key, "must map names to strings") }
        return try mapping.map { (try string($0.key, key), try string($0.value, "\(key).\($0.key.string ?? "?")")) }
    }

    func mapping(_ node: Node, _ key: String, allowed: [String]) throws -> [(key: String, node: Node, keyNode: Node)] {
        guard let mapping = node.mapping else { throw fail(node, key, "must be a mapping") }
        return try mapping.map { entry in
            let name = try string(entry.key, key)
            let full = key.isEmpty ? name : "\(key).\(name)"
            guard allowed.contains(name) else {
                throw fail(entry.key, full, "unknown key (known: \(allowed.joined(separator: ", ")))")
            }
            return (name, entry.value, entry.key)
        }
    }

    mutating func read(_ text: String) throws -> ImageSpec {
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch let error as YamlError {
            throw SpecError(location: path, message: "not valid YAML (\(String(describing: error).split(separator: "\n").first ?? ""))")
        }
        guard let root else { throw SpecError(location: path, message: "the spec is empty") }
        let fields = try mapping(root, "", allowed: ["base", "platforms", "target", "targets", "tags", "overlays", "remove", "config", "compression", "mtime", "dockerfile", "context", "build-args", "allow-secrets", "container"])
        func field(_ name: String) -> (node: Node, keyNode: Node)? { fields.first { $0.key == name }.map { ($0.node, $0.keyNode) } }

        var dockerfile: SpecDockerfile?
        let base: ImageReference
        var fromPlatform: String?
        if let dockerfileNode = field("dockerfile")?.node {
            for key in ["base", "overlays", "remove", "config"] {
                if let (node, _) = field(key) { throw fail(node, key, "comes from the Dockerfile: a spec names either a dockerfile or base, overlays, remove and config") }
            }
            let (read, from) = try readDockerfile(dockerfileNode, context: field("context")?.node, buildArgs: field("build-args")?.node)
            dockerfile = read
            fromPlatform = from.platform
            do { base = try ImageReference(parsing: from.image) } catch let error as StoreError {
                throw fail(dockerfileNode, "dockerfile", "FROM (line \(from.line)): \(error)")
            }
            // After the build args: `FROM oci:${DIR}` is contained like any layout of a spec.
            if let outside = outsideRepository(base) {
                throw fail(dockerfileNode, "dockerfile", "FROM (line \(from.line)): \(outside)")
            }
        } else {
            for key in ["context", "build-args"] {
                if let (node, _) = field(key) { throw fail(node, key, "applies to a spec with 'dockerfile'") }
            }
            guard let baseNode = field("base")?.node else { throw fail(root, "base", "missing (the image to build on)") }
            do { base = try ImageReference(parsing: try string(baseNode, "base")) } catch let error as StoreError {
                throw fail(baseNode, "base", "\(error)")
            }
            if let outside = outsideRepository(base) { throw fail(baseNode, "base", outside) }
        }
        if case .archive = base { throw fail(field("base")?.node ?? field("dockerfile")?.node, "base", "\(StoreError.archiveIsOutputOnly(base.description))") }

        var targets: [ImageReference] = []
        if let targetNode = field("target")?.node { targets.append(try readTarget(targetNode, key: "target")) }
        if let (listNode, _) = field("targets") {
            guard let sequence = listNode.sequence, !sequence.isEmpty else { throw fail(listNode, "targets", "must be a non-empty list of repositories") }
            // Each target is asked and written at once: a spec from a pull request may not open
            // thousands of connections (ECR has about 30 regions; 256 is room for many accounts).
            // `target:` beside the list counts too.
            let total = sequence.count + targets.count
            guard total <= ImageSpec.maxTargets else {
                throw fail(listNode, "targets", "lists \(total) repositories\(targets.isEmpty ? "" : " with target:"); at most \(ImageSpec.maxTargets)")
            }
            for (index, node) in sequence.enumerated() { targets.append(try readTarget(node, key: "targets[\(index)]")) }
        }
        guard !targets.isEmpty else { throw fail(root, "target", "missing (a repository or oci:DIR)") }
        if targets.count > 1 {
            // One derived image pushed to several registries: a layout is a local copy, not a
            // place to fan out to (kiln build --output oci:DIR writes one per spec).
            let node = field("targets")?.node
            var seen = Set<String>()
            for candidate in targets {
                guard case .registry(let registry) = candidate else {
                    throw fail(node, "targets", "'\(candidate)': with several targets every one must be a registry repository, not a layout")
                }
                // One repository spelled twice (`Example.com`, `example.com.`, port `05000`) would
                // be written by two uploads at once, racing on its tags.
                guard seen.insert(registry.repositoryIdentity).inserted else {
                    throw fail(node, "targets", "'\(registry.name)' is named twice")
                }
            }
        }

        var platforms = PlatformSelection.all
        // FROM --platform chooses the base's platform when the spec does not.
        if let fromPlatform, let node = field("dockerfile")?.node {
            do { platforms = .only([try Platform(parsing: fromPlatform)]) } catch let error as OCIError {
                throw fail(node, "dockerfile", "FROM --platform: \(error)")
            }
        }
        if let node = field("platforms")?.node {
            let texts = try strings(node, "platforms")
            do { platforms = .only(try texts.map { try Platform(parsing: $0) }) } catch let error as OCIError {
                throw fail(node, "platforms", "\(error)")
            }
        }

        var tags: [String] = []
        if let node = field("tags")?.node {
            tags = try strings(node, "tags")
            if let bad = tags.first(where: { !LayoutReference.isValidTag($0) }) {
                throw fail(node, "tags", "'\(bad)' is not a valid tag")
            }
            if let bad = tags.first(where: ReferrersTagSchema.collides) {
                throw fail(node, "tags", "'\(bad)' has the shape of the referrers tag schema (<alg>-<hex>), where signatures and attestations live")
            }
            // A target in the base's own repository, tagged with the base's own tag: a build
            // would replace the base with the image made from it (and the next lock would build
            // on that).
            if let (baseTag, baseRepository) = Self.taggedRepository(base) {
                for target in targets where Self.taggedRepository(target)?.repository == baseRepository && tags.contains(baseTag) {
                    let name: String = switch target {
                    case .registry(let registry): registry.name
                    case .layout(let layout): "oci:\(layout.directory)"
                    case .archive: "\(target)"
                    }
                    throw fail(node, "tags", "'\(baseTag)' is the base's own tag, and \(name) the base's repository: building would replace the base with the image made from it")
                }
            }
        }

        var overlays: [Overlay] = []
        if let node = field("overlays")?.node {
            guard let items = node.sequence else { throw fail(node, "overlays", "must be a list") }
            for (index, item) in items.enumerated() {
                overlays.append(try overlay(item, key: "overlays[\(index)]"))
            }
        }

        var removals: [ImagePath] = []
        if let node = field("remove")?.node {
            for (index, text) in try strings(node, "remove").enumerated() {
                do { removals.append(try ImagePath(absolute: text)) } catch let error as LayerError {
                    throw fail(node, "remove[\(index)]", "\(error)")
                }
            }
        }

        var edits = ConfigEdits()
        if let node = field("config")?.node {
            for entry in try mapping(node, "config", allowed: ["env", "labels", "user", "workdir", "entrypoint", "cmd"]) {
                let key = "config.\(entry.key)"
                switch entry.key {
                case "env":
                    edits.env = try stringMap(entry.node, key)
                    if let bad = edits.env.first(where: { $0.key.isEmpty || $0.key.contains("=") }) {
                        throw fail(entry.node, key, "'\(bad.key)' is not a variable name")
                    }
                case "labels": edits.labels = try stringMap(entry.node, key)
                case "user": edits.user = try string(entry.node, key)
                case "workdir":
                    edits.workingDir = try string(entry.node, key)
                    if edits.workingDir?.hasPrefix("/") != true { throw fail(entry.node, key, "must be an absolute path") }
                case "entrypoint": edits.entrypoint = try strings(entry.node, key)
                default: edits.cmd = try strings(entry.node, key)
                }
            }
        }

        var compression = LayerCompression.storedGzip
        if let node = field("compression")?.node {
            let text = try string(node, "compression")
            guard let chosen = LayerCompression(rawValue: text) else {
                throw fail(node, "compression", "'\(text)' is not one of \(LayerCompression.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            compression = chosen
        }

        var entryTimes = EntryTimes.content
        if let node = field("mtime")?.node {
            // Specs ignore SOURCE_DATE_EPOCH (spec and lock are the whole input): epoch is 0.
            do { entryTimes = try EntryTimes(parsing: try string(node, "mtime"), epoch: 0) } catch let error as LayerError {
                throw fail(node, "mtime", "\(error)")
            }
        }

        var allowSecrets: Set<String> = []
        if let node = field("allow-secrets")?.node {
            for (index, text) in try strings(node, "allow-secrets").enumerated() {
                do { allowSecrets.formUnion(try SecretPolicy.fingerprints(parsing: text, what: "fingerprint")) } catch let error as SecretPolicyError {
                    throw fail(node, "allow-secrets[\(index)]", error.description)
                }
            }
        }
        var container: String?
        if let node = field("container")?.node {
            let text = try string(node, "container")
            guard ImageSpec.isValidContainerName(text) else {
                throw fail(node, "container", "'\(UntrustedText.excerpt(text))' is not an ECS container name (1 to 255 letters, digits, hyphens and underscores)")
            }
            container = text
        }

        let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        return ImageSpec(name: name, path: path, base: base, platforms: platforms, targets: targets, tags: tags,
                         overlays: overlays, removals: removals, edits: edits, compression: compression, entryTimes: entryTimes,
                         dockerfile: dockerfile, allowSecrets: allowSecrets, repositoryRoot: FileFacts.realPath(repositoryRoot) ?? repositoryRoot, container: container)
    }

    /// One target: a registry repository without tag or digest, or a layout directory inside
    /// the repository.
    func readTarget(_ node: Node, key: String) throws -> ImageReference {
        let text = try string(node, key)
        let target: ImageReference
        do { target = try ImageReference(parsing: text) } catch let error as StoreError {
            throw fail(node, key, "\(error)")
        }
        switch target {
        case .registry(let reference):
            let lastComponent = text.split(separator: "/").last ?? ""
            guard reference.digest == nil, !lastComponent.contains(":") else {
                throw fail(node, key, "must name a repository without tag or digest; list tags under 'tags'")
            }
        case .layout(let layout):
            guard layout.tag == nil, layout.digest == nil else {
                throw fail(node, key, "must name a layout directory without tag; list tags under 'tags'")
            }
            if let outside = outsideRepository(target) { throw fail(node, key, outside) }
        case .archive:
            // An archive is a local artifact of one build (kiln build --output docker-archive:DIR).
            throw fail(node, key, "must be a repository or oci:DIR, not an archive (kiln build --output docker-archive:DIR writes archives)")
        }
        return target
    }

    /// `dockerfile`, `context` and `build-args`: both paths inside the repository (links
    /// resolved, as overlay sources are), the Dockerfile read and its FROM expanded.
    func readDockerfile(_ node: Node, context contextNode: Node?, buildArgs argsNode: Node?) throws -> (SpecDockerfile, DockerfileBase) {
        let text = try string(node, "dockerfile")
        guard let path = try containedPath(text, node: node, key: "dockerfile") else { throw fail(node, "dockerfile", "'\(text)' does not exist") }
        var directory = (path as NSString).deletingLastPathComponent
        if let contextNode {
            let contextText = try string(contextNode, "context")
            guard let real = try containedPath(contextText, node: contextNode, key: "context") else { throw fail(contextNode, "context", "'\(contextText)' does not exist") }
            directory = real
        }
        var buildArgs: [String: String] = [:]
        if let argsNode { for (key, value) in try stringMap(argsNode, "build-args") { buildArgs[key] = value } }
        do {
            let dockerfile = try Dockerfile.load(path: path, name: text)
            let from = try dockerfile.base(buildArgs: buildArgs)
            guard !from.isScratch else { throw fail(node, "dockerfile", "FROM scratch: kiln adds a layer to a base image; name one") }
            let context = try BuildContext(directory: directory, dockerfile: path)
            return (SpecDockerfile(dockerfile: dockerfile, context: context, buildArgs: buildArgs, path: path), from)
        } catch let error as DockerfileError {
            throw SpecError(location: self.path, message: "\(error)")
        }
    }

    /// `text` relative to the repository root, resolved as the kernel opens it; `nil` when it
    /// does not exist.
    /// - Throws: when it is absolute or outside the repository.
    func containedPath(_ text: String, node: Node, key: String) throws -> String? {
        guard !text.hasPrefix("/") else { throw fail(node, key, "must be relative to the repository root") }
        let root = FileFacts.realPath(repositoryRoot) ?? repositoryRoot
        guard let real = FileFacts.realPath("\(repositoryRoot)/\(text)") else { return nil }
        guard real == root || real.hasPrefix(root == "/" ? "/" : root + "/") else { throw fail(node, key, "'\(text)' is outside the repository") }
        return real
    }

    /// Why a layout a spec names (`base`, a Dockerfile's FROM, `target`) may not be used, or `nil`
    /// when it is inside the repository (or not a layout). Specs come from pull requests, so
    /// their layouts are contained like overlays: `oci:DIR` is opened as written (relative to
    /// the working directory, as on the command line), so DIR is resolved as the kernel opens it
    /// (symlinks, then `..`) and must be inside the repository root. A DIR that does not exist
    /// yet (a new target) is resolved up to its deepest existing ancestor, and the rest may not
    /// climb (`..`) or pass a dangling link. The layout's own files are then read without
    /// following links (`OCILayout`).
    func outsideRepository(_ reference: ImageReference) -> String? {
        guard case .layout(let layout) = reference else { return nil }
        let root = FileFacts.realPath(repositoryRoot) ?? repositoryRoot
        guard let real = Self.resolvedLocation(layout.directory),
              real == root || real.hasPrefix(root == "/" ? "/" : root + "/") else {
            return "'\(UntrustedText.excerpt(reference.description))' is outside the repository (a spec's layouts must be inside it, like its overlays)"
        }
        return nil
    }

    /// Where `path` leads when opened or created from the working directory: its real path, or
    /// for a path not there yet its deepest existing ancestor's real path and the missing names;
    /// `nil` when the missing names climb (`..`) or start at something that exists but does not
    /// resolve (a dangling link).
    static func resolvedLocation(_ path: String) -> String? {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        if let real = FileFacts.realPath(absolute) { return real }
        var missing: [String] = []
        var current = absolute
        while let slash = current.lastIndex(of: "/") {
            missing.insert(String(current[current.index(after: slash)...]), at: 0)
            current = String(current[..<slash])
            guard let real = FileFacts.realPath(current.isEmpty ? "/" : current) else { continue }
            let names = missing.filter { !$0.isEmpty && $0 != "." }
            guard !names.contains(".."), let first = names.first else { return names.isEmpty ? real : nil }
            if (try? FileFacts.read("\(real)/\(first)")) != nil { return nil }
            return ([real == "/" ? "" : real] + names).joined(separator: "/")
        }
        return nil
    }

    /// One `overlays` entry; `from` must stay inside the repository, also after symlinks.
    func overlay(_ node: Node, key: String) throws -> Overlay {
        let entries = try mapping(node, key, allowed: ["from", "to", "owner", "mode"])
        func value(_ name: String) throws -> (String, Node)? {
            try entries.first { $0.key == name }.map { (try string($0.node, "\(key).\(name)"), $0.node) }
        }
        guard let (from, fromNode) = try value("from") else { throw fail(node, "\(key).from", "missing") }
        guard let (to, toNode) = try value("to") else { throw fail(node, "\(key).to", "missing") }
        // Resolved as the kernel will open it (symlinks first, then `..`), never lexically:
        // `overlays/l/../passwd` with `overlays/l -> /etc/ssl` is /etc/passwd. The overlay
        // reads exactly the path that was checked.
        let source: String
        if let real = try containedPath(from, node: fromNode, key: "\(key).from") {
            source = real
        } else {
            // Missing: the scanner names it; `..` may not climb out meanwhile.
            guard !from.split(separator: "/").contains("..") else {
                throw fail(fromNode, "\(key).from", "'\(from)' is outside the repository")
            }
            source = "\(repositoryRoot)/\(from)"
        }
        let destination: ImagePath
        do { destination = try ImagePath(absolute: to) } catch let error as LayerError {
            throw fail(toNode, "\(key).to", "\(error)")
        }
        var owner: OwnerSpec?
        if let (text, ownerNode) = try value("owner") {
            do { owner = try OwnerSpec(parsing: text) } catch let error as LayerError { throw fail(ownerNode, "\(key).owner", "\(error)") }
        }
        var mode: UInt32?
        if let (text, modeNode) = try value("mode") {
            do { mode = try parseMode(text) } catch let error as LayerError { throw fail(modeNode, "\(key).mode", "\(error)") }
        }
        return Overlay(source: source, destination: destination, owner: owner, mode: mode, intoDirectory: to.hasSuffix("/"))
    }

    /// A reference's tag (`latest` when it names none) and the repository it is in, as the
    /// network or the file system sees it; `nil` for one by digest alone or an archive.
    static func taggedRepository(_ reference: ImageReference) -> (tag: String, repository: String)? {
        switch reference {
        case .registry(let registry):
            guard registry.tag != nil || registry.digest == nil else { return nil }
            return (registry.tag ?? "latest", "registry \(registry.repositoryIdentity)")
        case .layout(let layout):
            guard layout.tag != nil || layout.digest == nil else { return nil }
            return (layout.tag ?? "latest", "layout \(URL(fileURLWithPath: layout.directory).standardizedFileURL.path)")
        case .archive:
            return nil
        }
    }
}
