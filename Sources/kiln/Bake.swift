import ArgumentParser
import Foundation
import KilnAWS
import KilnBake
import KilnLayer
import KilnRegistry
import KilnStore
import OCI
import KilnRecipe
import KilnProject

struct Bake: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Add one layer of config files to a base image and write the derived image.",
        discussion: """
            Layer entries are sorted, owned by 0:0 (or --owner), with modes 0644/0755 (or --mode); \
            each file is dated by its content within 2025 (--mtime), and the layer is gzip made \
            of stored blocks written by kiln itself (--compression): the digest depends only on \
            the inputs, not on the machine's zlib. Prints the derived reference pinned by digest.

            An archive output is one tar file, written whole or not at all, the same bytes for \
            the same inputs: docker-archive:FILE[:NAME:TAG] is what docker load and podman load \
            read (one image: pick a platform of a multi-platform base with --platform), \
            oci-archive:FILE[:TAG] an OCI layout in a tar. Its config, and so the image ID, is \
            the one every other output of the same bake has.

            Secrets are never baked: every added file and every --env and --label value is \
            scanned before anything is written (private keys, key stores, cloud and API tokens, \
            URLs with a password, values of keys named password, secret, token, ...). A finding \
            is one line with a fingerprint; --allow-secret FINGERPRINT (or KILN_ALLOW_SECRETS, \
            or a kiln:allow-secret comment on the line) bakes it anyway, --secrets warn only \
            prints the findings. See docs/secrets.md.

            Exit status: 0 done, 1 error (one line on stderr naming the culprit; nothing \
            half-written is left in the output), 64 bad usage.

            Example:
              kiln bake --base oci:samples/base:1.0 \\
                --overlay overlays/gateway/kong.conf:/etc/kong/kong.conf \\
                --owner 1000:0 --mode 0640 --env KONG_DATABASE=off \\
                --user kong --output oci:/tmp/gateway:latest
            """
    )

    @Option(help: ArgumentHelp("The base image: a registry reference or an OCI layout.", valueName: "REF|oci:DIR[:TAG|@DIGEST]"))
    var base: String

    @Option(name: .customLong("overlay"), help: ArgumentHelp(
        "A file or directory to add at DEST in the image (DEST defaults to /NAME of SRC). Repeatable.",
        valueName: "SRC[:DEST]"))
    var overlays: [String] = []

    @Option(name: .customLong("remove"), help: ArgumentHelp("A path to delete from the base (an OCI whiteout). Repeatable.", valueName: "PATH"))
    var removals: [String] = []

    @Option(help: ArgumentHelp("Owner of every added file and directory and of the parents it creates (default 0:0): numbers, or names looked up in the base's /etc/passwd and /etc/group. A user name alone takes the primary group of its /etc/passwd line, a user number alone the same number as its group, as COPY --chown does.", valueName: "USER[:GROUP]"))
    var owner: String?

    @Option(help: ArgumentHelp("Octal mode of added files; directories get it with search bits where read is set.", valueName: "MODE"))
    var mode: String?

    @Option(name: .customLong("env"), help: ArgumentHelp("Set an environment variable (replaces one with the same name). Repeatable.", valueName: "K=V"))
    var env: [String] = []

    @Option(name: .customLong("label"), help: ArgumentHelp("Set a label. Repeatable.", valueName: "K=V"))
    var labels: [String] = []

    @Option(help: ArgumentHelp("The user the container runs as.", valueName: "U"))
    var user: String?

    @Option(help: ArgumentHelp("The working directory.", valueName: "W"))
    var workdir: String?

    @Option(help: ArgumentHelp("The entrypoint, as a JSON array of strings.", valueName: "JSON_ARRAY"))
    var entrypoint: String?

    @Option(help: ArgumentHelp("The command, as a JSON array of strings.", valueName: "JSON_ARRAY"))
    var cmd: String?

    @Option(help: ArgumentHelp("Platforms to bake from a multi-platform base (comma-separated), or all.", valueName: "os/arch[/variant]|all"))
    var platform: String = "all"

    @Option(help: "Compression of the new layer: stored-gzip (gzip of uncompressed blocks written by kiln: the same bytes on every machine), gzip (zlib level 6: smaller, but its bytes, and so the digest, follow the machine's zlib) or zstd (level 3, OCI bases only).")
    var compression: LayerCompression = .storedGzip

    @Option(help: ArgumentHelp("Modification time of the layer's entries: content (each file dated by its SHA-256 within 2025, so a web server's ETag and Last-Modified change with the content; directories and links 2025-01-01), epoch (every entry at SOURCE_DATE_EPOCH, else 0) or a number of seconds.", valueName: "content|epoch|SECONDS"))
    var mtime: String = "content"

    @Option(help: ArgumentHelp("Where to write the derived image: a registry reference, an OCI layout, or an archive to load and run locally: docker-archive:FILE[:NAME:TAG] (docker load, podman load; one platform) or oci-archive:FILE[:TAG].", valueName: "REF|oci:DIR[:TAG]|docker-archive:FILE[:NAME:TAG]|oci-archive:FILE[:TAG]"))
    var output: String

    @Option(help: ArgumentHelp("The org.opencontainers.image.base.name annotation: default the base's registry name (none for a layout); '' leaves it out. The same base reached by tag, by digest or from a layout otherwise gives different digests.", valueName: "NAME"))
    var baseName: String?

    @Flag(help: "Print one JSON object with digest, mediaType, platforms and layer instead of the reference.")
    var json = false

    @OptionGroup var repositoryCreation: RepositoryCreationFlags

    @Flag(help: "Attach the image's provenance (an in-toto statement with a SLSA provenance v1 predicate; registry outputs) as kiln build does.")
    var provenance = false

    @Option(name: .customLong("builder-id"), help: ArgumentHelp("With --provenance: the provenance's builder.id (default: from GitHub Actions, GitLab CI or CodeBuild variables, else kiln's local builder id).", valueName: "URI"))
    var builderID: String?

    @Option(help: ArgumentHelp("With --provenance: write the statement here.", valueName: "PATH"))
    var provenanceFile: String?

    @Option(help: ArgumentHelp("With --provenance: write the predicate alone here (what cosign attest --predicate takes).", valueName: "PATH"))
    var predicateFile: String?

    @OptionGroup(title: "Secrets")
    var secretFlags: SecretFlags

    @OptionGroup(title: "Registry options")
    var transport: TransportFlags

    func validate() throws {
        if !provenance, builderID != nil || provenanceFile != nil || predicateFile != nil {
            throw ValidationError("--builder-id, --provenance-file and --predicate-file go with --provenance")
        }
        try checkProvenancePaths(provenanceFile: provenanceFile, predicateFile: predicateFile)
    }

    func run() async throws {
        try await reportingErrors {
            var request = try makeRequest()
            request.recordsProvenanceFacts = provenance
            var outputRegistry: String?
            if case .registry(let registry) = request.output { outputRegistry = registry.registry }
            let progress = TransferProgress.forStandardError(quiet: transport.quiet)
            let result = try await withRunSession(transport.options(outputRegistry: outputRegistry)) { store in
                // The provenance goes in before the tags, as kiln build's does.
                return try await Baker(store: store, progress: progress).bake(request) { [request] untagged in
                    guard let facts = untagged.result.provenanceFacts else { return }
                    let made = try Provenance.make(bake: request, facts: facts, overlayArguments: request.overlays.map { ($0.source, $0.destination.description) },
                                                   builderID: Provenance.builderID(flag: builderID, environment: ProcessInfo.processInfo.environment))
                    // The bake has no spec name: a `{name}` in the paths stays as given.
                    try await made.deliver(statementPath: provenanceFile, predicatePath: predicateFile, name: "{name}",
                                           to: try store.registryImage(request.output), writingSubject: untagged.writeRootByDigest)
                }
            }
            print(json ? try BakeOutput.json(result) : result.reference)
        }
    }

    private func makeRequest() throws -> BakeRequest {
        let editsConfig = !env.isEmpty || !labels.isEmpty || user != nil || workdir != nil || entrypoint != nil || cmd != nil
        guard !overlays.isEmpty || !removals.isEmpty || editsConfig else {
            // A config-only bake (--env, --cmd, … alone) is fine: a new config, no new layer.
            throw InputError("nothing to bake: give --overlay SRC[:DEST], --remove PATH or a config edit (--env, --label, --user, --workdir, --entrypoint, --cmd)")
        }
        let owner = try owner.map(OwnerSpec.init(parsing:))
        let mode = try mode.map(parseMode)
        var edits = ConfigEdits()
        edits.env = try env.map { try ConfigEdits.parseKeyValue($0, flag: "--env") }
        edits.labels = try labels.map { try ConfigEdits.parseKeyValue($0, flag: "--label") }
        edits.user = user
        if let workdir, !workdir.hasPrefix("/") {
            // A relative WorkingDir is resolved by each runtime its own way: refuse it.
            throw InputError("--workdir must be an absolute path, not '\(workdir)'")
        }
        edits.workingDir = workdir
        edits.entrypoint = try entrypoint.map { try ConfigEdits.parseStringArray($0, flag: "--entrypoint") }
        edits.cmd = try cmd.map { try ConfigEdits.parseStringArray($0, flag: "--cmd") }
        let sourceDateEpoch = try BakeRequest.sourceDateEpoch(from: ProcessInfo.processInfo.environment)
        let entryTimes: EntryTimes
        do { entryTimes = try EntryTimes(parsing: mtime, epoch: sourceDateEpoch ?? 0) } catch let error as LayerError {
            throw InputError("--mtime: \(error)")
        }
        var request = BakeRequest(
            base: try ImageReference(parsing: base),
            output: try ImageReference(parsing: output),
            overlays: try overlays.map { try Overlay(parsing: $0, owner: owner, mode: mode) },
            removals: try removals.map { try ImagePath(absolute: $0) },
            edits: edits,
            platforms: try PlatformSelection(parsing: platform),
            compression: compression,
            entryTimes: entryTimes,
            sourceDateEpoch: sourceDateEpoch
        )
        request.createRepository = try repositoryCreation.creation()
        request.baseName = baseName
        request.secrets = try secretFlags.policy()
        return request
    }
}
