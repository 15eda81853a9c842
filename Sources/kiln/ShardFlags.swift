import ArgumentParser
import Foundation
import KilnProject
import KilnSpec

/// `--shard K/N` of build and plan: work on one of N deterministic groups of the specs.
struct ShardFlags: ParsableArguments {
    @Option(help: ArgumentHelp("Only the K-th of N groups of the specs (K from 1 to N; a spec's group is a hash of its name, so adding a spec moves no other).", valueName: "K/N"))
    var shard: String?

    func validate() throws { _ = try parsed() }

    func parsed() throws -> Shard? {
        do {
            return try shard.map { try Shard(parsing: $0) }
        } catch {
            throw ValidationError("--shard \(error)")
        }
    }

    /// The specs of the group, or all of them without `--shard`; a note when the group is empty.
    func select(_ specs: [ImageSpec], quiet: Bool = false) throws -> [ImageSpec] {
        guard let shard = try parsed() else { return specs }
        let selected = shard.select(specs)
        if selected.isEmpty && !quiet { printNote("shard \(shard) holds none of the \(specs.count) specs") }
        return selected
    }
}

func printNote(_ message: String) {
    FileHandle.standardError.write(Data("kiln: note: \(message)\n".utf8))
}
