import ArgumentParser
import Foundation
import KilnProject
import KilnSpec
import KilnStore
import OCI

/// `kiln plan --matrix`: the CI job matrix of the specs to build (BuildMatrix), and `--shard`.
struct MatrixFlags: ParsableArguments {
    @Flag(help: "Print the CI job matrix of the specs whose target (any of several) lacks their image (one HEAD per target): {\"include\": [{\"spec\": NAME, \"path\": FILE}, ...]}. Exit 2 when a target cannot be asked.")
    var matrix = false

    @Flag(help: "With --matrix: list every spec, asking no registry.")
    var all = false

    @Option(help: ArgumentHelp("With --matrix: one job per group of the specs instead of one per spec: {\"include\": [{\"shard\": \"K/N\", \"specs\": \"NAME ...\"}, ...]}, groups with nothing to build left out; the job runs kiln build --shard K/N.", valueName: "N"))
    var shards: Int?

    @OptionGroup var shard: ShardFlags

    @OptionGroup var transport: TransportFlags

    func validate() throws {
        if all && !matrix { throw ValidationError("--all goes with --matrix") }
        if let shards {
            guard matrix else { throw ValidationError("--shards goes with --matrix") }
            guard (1...Shard.maximumCount).contains(shards) else { throw ValidationError("--shards must be from 1 to \(Shard.maximumCount)") }
            if shard.shard != nil { throw ValidationError("--shards and --shard exclude each other") }
        }
    }

    /// Prints the matrix of `specs` (already planned); exit 2 after one line per target that
    /// could not be asked, with nothing on standard output.
    func printMatrix(_ items: [(spec: ImageSpec, plan: ImagePlan)], root: String) async throws {
        var pending = items.map(\.spec)
        if !all && !items.isEmpty {
            // --username/--password-stdin log into the targets' registry when there is exactly one.
            let registries = Set(items.flatMap { item in
                item.spec.targets.compactMap { if case .registry(let registry) = $0 { registry.registry } else { nil } }
            })
            let checks = try await withRunSession(transport.options(outputRegistry: registries.count == 1 ? registries.first : nil)) { store in
                await BuildMatrix(store: store).check(items)
            }
            var failed = false
            for check in checks {
                if case .failure(let error) = check.needsBuild {
                    failed = true
                    let first = "\(error)".split(separator: "\n").first.map(String.init) ?? ""
                    printError("\(check.name): \(check.target): \(first)")
                }
            }
            if failed { throw ExitCode(2) }
            let needed = Set(checks.filter { (try? $0.needsBuild.get()) == true }.map(\.name))
            pending = pending.filter { needed.contains($0.name) }
        }
        let entries = pending.map { BuildMatrix.Entry(name: $0.name, path: BuildMatrix.relativePath($0.path, root: root)) }
        print(PlanCommand.render(BuildMatrix.document(entries, shards: shards)))
    }
}
