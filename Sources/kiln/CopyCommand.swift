import ArgumentParser
import Foundation
import KilnBake
import KilnRegistry
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

            Registry to registry, what is attached to the image (its referrers: signatures, \
            SBOMs, attestations, provenance) is copied too, by default: found through the \
            referrers API where the source registry has it, else the tag schema \
            (sha256-<hex>), and attached at the destination the same way, before the tag. \
            Referrers of the image and of each manifest copied, one level (not referrers of \
            referrers). Layouts and archives get none. --no-referrers copies the image alone.
            """
    )

    @Argument(help: ArgumentHelp("What to copy.", valueName: "SRC"))
    var source: String

    @Argument(help: ArgumentHelp("Where to, with a tag.", valueName: "DST"))
    var destination: String

    @Option(help: ArgumentHelp("Copy only this platform's image of an index (its manifest, with its own digest).", valueName: "os/arch[/variant]"))
    var platform: String?

    @Flag(inversion: .prefixedNo, help: "Copy the image's referrers too (registry to registry).")
    var referrers = true

    @OptionGroup var repositoryCreation: RepositoryCreationFlags

    @OptionGroup var transport: TransportFlags

    func run() async throws {
        try await reportingErrors {
            let source = try ImageReference(parsing: source)
            let destination = try ImageReference(parsing: destination)
            let platform = try platform.map(Platform.init(parsing:))
            let creation = try repositoryCreation.creation()
            var outputRegistry: String? = nil
            if case .registry(let registry) = destination { outputRegistry = registry.registry }
            let progress = TransferProgress.forStandardError(quiet: transport.quiet)
            let copied = try await withRunSession(transport.options(outputRegistry: outputRegistry)) { store in
                try await Baker(store: store, progress: progress).copy(from: source, to: destination, platform: platform, referrers: referrers, createRepository: creation)
            }
            if copied.referrers > 0, !transport.quiet {
                FileHandle.standardError.write(Data("kiln: note: copied \(copied.referrers) referrer\(copied.referrers == 1 ? "" : "s")\n".utf8))
            }
            print(copied.reference)
        }
    }
}
