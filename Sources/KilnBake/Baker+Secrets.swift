import Foundation
import KilnLayer
import KilnSecrets

extension Baker {
    /// Scans everything the bake adds for secrets, before the destination is touched: every
    /// regular file of the new layer (each read once, in the pass that hashes it for the layer:
    /// its digest goes to ``LayerBuilder/knownDigests``, so the layer reads it only to copy it)
    /// and every Env and Labels value kiln sets.
    ///
    /// The layer streams into the destination as it is built, so the content hashing that used
    /// to happen per file while writing moves here, ahead of any write: a finding leaves the
    /// destination untouched.
    ///
    /// - Returns: the SHA-256 of each file read.
    /// - Throws: ``SecretsRefused`` listing every finding the policy does not allow.
    func checkSecrets(_ request: BakeRequest, entries: LayerEntries?) throws -> [FileSource: [UInt8]] {
        // Off: the layer hashes each file itself, as before the scan existed.
        if request.secrets.mode == .off { return [:] }
        var located: [LocatedFinding] = []
        let names = SourceNames(request)
        // Each file once, on every core: the files are independent, and the hashing moved here
        // from the layer's own loop.
        var files: [(source: FileSource, size: Int64)] = []
        var seen: Set<FileSource> = []
        for list in entries?.distinct ?? [] {
            for entry in list {
                if case .file(let source, let size) = entry.kind, seen.insert(source).inserted { files.append((source, size)) }
            }
        }
        let results = FileScans(count: files.count)
        let toRead = files
        DispatchQueue.concurrentPerform(iterations: toRead.count) { number in
            let file = toRead[number]
            let scanner = SecretScanner(fileName: file.source.components.last ?? "")
            results.set(number, Result {
                let digest = try LayerBuilder.readFile(file.source, size: file.size) { scanner.update($0) }
                return (digest, scanner.finish())
            })
        }
        var digests: [FileSource: [UInt8]] = [:]
        var findingsOf: [FileSource: [SecretFinding]] = [:]
        for (number, file) in files.enumerated() {
            let (digest, findings) = try results.get(number)
            digests[file.source] = digest
            findingsOf[file.source] = findings
        }
        for list in entries?.distinct ?? [] {
            for entry in list {
                guard case .file(let source, _) = entry.kind else { continue }
                for finding in findingsOf[source] ?? [] {
                    let item = LocatedFinding(source: names.name(of: source), target: .file(entry.path.description), finding: finding)
                    if !located.contains(item) { located.append(item) }
                }
            }
        }
        for (key, value) in request.edits.env {
            for finding in SecretScanner.scan(key: key, value: value, kind: .environment) {
                located.append(LocatedFinding(source: request.configOrigin ?? "--env \(key)", target: .environment(key), finding: finding))
            }
        }
        for (key, value) in request.edits.labels {
            for finding in SecretScanner.scan(key: key, value: value, kind: .label) {
                located.append(LocatedFinding(source: request.configOrigin ?? "--label \(key)", target: .label(key), finding: finding))
            }
        }
        let refused = request.secrets.refused(located)
        guard !refused.isEmpty else { return digests }
        switch request.secrets.mode {
        case .refuse:
            throw SecretsRefused(refused)
        case .warn, .off:
            for item in refused { logger.warning("\(item.message)") }
            return digests
        }
    }
}

/// The outcome of each file's read, written by one worker each (distinct slots, then read
/// after all workers finished).
private final class FileScans: @unchecked Sendable {
    typealias Outcome = Result<([UInt8], [SecretFinding]), Error>?
    private let slots: UnsafeMutableBufferPointer<Outcome>

    init(count: Int) {
        slots = .allocate(capacity: count)
        slots.initialize(repeating: nil)
    }

    deinit {
        slots.deinitialize()
        slots.deallocate()
    }

    /// Called once per slot, from any thread: slots are memory of their own, not a property
    /// the workers share.
    func set(_ number: Int, _ result: Result<([UInt8], [SecretFinding]), Error>) { slots[number] = result }

    func get(_ number: Int) throws -> ([UInt8], [SecretFinding]) {
        guard let result = slots[number] else { throw LayerError.archive("internal: a file was not scanned") }
        return try result.get()
    }
}

/// Names overlay files as the user named them: the overlay's source as given (or the name the
/// request gives it) and the path below it; relative to the working directory when below it.
private struct SourceNames {
    private var roots: [(real: String, name: String)] = []
    private let workingDirectory = FileManager.default.currentDirectoryPath

    init(_ request: BakeRequest) {
        for overlay in request.overlays {
            let real = URL(fileURLWithPath: overlay.source).resolvingSymlinksInPath().path
            roots.append((real, request.sourceNames[overlay.source] ?? overlay.source))
        }
    }

    func name(of source: FileSource) -> String {
        let path = source.description
        var name = path
        for root in roots {
            if path == root.real { name = root.name; break }
            if path.hasPrefix(root.real.hasSuffix("/") ? root.real : root.real + "/") {
                let below = path.dropFirst(root.real.count).drop { $0 == "/" }
                name = (root.name.hasSuffix("/") ? root.name : root.name + "/") + below
                break
            }
        }
        let base = workingDirectory.hasSuffix("/") ? workingDirectory : workingDirectory + "/"
        if name.hasPrefix(base) { name = String(name.dropFirst(base.count)) }
        if name.hasPrefix("./") { name = String(name.dropFirst(2)) }
        return name
    }
}
