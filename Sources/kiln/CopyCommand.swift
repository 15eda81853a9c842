import ArgumentParser
import Foundation
import KilnBake
import KilnStore
import OCI

struct CopyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy an image byte for byte, keeping its digest (promote QA to prod).",
        discussion: """
            Copies an index with every child, or one manifest, with all blobs: mounted within a \
            registry, streamed and verified across registries or layouts. The tag is written \
            last. Prints DST@sha256:....

            DST may be an archive to load and run locally: docker-archive:FILE[:NAME:TAG] \
            (docker load, podman load; it holds one image: --platform picks one of an index) or \
            oci-archive:FILE[:TAG].
            """
    )

    @Argument(help: ArgumentHelp("What to copy.", valueName: "SRC"))
    var source: String

    @Argument(help: ArgumentHelp("Where to, with a tag.", valueName: "DST"))
    var destination: String

    @Option(help: ArgumentHelp("Copy only this platform's image of an index (its manifest, with its own digest).", valueName: "os/arch[/variant]"))
    var platform: String?

    @OptionGroup var transport: TransportFlags

    func run() async throws {
        try await reportingErrors {
            let source = try ImageReference(parsing: source)
            let destination = try ImageReference(parsing: destination)
            let platform = try platform.map(Platform.init(parsing:))
            var outputRegistry: String? = nil
            if case .registry(let registry) = destination { outputRegistry = registry.registry }
            let progress = TransferProgress.forStandardError(quiet: transport.quiet)
            let copied = try await withRunStore(transport.options(outputRegistry: outputRegistry)) { store in
                try await Baker(store: store, progress: progress).copy(from: source, to: destination, platform: platform)
            }
            print(copied.reference)
        }
    }
}
