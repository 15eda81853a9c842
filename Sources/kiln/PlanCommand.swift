import ArgumentParser
import Foundation
import KilnProject
import KilnSpec
import OCI

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Compute each image's digest, content tag and references from specs and kiln.lock, offline.",
        discussion: """
            Prints NAME REPO@sha256:... per image (a spec with several targets: a line per \
            target, one digest). --json prints \
            {"images": {"NAME": {"image", "digest", "tag", "repository"}}}, with \
            "targets": [{"repository", "image"}, ...] for a spec with several. --terraform speaks \
            Terraform's external data source protocol: it reads {"spec": "images/NAME.yaml"} on \
            standard input and prints {"image", "digest", "tag", "repository", "reference"} (the \
            first target), with "repositories" and "images" as comma-separated lists for a spec \
            with several targets.
            --format chooses the output: text (the default), json (= --json), terraform \
            (= --terraform), imagedefinitions (CodePipeline's ECS standard deploy file: \
            [{"name": CONTAINER, "imageUri": "REPO@sha256:..."}], one entry per spec, the \
            container being the spec's container: key, else its name) or imagedetail \
            (CodeDeploy blue/green's {"ImageURI": "REPO@sha256:..."}, for exactly one spec). \
            Both name each spec's first target, or with --target-registry HOST its target on HOST \
            (one pipeline per account and region).

            --matrix prints the CI job matrix of the specs that need building (docs/ci-and-iac.md): \
            those whose target lacks the content tag (or an extra tag), one HEAD per target; \
            --all lists every spec offline. --shard K/N plans only the K-th of N groups of the specs \
            (counted from 1), the group kiln build --shard K/N builds.
            """
    )

    @OptionGroup var project: ProjectFlags

    @Flag(help: "Print JSON: {\"images\": {NAME: {image, digest, tag, repository}}}.")
    var json = false

    @Flag(help: "Terraform external data source: the query {\"spec\": PATH} on stdin, a flat JSON object of strings on stdout.")
    var terraform = false

    @Option(help: ArgumentHelp("text, json (= --json), terraform (= --terraform), imagedefinitions (CodePipeline ECS) or imagedetail (CodeDeploy blue/green, one spec).", valueName: "FORMAT"))
    var format: PlanFormat?

    @Option(help: ArgumentHelp("With --format imagedefinitions or imagedetail: name each spec's target on this registry (a spec with several targets: one account and region); default: each spec's first target.", valueName: "HOST"))
    var targetRegistry: String?

    @OptionGroup var matrix: MatrixFlags

    func validate() throws {
        let chosen = try PlanFormat.chosen(format: format, json: json, terraform: terraform)
        let terraform = chosen == .terraform
        if matrix.matrix && chosen != .text { throw ValidationError("--matrix prints its own JSON: it excludes --format, --json and --terraform") }
        if terraform && matrix.shard.shard != nil { throw ValidationError("--shard does not apply to --terraform") }
        if terraform && !project.specs.isEmpty { throw ValidationError("--terraform takes the spec from its query on standard input, not as an argument") }
        if targetRegistry != nil && chosen != .imagedefinitions && chosen != .imagedetail { throw ValidationError("--target-registry goes with --format imagedefinitions or imagedetail") }
        // A host, as a target names it: it is repeated in the error line when no target is on
        // it, so a newline in it would forge a line.
        if let targetRegistry, targetRegistry.isEmpty || targetRegistry.utf8.count > 255
            || !targetRegistry.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) || ".-:[]_".utf8.contains($0) }) {
            let shown = String(targetRegistry.unicodeScalars.prefix(60).map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) })
            throw ValidationError("--target-registry '\(shown)' is not a registry host (HOST or HOST:PORT, e.g. 210987654321.dkr.ecr.us-east-1.amazonaws.com)")
        }
    }

    func run() async throws {
        try await reportingErrors {
            let project = project.project
            let format = try PlanFormat.chosen(format: format, json: json, terraform: terraform)
            let terraform = format == .terraform
            var specPaths = self.project.specs
            if terraform { specPaths = [try Self.terraformQuery(FileHandle.standardInput.readDataToEndOfFile(), root: project.root)] }
            let specs = try matrix.shard.select(project.loadSpecs(specPaths), quiet: matrix.transport.quiet)
            let lock = try project.loadLock()
            let planner = Planner(project: project)
            var plans: [ImagePlan] = []
            for spec in specs { plans.append(try await planner.plan(spec, lock: lock)) }
            if matrix.matrix {
                try await matrix.printMatrix(Array(zip(specs, plans)), root: project.root)
                return
            }
            switch format {
            case .terraform:
                guard let plan = plans.first else { return }
                // Terraform's protocol takes strings only: several targets as comma-separated lists.
                let several: [(key: String, value: JSONValue)] = plan.repositories.count > 1
                    ? [("repositories", .string(plan.repositories.joined(separator: ","))), ("images", .string(plan.images.joined(separator: ",")))] : []
                print(Self.render(.object(Self.fields(plan, targets: false) + [("reference", .string(plan.taggedReference))] + several)))
            case .json:
                print(Self.render(.object([("images", .object(plans.map { ($0.name, .object(Self.fields($0))) }))])))
            case .imagedefinitions:
                print(Self.render(try DeployArtifacts.imageDefinitions(Array(zip(specs, plans)), registry: targetRegistry)))
            case .imagedetail:
                print(Self.render(try DeployArtifacts.imageDetail(Array(zip(specs, plans)), registry: targetRegistry)))
            case .text:
                for plan in plans {
                    for image in plan.images { print("\(plan.name) \(image)") }
                }
            }
        }
    }

    /// A plan's JSON fields; a spec with several targets adds `targets` (the first target
    /// stays in `image` and `repository`).
    /// - Parameter targets: whether to add `targets` (not for Terraform, which takes strings only).
    static func fields(_ plan: ImagePlan, targets: Bool = true) -> [(key: String, value: JSONValue)] {
        let fields: [(key: String, value: JSONValue)] = [("image", .string(plan.image)), ("digest", .string(plan.digest.description)),
                                                         ("tag", .string(plan.tag)), ("repository", .string(plan.repository))]
        guard targets, plan.repositories.count > 1 else { return fields }
        return fields + [("targets", .array(zip(plan.repositories, plan.images).map { .object([("repository", .string($0)), ("image", .string($1))]) }))]
    }

    static func render(_ value: JSONValue) -> String { String(decoding: value.serialized(), as: UTF8.self) }

    /// The spec path from Terraform's query (relative paths are taken from the root).
    static func terraformQuery(_ data: Data, root: String) throws -> String {
        guard let object = JSONValue.object(parsing: Array(data), what: "terraform query"), let members = object.members else {
            throw SpecError(location: "terraform query", message: "standard input must be a JSON object like {\"spec\": \"images/NAME.yaml\"}")
        }
        guard let spec = object["spec"]?.stringValue, !spec.isEmpty else {
            throw SpecError(location: "terraform query", message: "needs \"spec\": the path of an image spec")
        }
        if let unknown = members.map(\.key).sorted().first(where: { $0 != "spec" }) {
            throw SpecError(location: "terraform query", message: "unknown key '\(unknown)' (known: spec)")
        }
        return spec.hasPrefix("/") ? spec : (root as NSString).appendingPathComponent(spec)
    }
}
