import ArgumentParser
import Foundation
import KilnBake
import KilnDocker
import KilnDockerfile
import OCI

/// `docker build` as the CDK runs it: `build [--build-arg K=V ...] --tag NAME [--file F]
/// [--target S] [--platform P] [--network M] [--cache-from ...] [--cache-to ...] [--no-cache]
/// [--output=...] [--secret ...] [--ssh ...] [--build-context ...] DIR`.
struct DockerBuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Build an image from a Dockerfile that only adds files and edits config (docker build).",
        discussion: """
            Every COPY and ADD becomes part of ONE kiln layer, placed against the base as kiln \
            bake places files; RUN, ADD <url>, COPY --from and multi-stage builds are refused \
            with the file and line. The same Dockerfile, context files and base digest give the \
            same image, whatever the files' mtimes. --network, --cache-from, --cache-to, \
            --no-cache, --pull and --progress are accepted and mean nothing to kiln; --secret, \
            --ssh, --build-context and --output are refused.

            Secrets are never baked: the files COPY and ADD add (also inside ADD's archives) and \
            the ENV and LABEL values are scanned first; a finding fails the build with one line \
            and its fingerprint. --allow-secret FINGERPRINT, or KILN_ALLOW_SECRETS=FP[,FP...] \
            in the environment (the AWS CDK passes no flags), bakes it anyway (docs/secrets.md).
            """
    )

    @ParentCommand var docker: DockerCommand
    @Option(name: [.short, .long], help: ArgumentHelp("Name of the image; repeatable.", valueName: "NAME[:TAG]")) var tag: [String] = []
    @Option(name: [.short, .long], help: ArgumentHelp("The Dockerfile (default: DIR/Dockerfile).", valueName: "PATH")) var file: String?
    @Option(help: ArgumentHelp("A build argument; repeatable.", valueName: "KEY=VALUE")) var buildArg: [String] = []
    @Option(help: ArgumentHelp("The stage to build: the Dockerfile's only stage, by its name.", valueName: "STAGE")) var target: String?
    @Option(help: ArgumentHelp("The base's platform to build on (default: FROM --platform, else this machine's).", valueName: "os/arch[/variant]")) var platform: String?
    @Option(help: .hidden) var network: String?
    @Option(help: .hidden) var cacheFrom: [String] = []
    @Option(help: .hidden) var cacheTo: String?
    @Flag(help: .hidden) var noCache = false
    @Flag(help: .hidden) var pull = false
    @Option(help: .hidden) var progress: String?
    @Flag(name: [.short, .long], help: "Print only the image ID and errors.") var quiet = false
    @Option(help: .hidden) var output: [String] = []
    @Option(help: .hidden) var secret: [String] = []
    @Option(help: .hidden) var ssh: [String] = []
    @Option(help: .hidden) var buildContext: [String] = []
    @Argument(help: ArgumentHelp("The build context: the directory COPY and ADD read from.", valueName: "DIR")) var context: String
    @OptionGroup(title: "Secrets") var secretFlags: SecretFlags

    func run() async throws {
        try await reportingErrors {
            // What kiln cannot honour is refused before anything is read.
            if !secret.isEmpty { throw DockerError.unsupportedFlag("--secret", reason: "build secrets are for RUN steps, which kiln does not run") }
            if !ssh.isEmpty { throw DockerError.unsupportedFlag("--ssh", reason: "SSH agents are for RUN steps, which kiln does not run") }
            if !buildContext.isEmpty { throw DockerError.unsupportedFlag("--build-context", reason: "kiln reads one context directory; COPY --from is refused") }
            if !output.isEmpty { throw DockerError.unsupportedFlag("--output", reason: "kiln docker keeps images in its store; use kiln bake --output to write layouts or archives") }
            let context = try docker.context()
            let names = try tag.map(DockerImageName.init(parsing:))
            var arguments: [String: String] = [:]
            for entry in buildArg {
                // `--build-arg NAME` alone takes the value from the environment, as Docker does.
                if let equals = entry.firstIndex(of: "=") {
                    arguments[String(entry[..<equals])] = String(entry[entry.index(after: equals)...])
                } else if let value = ProcessInfo.processInfo.environment[entry] {
                    arguments[entry] = value
                }
            }
            // As Docker: -f is relative to the current directory; by default DIR/Dockerfile. It
            // comes from the pull request as the context does, so it must be inside the context
            // (a link to /proc/self/environ or ~/.git-credentials must not be read, let alone
            // quoted in an error).
            let dockerfilePath = try DockerfileLocation.inside(context: self.context, file: file)
            let dockerfile = try Dockerfile.load(path: dockerfilePath, name: file ?? "Dockerfile")
            var request = DockerBuild.Request(dockerfile: dockerfile, context: try BuildContext(directory: self.context, dockerfile: dockerfilePath), buildArgs: arguments,
                                              platform: try platform.map(Platform.init(parsing:)), target: target, names: names)
            request.secrets = try secretFlags.policy()
            let progress = TransferProgress.forStandardError(quiet: quiet)
            let built = try await withRunSession(context.transportOptions(quiet: quiet)) { store in
                try await DockerBuild(images: context.images, store: store, progress: progress).build(request)
            }
            // Each warning names itself (`Dockerfile:3: warning: ...`).
            if !quiet { for warning in built.warnings { FileHandle.standardError.write(Data("kiln: \(warning)\n".utf8)) } }
            print(built.config.digest)
        }
    }
}
