import Foundation
import KilnDockerfile
import KilnLayer
import KilnSecrets
import KilnSpec
import KilnStore
import OCI

/// The parsers that read untrusted or semi-trusted text, one fuzz entry point each. A target
/// may throw (bad input is expected); it must never trap, hang or disagree with itself.
enum FuzzTargets {
    static let all: [String: @Sendable ([UInt8]) -> Void] = [
        "json": json,
        "reference": reference,
        "spec": spec,
        "lock": lock,
        "auth": auth,
        "overlay-path": overlayPath,
        "base-tree": baseTree,
        "layer-headers": layerHeaders,
        "dockerfile": dockerfile,
        "dockerignore": dockerignore,
        "archive-unpack": archiveUnpack,
        "image-archive": imageArchive,
        "referrers": referrers,
        "secrets": secrets,
        "task-definition": taskDefinition,
    ]

    /// Overlay files (from a pull request) through the secret scanner in every format: no trap,
    /// and the findings do not depend on how the bytes are split into chunks (the first byte
    /// picks a chunk size); messages never carry more than the key names and bounded text.
    static func secrets(_ bytes: [UInt8]) {
        let chunk = Int(bytes.first ?? 1) % 64 + 1
        for format: SecretScanner.Format in [.keyValue, .yaml, .json, .xml] {
            let whole = SecretScanner.scan(bytes, format: format)
            let scanner = SecretScanner(format: format)
            var start = 0
            while start < bytes.count {
                let end = min(bytes.count, start + chunk)
                bytes[start..<end].withUnsafeBytes { scanner.update($0) }
                start = end
            }
            precondition(scanner.finish() == whole, "findings depend on chunking")
            for finding in whole {
                precondition(finding.what.utf8.count < 400, "a finding's text is unbounded")
                _ = LocatedFinding(source: "f", target: .file("/f"), finding: finding).message
            }
        }
        let text = String(decoding: bytes, as: UTF8.self)
        _ = SecretScanner.scan(key: String(text.prefix(40)), value: text, kind: .environment)
    }

    /// ECS task definitions (`kiln render-taskdef FILE`): parsing never traps; no replacement
    /// gives the same bytes; replacing every image gives a file that parses to the same
    /// containers, each with the new image.
    static func taskDefinition(_ bytes: [UInt8]) {
        guard let definition = try? TaskDefinition(parsing: bytes, file: "fuzz.json") else { return }
        precondition(definition.replacingImages([:]) == bytes, "no replacement changed the file")
        let image = "registry.example/x@sha256:" + String(repeating: "a", count: 64)
        let replaced = definition.replacingImages(Dictionary(uniqueKeysWithValues: definition.containers.map { ($0.index, image) }))
        guard let again = try? TaskDefinition(parsing: replaced, file: "fuzz again") else {
            preconditionFailure("the rewritten task definition does not parse")
        }
        precondition(again.containers.count == definition.containers.count, "rewriting changed the containers")
        for (before, after) in zip(definition.containers, again.containers) {
            precondition(before.name == after.name && after.image == (before.image == nil ? nil : image), "rewriting changed another field")
        }
    }

    /// Referrers lists and artifact manifests from registries (API answers, schema indexes,
    /// signatures and attestations of any config type): parsing never traps, and adding an
    /// entry to a list keeps every entry it had, in order, and adds exactly one.
    static func referrers(_ bytes: [UInt8]) {
        if let artifact = try? ArtifactManifest(raw: bytes, what: "fuzz") { _ = artifact.referrerDescriptor.serialized() }
        guard let index = try? ReferrersIndex(raw: bytes, what: "fuzz") else { return }
        let digest = Digest.of([])
        let entry = JSONValue.object([("mediaType", .string(MediaType.ociManifest)), ("digest", .string(digest.description)), ("size", .integer(0))])
        let result: ReferrersIndex?
        do { result = try index.adding(entry, digest: digest) } catch { return }
        if let added = result {
            precondition(added.manifests.count == index.manifests.count + 1 && Array(added.manifests.prefix(index.manifests.count)) == index.manifests, "adding changed the list")
        } else {
            precondition(index.contains(digest), "nothing added, yet not listed")
        }
    }

    /// JSON documents (manifests, configs, indexes from registries): what parses serializes to
    /// bytes that parse to the same value.
    static func json(_ bytes: [UInt8]) {
        // A config's `created` (kiln outdated --max-age) is registry text too.
        _ = UTCTime.epochSeconds(rfc3339: String(decoding: bytes, as: UTF8.self))
        guard let value = try? JSONValue(parsing: bytes, what: "fuzz") else { return }
        if let created = value["created"]?.stringValue { _ = UTCTime.epochSeconds(rfc3339: created) }
        let again = try? JSONValue(parsing: value.serialized(), what: "fuzz again")
        precondition(again == value, "JSON round trip changed the value")
    }

    /// Image references from the command line and specs: a parsed reference prints as text that
    /// parses to the same reference.
    static func reference(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let parsed = try? ImageReference(parsing: text) else { return }
        let printed = parsed.description
        // A registry reference prints without its transport; layouts and archives print theirs.
        var isRegistry = false
        if case .registry = parsed { isRegistry = true }
        let reparsed = try? ImageReference(parsing: isRegistry ? "docker://" + printed : printed)
        precondition(reparsed == parsed, "reference '\(text)' printed as '\(printed)' does not parse back")
    }

    /// `images/*.yaml` from pull requests (the repository root does not exist: no file is read).
    static func spec(_ bytes: [UInt8]) {
        _ = try? ImageSpec.parse(String(decoding: bytes, as: UTF8.self), path: "fuzz.yaml", repositoryRoot: "/nonexistent/kiln-fuzz")
    }

    /// `kiln.lock`.
    static func lock(_ bytes: [UInt8]) {
        _ = try? LockFile.parse(Data(bytes), path: "fuzz.lock")
    }

    /// `WWW-Authenticate` headers from registries.
    static func auth(_ bytes: [UInt8]) {
        _ = AuthChallenge(header: String(decoding: bytes, as: UTF8.self))
    }

    /// Overlay flags and image paths: `SRC:DEST`, owners, modes, link targets. An accepted image
    /// path never climbs above the root.
    static func overlayPath(_ bytes: [UInt8]) {
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for line in lines {
            _ = try? Overlay(parsing: line)
            _ = try? Owner(parsing: line)
            _ = try? parseMode(line)
            if let path = try? ImagePath(absolute: line) {
                precondition(!path.components.contains("..") && !path.components.contains("."), "'\(line)' kept a dot component")
                for target in lines {
                    if let resolved = path.resolveLinkTarget(target) {
                        precondition(!resolved.components.contains(".."), "link target '\(target)' resolved with '..'")
                    }
                }
            }
        }
    }

    /// A lock's skeleton files (`kiln.lock.d/`, from pull requests) and the per-machine cache of
    /// layer changes: what parses serializes to bytes that parse to the same value, and a path
    /// resolves through any skeleton without trapping.
    static func baseTree(_ bytes: [UInt8]) {
        if let tree = try? BaseTree(parsing: bytes, what: "fuzz") {
            precondition((try? BaseTree(parsing: tree.serialized(), what: "again")) == tree, "skeleton round trip changed the tree")
            for (path, _) in tree.entries.prefix(64) { _ = try? tree.resolve(path.appending("x"), followingLast: true) }
        }
        if let changes = LayerChanges(parsing: bytes) {
            precondition(LayerChanges(parsing: changes.serialized()) == changes, "layer changes round trip changed them")
            _ = BaseTree().applying(changes).applying(changes)
        }
    }

    /// Base layers from untrusted registries (tar, gzip or zstd), read for their headers.
    static func layerHeaders(_ bytes: [UInt8]) {
        var offset = 0
        guard let changes = try? LayerHeaderReader.read(what: "fuzz", pull: {
            guard offset < bytes.count else { return nil }
            defer { offset += 4096 }
            return Array(bytes[offset..<min(bytes.count, offset + 4096)])
        }) else { return }
        for (path, _) in changes.changes { precondition(!path.components.contains(".."), "a layer path kept '..'") }
        _ = BaseTree().applying(changes)
    }

    /// An empty build context made once: COPY sources are looked up (and not found), wildcards
    /// walk it, nothing else on disk is named.
    nonisolated(unsafe) static let emptyContext: BuildContext? = {
        // One fixed, always empty directory: runs share it and leave nothing behind.
        let directory = NSTemporaryDirectory() + "kiln-fuzz-empty-context"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return try? BuildContext(directory: directory, ignore: DockerIgnore())
    }()

    /// Dockerfiles from pull requests: parsed twice the same way, then evaluated (base first,
    /// with a base config that sets a shell and variables) against an empty context.
    static func dockerfile(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let parsed = try? Dockerfile.parse(text, path: "fuzz/Dockerfile") else { return }
        precondition((try? Dockerfile.parse(text, path: "fuzz/Dockerfile"))?.instructions == parsed.instructions, "parsing is not deterministic")
        for instruction in parsed.instructions { precondition(instruction.line >= 1 && instruction.endLine >= instruction.line, "bad line numbers") }
        _ = try? parsed.base(buildArgs: ["A": "1", "VERSION": "2"])
        guard let context = emptyContext else { return }
        let base = DockerfileBaseConfig(env: ["PATH=/usr/bin", "HOME=/root", "A"], workingDir: "/srv", shell: [], onBuild: [], os: "linux")
        if let recipe = try? parsed.evaluate(context: context, baseConfig: base, buildArgs: ["A": "1", "UNUSED": "x"]) {
            precondition(recipe.overlays.allSatisfy { $0.makesDirectory || $0.source == context.root || $0.source.hasPrefix(context.root + "/") }, "a source outside the context")
        }
    }

    /// `.dockerignore` files: patterns compile and match a few paths without trapping.
    static func dockerignore(_ bytes: [UInt8]) {
        guard let rules = try? DockerIgnore(parsing: String(decoding: bytes, as: UTF8.self)) else { return }
        // (Cleaned patterns are not a fixed point: Go trims blanks before cleaning, so "x\u{0B}/"
        // keeps a trailing vertical tab that a second pass would trim. Only determinism is checked.)
        let deep = (1...60).map { "d\($0)" }.joined(separator: "/") + "/file.txt"
        for path in ["a", "docs/README.md", "node_modules/x/y.js", ".git/config", "a/b/c/d/e/f.txt", ".", "..", "/", deep] {
            precondition(rules.excludes(path) == rules.excludes(path), "matching is not deterministic")
        }
    }

    /// ADD's local archives (from a pull request's build context): unpacked into a fresh
    /// directory, which must then hold nothing but what the result names, and no symlink on the
    /// way to any of it.
    static func archiveUnpack(_ bytes: [UInt8]) {
        let base = NSTemporaryDirectory() + "kiln-fuzz-unpack-\(getpid())"
        try? FileManager.default.removeItem(atPath: base)
        defer { try? FileManager.default.removeItem(atPath: base) }
        guard (try? FileManager.default.createDirectory(atPath: base + "/out", withIntermediateDirectories: true)) != nil,
              FileManager.default.createFile(atPath: base + "/archive", contents: Data(bytes)) else { return }
        guard let recorded = try? ArchiveUnpacker.unpack(base + "/archive", into: base + "/out", what: "fuzz", quote: { UntrustedText.excerpt($0) }, maximumBytes: 1 << 24) else { return }
        for path in recorded.keys {
            precondition(!path.split(separator: "/").contains(".."), "unpacked path '\(path)' climbs")
            let parts = path.split(separator: "/").map(String.init)
            for depth in 1..<max(parts.count, 1) {
                let ancestor = base + "/out/" + parts[..<depth].joined(separator: "/")
                let type = (try? FileManager.default.attributesOfItem(atPath: ancestor))?[.type] as? FileAttributeType
                precondition(type == nil || type == .typeDirectory, "'\(path)' lies below a non-directory")
            }
        }
    }

    /// Image archives for `kiln docker load` (docker-archive or OCI archive, any tar): read
    /// from a file, never trapping; every image read has its layers' ranges inside the spool.
    static func imageArchive(_ bytes: [UInt8]) {
        let base = NSTemporaryDirectory() + "kiln-fuzz-image-archive-\(getpid())"
        guard FileManager.default.createFile(atPath: base, contents: Data(bytes)), let handle = FileHandle(forReadingAtPath: base) else { return }
        defer {
            try? handle.close()
            try? FileManager.default.removeItem(atPath: base)
        }
        guard let archive = try? ImageArchiveReader.read(fd: handle.fileDescriptor, what: "fuzz", spoolDirectory: nil) else { return }
        for image in archive.images {
            for layer in image.layers { precondition(layer.start + layer.descriptor.size <= archive.spool.size, "a layer outside the spool") }
        }
    }
}
