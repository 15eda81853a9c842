import ArgumentParser
import Foundation
import KilnRegistry
import KilnBake
import KilnProject
import KilnStore
import OCI

struct BuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Bake and push every spec's image from kiln.lock, under its content tag kiln.sha256.<hex> and its extra tags.",
        discussion: """
            An image whose content tag already holds the planned digest is not rebuilt (one HEAD \
            per tag). Pushes the digests `kiln plan` prints. Prints NAME REF@sha256:... (built | \
            up to date | retagged) per image; exit 1 if any image failed (the others still finish). \
            A spec with several targets (targets:) prints a line per target: the targets that \
            lack the image get one bake, the base read once for all of them, each tagged after \
            its own upload; a target that fails is named on standard error (NAME: REPO: error), \
            the others still finish, and the exit is 1. \
            Archives (--output docker-archive:DIR or oci-archive:DIR) are always written anew.

            Secrets are never baked: an image whose files, env or labels carry one fails before \
            anything is written, with one line per finding and its fingerprint; a spec's \
            allow-secrets: [FINGERPRINT] bakes it anyway (docs/secrets.md). plan and verify \
            refuse the same way.

            Each image pushed to a registry gets its provenance attached: an in-toto statement \
            with a SLSA provenance v1 predicate (docs/provenance.md), by the referrers API where \
            the registry has it, else the tag schema. It is deterministic, so an up-to-date image \
            costs one HEAD more. Unsigned, this is SLSA Build L1: --provenance-file and \
            --predicate-file write it for a signer (cosign attest --predicate FILE).

            --shard K/N builds only the K-th of N groups of the specs (K counted from 1; a spec's \
            group is a hash of its name, so adding a spec moves no other). N jobs with --shard \
            1/N to N/N build every spec once; a group with no spec builds nothing and exits 0. \
            kiln plan --matrix --shards N lists the groups that have something to build.
            """
    )

    @OptionGroup var project: ProjectFlags

    @OptionGroup var provenance: ProvenanceFlags

    @OptionGroup var shard: ShardFlags

    @Option(help: ArgumentHelp("Write each image's provenance statement (in-toto JSON) here; {name} is the spec's name (needed when building several).", valueName: "PATH"))
    var provenanceFile: String?

    @Option(help: ArgumentHelp("Write each image's SLSA provenance predicate alone here (what cosign attest --predicate takes); {name} as above.", valueName: "PATH"))
    var predicateFile: String?

    @Option(help: ArgumentHelp("Write OCI layouts DIR/NAME (oci:DIR), or archives DIR/NAME.tar to load and run locally (docker-archive:DIR for docker/podman load, named after the target with the content tag and the spec's tags; oci-archive:DIR), instead of pushing to the spec targets.", valueName: "oci:DIR|docker-archive:DIR|oci-archive:DIR"))
    var output: String?

    @Option(help: ArgumentHelp("With --output docker-archive:DIR: the platform whose image each archive holds, for specs with several (a docker-archive holds one image; the build and its digest are unchanged).", valueName: "os/arch[/variant]"))
    var platform: String?

    @Option(help: ArgumentHelp("Images built at the same time.", valueName: "N"))
    var parallel: Int = 2

    @OptionGroup var repositoryCreation: RepositoryCreationFlags

    @Flag(help: "Print JSON like kiln plan --json, with \"action\" per image.")
    var json = false

    @OptionGroup var transport: TransportFlags

    func validate() throws {
        guard parallel >= 1 else { throw ValidationError("--parallel must be at least 1") }
        try checkProvenancePaths(provenanceFile: provenanceFile, predicateFile: predicateFile)
        _ = try buildOutput()
    }

    private func buildOutput() throws -> BuildOutput {
        do {
            return try BuildOutput(parsing: output, platform: try platform.map(Platform.init(parsing:)))
        } catch let error as BuildOutputError {
            throw ValidationError(error.description)
        } catch let error as OCIError {
            throw ValidationError("--platform: \(error)")
        }
    }

    func run() async throws {
        try await reportingErrors {
            let project = project.project
            let specs = try shard.select(project.loadSpecs(self.project.specs), quiet: transport.quiet)
            if specs.isEmpty { return }
            let lock = try project.loadLock()
            // Every spec must match the lock before anything is pushed.
            for spec in specs { _ = try project.lockedEntry(for: spec, in: lock) }
            // --username/--password-stdin log into the targets' registry when there is exactly one.
            let targetRegistries = Set(specs.flatMap { spec -> [String] in
                guard output == nil else { return [] }
                return spec.targets.compactMap { if case .registry(let registry) = $0 { registry.registry } else { nil } }
            })
            if transport.username != nil, targetRegistries.count != 1 {
                throw ValidationError("--username needs the specs' targets to be on one registry (they are on \(targetRegistries.count))")
            }
            let progress = TransferProgress.forStandardError(quiet: transport.quiet)
            let buildOutput = try buildOutput()
            for path in [provenanceFile, predicateFile].compactMap({ $0 }) where specs.count > 1 && !path.contains("{name}") {
                throw ValidationError("'\(path)' names one file for \(specs.count) images; put {name} in it")
            }
            let provenanceSettings = Builder.ProvenanceSettings(builderID: provenance.builderID, attach: provenance.enabled, statementPath: provenanceFile, predicatePath: predicateFile)
            let creation = try repositoryCreation.creation()
            // One store for every image: each registry is probed and authenticated once.
            let reports = try await withRunSession(transport.options(outputRegistry: targetRegistries.first)) { store in
                await Builder(project: project, store: store, progress: progress, provenance: provenanceSettings)
                    .buildAll(specs, lock: lock, output: buildOutput, createRepository: creation, parallel: parallel)
            }
            var failed = false
            var objects: [(key: String, value: JSONValue)] = []
            for report in reports {
                let name = report.name
                switch report.result {
                case .success(let outcome) where !outcome.targets.isEmpty:
                    // Several targets: a line per target, a failed one on standard error.
                    for (repository, target) in zip(outcome.plan.repositories, outcome.targets) {
                        if let failure = target.failure {
                            failed = true
                            printError("\(failure)", about: "\(name): \(repository)")
                        } else if !json {
                            print("\(name) \(target.reference) (\(target.action.rawValue))")
                        }
                    }
                    if json {
                        let targets: [JSONValue] = zip(outcome.plan.repositories, outcome.targets).map { repository, target in
                            .object([("repository", .string(repository)), ("image", .string("\(repository)@\(outcome.plan.digest)")),
                                     target.failure.map { ("error", .string($0)) } ?? ("action", .string(target.action.rawValue))])
                        }
                        // The plan's fields, with each target's action (or error) in `targets`.
                        objects.append((name, .object(PlanCommand.fields(outcome.plan, targets: false) + [("action", .string(outcome.action.rawValue)), ("targets", .array(targets))])))
                    }
                case .success(let outcome):
                    if json {
                        objects.append((name, .object(PlanCommand.fields(outcome.plan) + [("action", .string(outcome.action.rawValue))])))
                    } else {
                        print("\(name) \(outcome.reference) (\(outcome.action.rawValue))")
                    }
                case .failure(let error):
                    failed = true
                    printError("\(error)", about: name)
                }
            }
            if json { print(PlanCommand.render(.object([("images", .object(objects))]))) }
            if failed { throw ExitCode.failure }
        }
    }
}
