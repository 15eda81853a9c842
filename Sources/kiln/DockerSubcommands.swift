import ArgumentParser
import Foundation
import KilnBake
import KilnDocker
import KilnRegistry
import OCI

struct DockerTagCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tag", abstract: "Give an image of the store another name (docker tag).")

    @ParentCommand var docker: DockerCommand
    @Argument(help: ArgumentHelp("The image.", valueName: "SOURCE[:TAG]")) var source: String
    @Argument(help: ArgumentHelp("Its new name.", valueName: "TARGET[:TAG]")) var target: String

    func run() async throws {
        try await reportingErrors {
            let context = try docker.context()
            try await context.images.tag(try DockerImageName(parsing: source), as: try DockerImageName(parsing: target))
        }
    }
}

struct DockerPushCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "push", abstract: "Push an image of the store to its registry (docker push).")

    @ParentCommand var docker: DockerCommand
    @Flag(name: [.short, .long], help: "Print only the result and errors.") var quiet = false
    @Argument(help: ArgumentHelp("The image; its name says where it goes.", valueName: "NAME[:TAG]")) var name: String

    func run() async throws {
        try await reportingErrors {
            let context = try docker.context()
            let name = try DockerImageName(parsing: name)
            let progress = TransferProgress.forStandardError(quiet: quiet)
            let pushed = try await withRunSession(context.transportOptions(quiet: quiet)) { store in
                try await DockerPush(images: context.images, store: store, progress: progress).push(name)
            }
            // Docker's last line of a push.
            print("\(name.tag): digest: \(pushed.digest) size: \(pushed.size)")
        }
    }
}

struct DockerInspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Print an image of the store as JSON (docker inspect); exit status 1 when there is no such image."
    )

    @ParentCommand var docker: DockerCommand
    @Option(name: .customLong("type"), help: ArgumentHelp("Only images are known.", valueName: "image")) var type: String?
    @Argument(help: ArgumentHelp("Images.", valueName: "NAME[:TAG]")) var names: [String]

    func run() async throws {
        try await reportingErrors {
            if let type, type != "image" { throw DockerError.unsupportedFlag("--type \(type)", reason: "kiln docker knows images only") }
            let context = try docker.context()
            var found: [JSONValue] = []
            var missing: [String] = []
            for text in names {
                // A name Docker could not parse is, as there, simply not an object it has.
                guard let name = try? DockerImageName(parsing: text) else {
                    missing.append(text)
                    continue
                }
                do {
                    if case .array(let entries) = try await DockerInspect.json(of: name, in: context.images) { found += entries }
                } catch DockerError.noSuchImage {
                    missing.append(text)
                }
            }
            // As Docker: what was found is printed, each missing name is an error line, and the
            // status is 1 when any was missing.
            print(String(decoding: JSONValue.array(found).serialized(), as: UTF8.self))
            guard missing.isEmpty else {
                for name in missing { FileHandle.standardError.write(Data("Error: No such object: \(name)\n".utf8)) }
                throw ExitCode.failure
            }
        }
    }
}

struct DockerLoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Keep a registry credential for later pushes (docker login); the password is read from standard input."
    )

    @ParentCommand var docker: DockerCommand
    @Option(name: [.short, .long], help: "User name.") var username: String
    @Flag(help: "Read the password from standard input (the only way kiln takes one).") var passwordStdin = false
    @Option(name: [.short, .long], help: .hidden) var password: String?
    @Argument(help: ArgumentHelp("The registry host (no scheme).", valueName: "SERVER")) var server: String

    func run() async throws {
        try await reportingErrors {
            // A password on the command line is visible to every process of the machine.
            guard password == nil else { throw DockerError.unsupportedFlag("--password", reason: "a password on the command line is visible to other processes; use --password-stdin") }
            guard passwordStdin else { throw DockerError.unsupportedFlag("login without --password-stdin", reason: "kiln reads the password from standard input only") }
            let host = try DockerLogins.registryHost(server)
            // Basic authentication splits user and password at the first ':'.
            guard !username.contains(":"), !username.isEmpty else { throw ValidationError("the user name must not be empty or contain ':'") }
            let secret = try DockerLogins.readSecret()
            let context = try docker.context()
            try context.logins.store(Credential(username: username, secret: secret, source: context.logins.file), for: host)
            print("Login Succeeded")
        }
    }
}

struct DockerImagesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "images", abstract: "List the store's images (docker images).")

    @ParentCommand var docker: DockerCommand
    @Option(name: [.short, .long], help: ArgumentHelp("Only names matching reference=PATTERN.", valueName: "reference=PATTERN")) var filter: [String] = []
    @Option(help: ArgumentHelp("A Go template of {{.Repository}}, {{.Tag}}, {{.ID}}, {{.Digest}}.", valueName: "TEMPLATE")) var format: String?

    func run() async throws {
        try await reportingErrors {
            for line in try await DockerImageList.lines(in: try docker.context().images, filters: filter, format: format) { print(line) }
        }
    }
}

struct DockerLoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Load the images of a docker-archive or OCI archive into the store (docker load).",
        discussion: """
            Takes `docker save`'s format (Docker 25's and older ones, skopeo's docker-archive) and \
            OCI archives, plain or compressed. Every blob is checked against its digest and every \
            layer against the config's diff_id; the store keeps the layers (push sends them from \
            there) and the config byte for byte, so the image ID stays the archive's. Prints \
            `Loaded image: NAME:TAG` per name, or `Loaded image ID: sha256:…` for an image the \
            archive does not name (that ID is a name for tag and push).
            """
    )

    @ParentCommand var docker: DockerCommand
    @Option(name: [.short, .customLong("input")], help: ArgumentHelp("Read this archive instead of standard input.", valueName: "FILE")) var input: String?
    @Flag(name: [.short, .long], help: "Print only the result lines (kiln prints no progress anyway).") var quiet = false

    func run() async throws {
        try await reportingErrors {
            let context = try docker.context()
            let handle: FileHandle
            if let input {
                guard let file = FileHandle(forReadingAtPath: input) else { throw ValidationError("cannot open '\(input)' for reading") }
                handle = file
            } else {
                // As Docker: a terminal is not an archive.
                guard isatty(STDIN_FILENO) != 1 else { throw ValidationError("requested load from stdin, but stdin is a terminal; give the archive with -i FILE or a pipe") }
                handle = FileHandle.standardInput
            }
            let lines = try await DockerLoad(images: context.images).load(fd: handle.fileDescriptor, what: input.map { "archive \($0)" } ?? "the archive on standard input")
            for line in lines { print(line) }
        }
    }
}
