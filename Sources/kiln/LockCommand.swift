import ArgumentParser
import KilnBake
import Foundation
import KilnProject

struct LockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lock",
        abstract: "Pin each spec's base to a digest in kiln.lock, with the base documents plan needs offline.",
        discussion: """
            Entries whose spec's base and platforms did not change are kept; --update resolves \
            the base tags of the specs given (every spec without arguments) again, and says for \
            each moved base what it changes (as kiln outdated --explain), warning before anything \
            is written when a bake would now fail. --dry-run writes nothing. --check changes \
            nothing and fails (exit 1) when a spec changed since it was locked, an image has no \
            entry, or an entry has no spec.
            """
    )

    @OptionGroup var project: ProjectFlags

    @Flag(help: "Fail if the lock does not match the specs; change nothing (offline).")
    var check = false

    @Flag(help: "Resolve the bases again (of the specs given, or all), also those whose spec did not change; report what each moved base changes.")
    var update = false

    @Flag(name: .customLong("dry-run"), help: "Print what would change; write nothing.")
    var dryRun = false

    @OptionGroup var transport: TransportFlags

    func run() async throws {
        try await reportingErrors {
            let project = project.project
            let specs = try project.loadSpecs(self.project.specs)
            // A version-1 lock is upgraded by `kiln lock` (its pinned bases kept); --check and
            // every other command refuse it.
            let existing = try project.loadLock(upgrading: !check)
            let all = self.project.specs.isEmpty
            if check {
                let problems = Locker.problems(specs, lock: existing, project: project, all: all)
                guard problems.isEmpty else {
                    problems.forEach { printError($0) }
                    throw ExitCode.failure
                }
                print("\(project.lockPath) matches \(specs.count) spec(s)")
                return
            }
            let (lock, changes) = try await withRunSession(transport.options(outputRegistry: nil)) { store in
                try await Locker(project: project, store: store).lock(specs, into: existing, update: update, all: all)
            }
            // What each moved base changes, and warnings, before anything is written.
            var reports: [String: BaseChangeReport] = [:]
            for spec in specs {
                // Only a base that moved under the same reference (not an upgraded entry, not a
                // spec that now names another base).
                guard let old = existing.entries[spec.name], let new = lock.entries[spec.name], old.snapshot.root != new.snapshot.root,
                      old.base == new.base, old.platforms == new.platforms else { continue }
                let report = await BaseChangeReport.make(spec: spec, old: old, new: new, project: project)
                if let failure = report.failure { printWarning("\(spec.name): the bake would fail on the new base: \(failure)") }
                reports[spec.name] = report
            }
            if lock != existing && !dryRun { try project.saveLock(lock) }
            for (name, change) in changes {
                let pinned = lock.entries[name]?.pinned ?? ""
                print("\(name): \(change.rawValue)\(pinned.isEmpty ? "" : " \(pinned)")\(dryRun && change != .unchanged ? " (dry run: not written)" : "")")
                for line in reports[name]?.lines ?? [] { print("  \(line)") }
            }
        }
    }
}
