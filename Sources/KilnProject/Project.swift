import KilnRecipe
import Foundation
import KilnBake
import KilnDockerfile
import KilnLayer
import KilnSecrets
import KilnSpec
import KilnStore

/// A repository of image specs: `images/NAME.yaml`, the overlay trees they name, and
/// `kiln.lock`. Every spec-driven command (lock, plan, build, verify) starts here.
package struct Project: Sendable {
    /// The repository root: overlay paths in specs are relative to it.
    package var root: String
    package var lockPath: String

    package init(root: String, lockPath: String? = nil) {
        self.root = root
        self.lockPath = lockPath ?? (root as NSString).appendingPathComponent("kiln.lock")
    }

    /// The spec files to work on: the ones given, else every `images/*.yaml`, by name.
    /// - Throws: when a given file does not exist, or there are no specs at all.
    package func specPaths(_ given: [String]) throws -> [String] {
        if !given.isEmpty {
            for path in given where !FileManager.default.fileExists(atPath: path) {
                throw SpecError(location: path, message: "no such spec file")
            }
            try given.forEach(Self.checkName)
            return given
        }
        let directory = (root as NSString).appendingPathComponent("images")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let specs = names.filter { $0.hasSuffix(".yaml") }.sorted().map { (directory as NSString).appendingPathComponent($0) }
        guard !specs.isEmpty else { throw SpecError(location: directory, message: "no image specs (*.yaml) here") }
        try specs.forEach(Self.checkName)
        // A spec of a pull request may be a link (or `images` one): it must lead to a file of
        // the repository, or a link to ~/.aws/credentials would be read and quoted in an error.
        let realRoot = FileFacts.realPath(root) ?? root
        for spec in specs {
            guard let real = FileFacts.realPath(spec), real.hasPrefix(realRoot.hasSuffix("/") ? realRoot : realRoot + "/") else {
                throw SpecError(location: spec, message: "leads outside the repository (a link?); a spec must be a file inside it")
            }
        }
        return specs
    }

    /// A spec's name (its file name without `.yaml`) comes from a pull request and starts the
    /// lines of `plan`, `lock` and `build`: a newline in it would forge a line
    /// (`web REPO@sha256:…` under another spec's name), a blank would shift its fields
    /// (``SpecName``).
    static func checkName(_ path: String) throws {
        let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        guard SpecName.isAcceptable(name) else {
            throw SpecError(location: UntrustedText.excerpt(path, limit: 200),
                            message: "a spec's name (its file name) may not be empty or hold blanks, control or invisible characters: it starts the lines kiln prints")
        }
    }

    /// Loads and validates the specs; two specs may not share a name.
    package func loadSpecs(_ given: [String]) throws -> [ImageSpec] {
        let specs = try specPaths(given).map { try ImageSpec.load(path: $0, repositoryRoot: root) }
        var seen = Set<String>()
        for spec in specs where !seen.insert(spec.name).inserted {
            throw SpecError(location: spec.path, message: "another spec is also named '\(spec.name)'")
        }
        return specs
    }

    /// - Parameter upgrading: also read a version-1 lock, for `kiln lock` to upgrade.
    package func loadLock(upgrading: Bool = false) throws -> LockFile { try LockFile.load(path: lockPath, upgrading: upgrading) }

    /// Writes the lock atomically: a reader never sees half a file. Its skeleton files go first
    /// (named by digest; one already there with other bytes is rewritten), then the lock; files
    /// no lock entry names any more are removed last.
    package func saveLock(_ lock: LockFile) throws {
        let directory = LockFile.treeDirectory(ofLock: lockPath)
        let files = lock.treeFiles()
        if !files.isEmpty { _ = try FileIO.makeDirectories(directory) }
        for (name, bytes) in files where FileManager.default.contents(atPath: "\(directory)/\(name)") != Data(bytes) {
            try FileIO.writeAtomically(bytes, to: "\(directory)/\(name)", in: directory)
        }
        try FileIO.writeAtomically(Array(lock.serialized()), to: lockPath)
        let present = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in present where name.hasPrefix("sha256-") && name.hasSuffix(".jsonl") && files[name] == nil {
            try? FileManager.default.removeItem(atPath: "\(directory)/\(name)")
        }
    }

    /// The lock entry a spec builds from.
    /// - Throws: a one-line error when the spec has no entry or changed since it was locked.
    package func lockedEntry(for spec: ImageSpec, in lock: LockFile) throws -> LockFile.Entry {
        guard let entry = lock.entries[spec.name] else {
            throw SpecError(location: spec.path, message: "not in \(lockPath); run kiln lock")
        }
        if let change = Project.change(of: spec, since: entry) {
            throw SpecError(location: spec.path, message: "\(change) since it was locked; run kiln lock")
        }
        // The lock comes from pull requests too, and build reads the base from `pinned`: it
        // must be the spec's base (the layout the spec checked, or its repository) by digest.
        guard Project.pins(entry.pinned, spec.base) else {
            throw SpecError(location: spec.path, message: "the lock pins another image than \(spec.base) by digest; run kiln lock")
        }
        return entry
    }

    /// What changed in the spec since `entry` was recorded, if anything the lock depends on.
    /// (Overlays, config edits, `compression` and `mtime` change the planned digest, not what
    /// the lock holds: they need no relock.)
    static func change(of spec: ImageSpec, since entry: LockFile.Entry) -> String? {
        if entry.base != spec.base.description { return "base changed from \(entry.base) to \(spec.base)" }
        if entry.platforms != spec.platforms.text { return "platforms changed from \(entry.platforms) to \(spec.platforms.text)" }
        return nil
    }

    /// Whether `pinned` names the image `base` names, by digest: the same layout directory, or
    /// the same registry and repository.
    static func pins(_ pinned: String, _ base: ImageReference) -> Bool {
        switch (try? ImageReference(parsing: pinned), base) {
        case (.layout(let pinned)?, .layout(let base)): return pinned.digest != nil && pinned.directory == base.directory
        case (.registry(let pinned)?, .registry(let base)): return pinned.digest != nil && pinned.registry == base.registry && pinned.repository == base.repository
        default: return false
        }
    }
}

extension ImageSpec {
    /// The bake this spec describes, from `base` (the locked, digest-pinned base) to `output`.
    /// Spec-driven bakes ignore `SOURCE_DATE_EPOCH`: the spec and the lock are the whole input,
    /// so `plan` in an IaC synth and `build` in CI agree wherever they run.
    /// A spec naming a Dockerfile is evaluated against the locked base's config (`snapshot`).
    func request(base: ImageReference, output: ImageReference, snapshot: BaseSnapshot) async throws -> BakeRequest {
        var request = BakeRequest(base: base, output: output, overlays: overlays, removals: removals, edits: edits, platforms: platforms,
                                  compression: compression, entryTimes: entryTimes)
        request.configOrigin = path
        request.secrets.allowed = allowSecrets
        if let dockerfile {
            let recipe = try await dockerfile.recipe(for: self, snapshot: snapshot)
            request.overlays = recipe.overlays
            request.edits = recipe.edits
            request.configOrigin = recipe.path
        }
        // Findings name files as the spec does: relative to the repository root.
        let prefix = repositoryRoot.hasSuffix("/") ? repositoryRoot : repositoryRoot + "/"
        for overlay in request.overlays where !repositoryRoot.isEmpty && overlay.source.hasPrefix(prefix) {
            request.sourceNames[overlay.source] = String(overlay.source.dropFirst(prefix.count))
        }
        return request
    }
}
