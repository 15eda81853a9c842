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
        var digests: [FileSource: [UInt8]] = [:]
        var findingsOf: [FileSource: [SecretFinding]] = [:]
        var located: [LocatedFinding] = []
        let names = SourceNames(request)
        for list in entries?.distinct ?? [] {
            for entry in list {
                guard case .file(let source, let size) = entry.kind else { continue }
                if digests[source] == nil {
                    let scanner = SecretScanner(fileName: source.components.last ?? "")
                    digests[source] = try LayerBuilder.readFile(source, size: size) { scanner.update($0) }
                    findingsOf[source] = scanner.finish()
                }
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
        case .warn:
            for item in refused { logger.warning("\(item.message)") }
            return digests
        }
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
