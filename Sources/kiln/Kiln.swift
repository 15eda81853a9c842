import ArgumentParser
import Foundation
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
        subcommands: [Bake.self, LockCommand.self, OutdatedCommand.self, PlanCommand.self, BuildCommand.self, VerifyCommand.self, RenderTaskdefCommand.self, CopyCommand.self, DigestCommand.self, DockerCommand.self]
    )

    static func main() async {
        // The statically linked Swift runtime reads the command line from /proc/self/cmdline;
        // without /proc (a bare chroot) kiln would see no arguments and act on none.
        guard !CommandLine.arguments.isEmpty else {
            FileHandle.standardError.write(Data("kiln: error: cannot read the command line: /proc is not mounted\n".utf8))
            exit(withError: ExitCode.failure)
        }
        LoggingSystem.bootstrap { label in StderrLogHandler(label: label) }
        do {
            // Run as `kiln-docker` (a link to this binary): `kiln docker ...`.
            var arguments = Array(CommandLine.arguments.dropFirst())
            if (CommandLine.arguments[0] as NSString).lastPathComponent == "kiln-docker" { arguments.insert("docker", at: 0) }
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            // Help and --version print in full; any other parse or usage error is one line,
            // like every other bad input, with ArgumentParser's exit code (64 for usage).
            let code = exitCode(for: error)
            guard code != .success else { exit(withError: error) }
            let message = message(for: error).split(separator: "\n").first.map(String.init) ?? ""
            if !message.isEmpty {
                let text = message.hasPrefix("Error: ") ? String(message.dropFirst("Error: ".count)) : message
                FileHandle.standardError.write(Data("kiln: error: \(text)\n".utf8))
            }
            exit(withError: code)
        }
    }
}
