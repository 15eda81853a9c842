import ArgumentParser
import KilnBake
import Foundation
import KilnProject

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Rebuild each image from spec, overlays and kiln.lock and compare with what its target holds.",
        discussion: """
            Checks the content tag and the extra tags, and that the locked base is still in its \
            registry. On a mismatch prints which platform, blob or config field differs, and exits 1. \
            For a registry target, also checks that the image's provenance (recomputed: it is \
            deterministic) is attached, for the builder id kiln build would use here (see \
            --builder-id).
            """
    )

    @OptionGroup var project: ProjectFlags

    @OptionGroup var provenance: ProvenanceFlags

    @OptionGroup var transport: TransportFlags

    func run() async throws {
        try await reportingErrors {
            let project = project.project
            let specs = try project.loadSpecs(self.project.specs)
            let lock = try project.loadLock()
            try await withRunSession(transport.options(outputRegistry: nil)) { store in
                let verifier = Verifier(project: project, store: store, provenanceBuilderID: provenance.enabled ? provenance.builderID : nil)
                var mismatched: [String] = []
                for spec in specs {
                    let (plan, differences) = try await verifier.verify(spec, lock: lock)
                    if differences.isEmpty {
                        print("\(spec.name) \(plan.image) verified")
                    } else {
                        mismatched.append(spec.name)
                        print("\(spec.name) \(plan.image) DIFFERS:")
                        for line in differences { print("  \(line)") }
                    }
                }
                if !mismatched.isEmpty {
                    printError("\(mismatched.joined(separator: ", ")): the target does not hold what the spec and lock give")
                    throw ExitCode.failure
                }
            }
        }
    }
}
