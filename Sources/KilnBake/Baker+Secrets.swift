import Foundation
import KilnLayer
import KilnSecrets

/// One bake's secret scan and the new layers built beside it, on threads of their own, started
/// by ``Baker/startScan(_:entries:keeping:)``: the scan's readers (``OverlayReads``) and one
/// thread building the layers, file by file as the readers hand over each file's digest, into
/// ``spools`` (one per distinct entry list, in order). Nothing of it reaches a destination:
/// the bake drains a spool into one only after ``Baker/passScan(_:_:entries:)`` returned.
final class ScanRun: Sendable {
    let reads: OverlayReads
    /// One per distinct entry list (``LayerEntries/distinct``), in order.
    let spools: [LayerSpool]
    /// The Env and Labels values' findings (no reads: found at once).
    let valueFindings: [LocatedFinding]
    private let thread = JoinedThreads()

    init(reads: OverlayReads, lists: [[LayerEntry]], compression: LayerCompression, entryTimes: EntryTimes, keeping: Bool, valueFindings: [LocatedFinding]) {
        self.reads = reads
        let spools = lists.map { _ in LayerSpool(keeping: keeping) }
        self.spools = spools
        self.valueFindings = valueFindings
        reads.start()
        guard !lists.isEmpty else { return }
        thread.start {
            defer { reads.layerEnded() }
            var failure: (any Error)?
            for (list, spool) in zip(lists, spools) {
                if let failure {
                    spool.finish(.failure(failure))
                    continue
                }
                let builder = LayerBuilder(compression: compression, entryTimes: entryTimes) { try reads.digest(of: $0) }
                let result = Result { try builder.build(list) { try spool.write($0) } }
                if case .failure(let error) = result { failure = error }
                spool.finish(result)
            }
        }
    }

    /// The bake failed or is over: the layer stops at its next file or write, and the spools'
    /// bytes go when the last reference does. (The readers have ended by then: a bake awaits
    /// them before it writes or fails on what they found.)
    func stop() {
        reads.stop()
        for spool in spools { spool.abandon() }
    }
}

extension Baker {
    /// Starts the secret scan of everything the bake adds, with the new layers built beside it
    /// (see ``ScanRun``), so that on a machine with a core to spare the scan costs the bake
    /// (nearly) no time. Every regular file of the new layers is read once by the scan's
    /// readers, in the pass that hashes it; the layer builder takes each file's digest as soon
    /// as its read ended (waiting for it when it comes to the file first:
    /// ``LayerBuilder/knownDigest``) and reads the file only once more, to copy it, checking the
    /// copy against that digest (so the bytes scanned are the bytes baked). A refused finding,
    /// or a file that cannot be read, stops the layer at its next file.
    ///
    /// - Parameter keeping: whether the layers' bytes are kept (a bake) or only their digests
    ///   (a plan, which writes nothing).
    /// - Returns: `nil` with `--secrets off` (no scan: the bake builds the layer into the
    ///   destination as before the scan existed, hashing each file itself).
    func startScan(_ request: BakeRequest, entries: LayerEntries?, keeping: Bool) -> ScanRun? {
        if request.secrets.mode == .off { return nil }
        let policy = request.secrets
        var valueFindings: [LocatedFinding] = []
        for (key, value) in request.edits.env {
            for finding in SecretScanner.scan(key: key, value: value, kind: .environment) {
                valueFindings.append(LocatedFinding(source: request.configOrigin ?? "--env \(key)", target: .environment(key), finding: finding))
            }
        }
        for (key, value) in request.edits.labels {
            for finding in SecretScanner.scan(key: key, value: value, kind: .label) {
                valueFindings.append(LocatedFinding(source: request.configOrigin ?? "--label \(key)", target: .label(key), finding: finding))
            }
        }
        // Each file once, in the order the layers come to them, with where it goes in the image.
        var files: [OverlayReads.File] = []
        var numbers: [FileSource: Int] = [:]
        var targets: [[String]] = []
        for list in entries?.distinct ?? [] {
            for entry in list {
                guard case .file(let source, let size) = entry.kind else { continue }
                let number = numbers[source] ?? files.count
                if number == files.count {
                    numbers[source] = number
                    files.append(OverlayReads.File(source: source, size: size))
                    targets.append([])
                }
                if !targets[number].contains(entry.path.description) { targets[number].append(entry.path.description) }
            }
        }
        let refusing = policy.mode == .refuse
        let paths = targets
        // A refused Env or Labels value: no layer is built at all.
        let reads = OverlayReads(files: files, stopped: refusing && !policy.refused(valueFindings).isEmpty) { number, findings in
            // Whether a file's findings fail the bake: then its layer is not worth finishing.
            refusing && paths[number].contains { path in
                !policy.refused(findings.map { LocatedFinding(source: "", target: .file(path), finding: $0) }).isEmpty
            }
        }
        return ScanRun(reads: reads, lists: entries?.distinct ?? [], compression: request.compression, entryTimes: request.entryTimes,
                       keeping: keeping, valueFindings: valueFindings)
    }

    /// Waits (without holding a thread) until the scan's readers read every file, and judges
    /// what they found: the layers may still be being built.
    /// - Returns: the SHA-256 of each file read.
    /// - Throws: a file's read error (the first in the layers' order); else ``SecretsRefused``
    ///   listing every finding the policy does not allow (`--secrets warn`: logged instead).
    func passScan(_ run: ScanRun, _ request: BakeRequest, entries: LayerEntries?) async throws -> [FileSource: [UInt8]] {
        await run.reads.finished()
        let names = SourceNames(request)
        var digests: [FileSource: [UInt8]] = [:]
        var findingsOf: [FileSource: [SecretFinding]] = [:]
        for (number, file) in run.reads.files.enumerated() {
            let (digest, findings) = try run.reads.outcome(number)
            digests[file.source] = digest
            findingsOf[file.source] = findings
        }
        var located: [LocatedFinding] = []
        for list in entries?.distinct ?? [] {
            for entry in list {
                guard case .file(let source, _) = entry.kind else { continue }
                for finding in findingsOf[source] ?? [] {
                    let item = LocatedFinding(source: names.name(of: source), target: .file(entry.path.description), finding: finding)
                    if !located.contains(item) { located.append(item) }
                }
            }
        }
        located += run.valueFindings
        let refused = request.secrets.refused(located)
        if !refused.isEmpty {
            switch request.secrets.mode {
            case .refuse:
                throw SecretsRefused(refused)
            case .warn, .off:
                for item in refused { logger.warning("\(item.message)") }
            }
        }
        return digests
    }
}

/// The scan's reads of the overlay files: each file read whole once, on threads of their own
/// (one per core), hashed and scanned in that read, handed to the layer builder as soon as
/// it ended. The readers keep at most ``aheadBytes`` (and ``aheadFiles``) ahead of the file the
/// layer is at, so what they read is still in the page cache when the layer copies it; once
/// the layer ended (or was stopped) they read the rest without a bound.
// Sendable: every mutable property is read and written only while holding `condition`; each
// slot of `outcomes` is written once, by the reader that claimed its file.
final class OverlayReads: @unchecked Sendable {
    struct File: Sendable {
        var source: FileSource
        var size: Int64
    }

    /// How far the readers run ahead of the layer, in bytes and in files.
    static let aheadBytes: Int64 = 32 << 20
    static let aheadFiles = 1024

    private typealias Outcome = Result<(digest: [UInt8], findings: [SecretFinding]), any Error>
    /// The files, in the order the layers come to them.
    let files: [File]
    private let numbers: [FileSource: Int]
    /// Where each file ends in the concatenation of all of them (the run-ahead bound's measure).
    private let ends: [Int64]
    private let refuses: @Sendable (Int, [SecretFinding]) -> Bool
    private let threads = JoinedThreads()
    private let condition = NSCondition()
    private var outcomes: [Outcome?]
    /// The next file no reader has claimed.
    private var next = 0
    /// The file the layer is at (asked for last).
    private var wanted = 0
    private var unbounded = false
    /// Set by a refused finding or a failed read: the layer stops at the next file it asks for.
    private var stopped: Bool

    /// - Parameters:
    ///   - stopped: whether the layer is not to be built at all (a refused Env or Labels value).
    ///   - refuses: whether a file's findings fail the bake (called on a reader's thread).
    init(files: [File], stopped: Bool, refuses: @escaping @Sendable (Int, [SecretFinding]) -> Bool) {
        self.files = files
        var numbers: [FileSource: Int] = [:]
        var ends: [Int64] = []
        var total: Int64 = 0
        for (number, file) in files.enumerated() {
            numbers[file.source] = number
            total += file.size
            ends.append(total)
        }
        self.numbers = numbers
        self.ends = ends
        self.refuses = refuses
        self.stopped = stopped
        outcomes = Array(repeating: nil, count: files.count)
    }

    /// Starts the readers: one per core (the layer's thread mostly waits for the copy's reads
    /// and the readers when it is ahead), never more than there are files.
    func start() {
        for _ in 0..<min(files.count, max(1, ProcessInfo.processInfo.activeProcessorCount)) {
            threads.start { [self] in readFiles() }
        }
    }

    /// Returns once every reader ended: every file was read (or failed) then.
    func finished() async { await threads.joined() }

    /// The bake failed or is over: the layer stops at its next file, the readers go on unbounded.
    func stop() {
        condition.withLock {
            stopped = true
            condition.broadcast()
        }
    }

    /// The layer builder's ``LayerBuilder/knownDigest``: the file's SHA-256 once its read
    /// ended (waiting for it), `nil` for a file the scan does not read.
    /// - Throws: the file's read error; ``Stopped`` once the bake is known to fail.
    func digest(of source: FileSource) throws -> [UInt8]? {
        guard let number = numbers[source] else { return nil }
        condition.lock()
        defer { condition.unlock() }
        if number > wanted {
            wanted = number
            condition.broadcast()
        }
        while outcomes[number] == nil && !stopped { condition.wait() }
        if stopped { throw Stopped() }
        return try outcomes[number]?.get().digest
    }

    /// The layer is done (built, failed or stopped): the readers read the rest unbounded.
    func layerEnded() {
        condition.withLock {
            unbounded = true
            condition.broadcast()
        }
    }

    /// A file's digest and findings, after ``finished()``.
    func outcome(_ number: Int) throws -> (digest: [UInt8], findings: [SecretFinding]) {
        guard let outcome = condition.withLock({ outcomes[number] }) else { throw LayerError.archive("internal: a file was not scanned") }
        return try outcome.get()
    }

    private func readFiles() {
        while let number = claim() {
            let file = files[number]
            let scanner = SecretScanner(fileName: file.source.components.last ?? "")
            let outcome = Outcome {
                let digest = try LayerBuilder.readFile(file.source, size: file.size) { scanner.update($0) }
                return (digest, scanner.finish())
            }
            var stops = false
            switch outcome {
            case .success(let read): stops = !read.findings.isEmpty && refuses(number, read.findings)
            case .failure: stops = true
            }
            condition.withLock {
                outcomes[number] = outcome
                if stops { stopped = true }
                condition.broadcast()
            }
        }
    }

    /// The next file to read, waiting while it is too far ahead of the layer; `nil` when none is left.
    private func claim() -> Int? {
        condition.lock()
        defer { condition.unlock() }
        while next < files.count && !mayRead(next) { condition.wait() }
        guard next < files.count else { return nil }
        next += 1
        return next - 1
    }

    private func mayRead(_ number: Int) -> Bool {
        if unbounded || stopped || number <= wanted { return true }
        let start = wanted == 0 ? 0 : ends[wanted - 1]
        return number - wanted < Self.aheadFiles && ends[number] - start <= Self.aheadBytes
    }

    /// The layer was stopped: the bake fails with the scan's finding or a file's read error.
    struct Stopped: Error, CustomStringConvertible {
        var description: String { "internal: the layer was stopped without a finding" }
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
