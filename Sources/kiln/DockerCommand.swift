import ArgumentParser
import Foundation
import KilnAWS
import KilnDocker
import KilnRegistry

/// `kiln docker ...`, also run as `kiln-docker ...` (a link to the kiln binary): the part of the
/// Docker CLI the AWS CDK runs to build and publish `ContainerImage.fromAsset` images
/// (`CDK_DOCKER=kiln-docker`), with Docker's exit statuses and output where the CDK reads them.
struct DockerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "docker",
        abstract: "The Docker CLI subset the AWS CDK uses (build, load, tag, push, inspect, images, login); also run as kiln-docker.",
        discussion: """
            Lets `cdk deploy` build ContainerImage.fromAsset images without Docker: set \
            CDK_DOCKER=kiln-docker. `build` reads the Dockerfile subset that only adds files and \
            edits config (FROM, COPY, ADD, ENV, ARG, LABEL, USER, WORKDIR, ENTRYPOINT, CMD, \
            EXPOSE, VOLUME, STOPSIGNAL, HEALTHCHECK, SHELL) into ONE kiln layer, deterministically; \
            RUN and multi-stage builds are refused. `load` reads docker-archives and OCI archives \
            (ContainerImage.fromTarball). Images are kept in a local store ($KILN_DOCKER_STORE, \
            else docker-images in kiln's cache directory) holding what kiln made and the loaded \
            images; `push` takes a built image's base layers from the base's registry.
            """,
        subcommands: [DockerBuildCommand.self, DockerLoadCommand.self, DockerTagCommand.self, DockerPushCommand.self, DockerInspectCommand.self, DockerImagesCommand.self, DockerLoginCommand.self]
    )

    /// Docker's global option: the directory of `config.json` (credentials, `credHelpers`).
    @Option(name: .customLong("config"), help: ArgumentHelp("Directory of Docker's config.json (credentials and credential helpers).", valueName: "DIR"))
    var configDirectory: String?

    func context() throws -> DockerContext { try DockerContext(configDirectory: configDirectory) }
}

/// What every `kiln docker` subcommand shares: the global `--config DIR`, the store, and how
/// registries are reached (kiln's own config file and flags' defaults).
struct DockerContext {
    let configDirectory: String?
    let images: DockerImageStore
    let logins: DockerLogins

    init(configDirectory: String?) throws {
        self.configDirectory = configDirectory
        images = try DockerImageStore.current()
        logins = try DockerLogins(configDirectory: configDirectory)
    }

    /// Transport options as kiln's other commands make them, with the login file
    /// (`--config DIR`'s config.json, else kiln's own) asked first and, with `--config`, no
    /// Docker config of the user's (``RegistryCredentials`` says the order).
    func transportOptions(quiet: Bool) throws -> TransportOptions {
        var flags = try TransportFlags.parse([])
        flags.quiet = quiet
        return try flags.options(outputRegistry: nil, loginFile: logins.file, dockerConfig: configDirectory == nil ? DockerConfigCredentials() : DockerConfigCredentials(files: []))
    }
}
