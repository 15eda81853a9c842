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

/// `--provenance-file -` and `--predicate-file -` would write a file named `-`: standard output
/// carries kiln's result lines (or its JSON), so a statement cannot go there too. Refused; a
/// user who means it names `/dev/stdout`.
func checkProvenancePaths(provenanceFile: String?, predicateFile: String?) throws {
    for (flag, path) in [("--provenance-file", provenanceFile), ("--predicate-file", predicateFile)] where path == "-" {
        throw ValidationError("\(flag) -: standard output carries kiln's results; name a file")
    }
    for (flag, path) in [("--provenance-file", provenanceFile), ("--predicate-file", predicateFile)] where path?.isEmpty == true {
        throw ValidationError("\(flag) needs a file name")
    }
}
