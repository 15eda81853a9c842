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
            every base tag again. --check changes nothing and fails (exit 1) when a spec changed \
            since it was locked, an image has no entry, or an entry has no spec.
            """
    )

    @OptionGroup var project: ProjectFlags

    @Flag(help: "Fail if the lock does not match the specs; change nothing (offline).")
    var check = false

    @Flag(help: "Resolve every base again, also those whose spec did not change.")
    var update = false

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
            if lock != existing { try project.saveLock(lock) }
            for (name, change) in changes {
                let pinned = lock.entries[name]?.pinned ?? ""
                print("\(name): \(change.rawValue)\(pinned.isEmpty ? "" : " \(pinned)")")
            }
        }
    }
}
