import ArgumentParser
import KilnRegistry
import Logging

@main
struct Kiln: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kiln",
        abstract: "Bake configuration files into container images, reproducibly and without Docker.",
        discussion: """
            kiln adds one layer holding your config files to a base image, edits its config, and \
            writes the derived image with every digest recomputed. The same inputs give the same \
            digest on every machine.
            """,
        version: kilnVersion,
        subcommands: [Bake.self, LockCommand.self, PlanCommand.self, BuildCommand.self, VerifyCommand.self, CopyCommand.self, DigestCommand.self]
    )

    static func main() async {
        LoggingSystem.bootstrap { label in StderrLogHandler(label: label) }
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
