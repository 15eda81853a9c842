import ArgumentParser
import Foundation
import KilnProject

/// The provenance flags build and verify share.
struct ProvenanceFlags: ParsableArguments {
    @Flag(name: .customLong("no-provenance"), help: "Do not attach (build) or check (verify) the images' provenance.")
    var disabled = false

    @Option(name: .customLong("builder-id"), help: ArgumentHelp("The provenance's builder.id (default: from GitHub Actions, GitLab CI or CodeBuild variables, else kiln's local builder id).", valueName: "URI"))
    var builderIDFlag: String?

    var enabled: Bool { !disabled }
    var builderID: String { Provenance.builderID(flag: builderIDFlag, environment: ProcessInfo.processInfo.environment) }
}
