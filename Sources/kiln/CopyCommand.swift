import ArgumentParser
import Foundation
import KilnBake
import KilnRegistry
import KilnSpec
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

            Several destinations (kiln copy SRC DST DST...) get the same image at once (--jobs \
            destinations at a time): each \
            blob is read from the source once for all of them (mounted where a destination is \
            on the source's registry or on the registry of another destination that has it), \
            each destination is tagged after its own upload, and one that fails does not stop \
            the others: a line DST@sha256:... per destination written, DST: error per one that \
            failed, exit 1. Archives are copied to alone.

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

    @Argument(help: ArgumentHelp("Where to, with a tag; several: the same image to each, the source read once.", valueName: "DST"))
    var destinations: [String]

    @Option(help: ArgumentHelp("Copy only this platform's image of an index (its manifest, with its own digest).", valueName: "os/arch[/variant]"))
    var platform: String?

    @Flag(inversion: .prefixedNo, help: "Copy the image's referrers too (registry to registry).")
    var referrers = true

    @OptionGroup var repositoryCreation: RepositoryCreationFlags

    @OptionGroup var transport: TransportFlags

    func validate() throws {
        guard !destinations.isEmpty else { throw ValidationError("Missing expected argument '<DST>'") }
        // Each destination is prepared and written at once: as a spec's targets, at most 256.
        guard destinations.count <= ImageSpec.maxTargets else {
            throw ValidationError("\(destinations.count) destinations; at most \(ImageSpec.maxTargets)")
        }
        // One destination under two spellings (`docker://` or not, `acme/app` and
        // `docker.io/acme/app`, a host's letter case, `oci:DIR` and `oci:./DIR`) would be
        // written by two uploads at once, racing on its tags.
        var seen = Set<String>()
        for text in destinations {
            guard let reference = try? ImageReference(parsing: text) else { continue }
            guard seen.insert(Self.identity(of: reference)).inserted else {
                throw ValidationError("destination '\(text)' is named twice")
            }
        }
    }

    /// What a destination writes: a registry repository and tag, or a layout's directory and tag.
    static func identity(of reference: ImageReference) -> String {
        switch reference {
        case .registry(let registry): return "registry \(registry.repositoryIdentity):\(registry.tag ?? "latest")"
        case .layout(let layout): return "layout \(URL(fileURLWithPath: layout.directory).standardizedFileURL.path):\(layout.tag ?? "latest")"
        case .archive: return "archive \(reference)"
        }
    }

    func run() async throws {
        try await reportingErrors {
            let source = try ImageReference(parsing: source)
            if destinations.count > 1 {
                try await copyToSeveral(from: source, to: try destinations.map { try ImageReference(parsing: $0) })
                return
            }
            let destination = try ImageReference(parsing: destinations[0])
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

    /// `kiln copy SRC DST DST…`: a line per destination written, an error line per one that
    /// failed (the others still finish), exit 1 when any failed.
    private func copyToSeveral(from source: ImageReference, to destinations: [ImageReference]) async throws {
        let platform = try platform.map(Platform.init(parsing:))
        let creation = try repositoryCreation.creation()
        let registries = Set(destinations.compactMap { if case .registry(let registry) = $0 { registry.registry } else { nil } })
        if transport.username != nil, registries.count != 1 {
            throw ValidationError("--username needs the destinations to be on one registry (they are on \(registries.count))")
        }
        let progress = TransferProgress.forStandardError(quiet: transport.quiet)
        let copied = try await withRunSession(transport.options(outputRegistry: registries.count == 1 ? registries.first : nil)) { store in
            try await Baker(store: store, progress: progress).copy(from: source, to: destinations, platform: platform, referrers: referrers, createRepository: creation)
        }
        if copied.referrers > 0, !transport.quiet {
            FileHandle.standardError.write(Data("kiln: note: copied \(copied.referrers) referrer\(copied.referrers == 1 ? "" : "s") to each registry destination\n".utf8))
        }
        var failed = false
        for output in copied.outputs {
            if let failure = output.failure {
                failed = true
                printError("\(failure)", about: "\(output.reference)")
            } else {
                print(output.reference.pinned(copied.digest))
            }
        }
        if failed { throw ExitCode.failure }
    }
}
