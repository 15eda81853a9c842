import KilnLayer
import KilnRecipe
import OCI

/// The base a Dockerfile names: FROM with the ARGs before it (and `--build-arg`) expanded.
public struct DockerfileBase: Sendable, Equatable {
    /// The image reference as written after expansion (`nginx:1.27`, `scratch`).
    public var image: String
    /// `FROM --platform=...` after expansion (`linux/arm64`, or `$BUILDPLATFORM` expanded);
    /// `nil` when not given: a multi-platform base then takes the host's platform, as Docker does.
    public var platform: String?
    /// The line of FROM.
    public var line: Int
    public init(image: String, platform: String?, line: Int) {
        self.image = image
        self.platform = platform
        self.line = line
    }

    /// `FROM scratch`: an empty base.
    public var isScratch: Bool { image == "scratch" }
}

/// What the evaluation reads from the base image's config (`config` of the image config):
/// variables for expansion, the directory relative paths start from, the shell of shell-form
/// commands, and the ONBUILD triggers kiln refuses.
public struct DockerfileBaseConfig: Sendable, Equatable {
    /// `KEY=VALUE`, as `config.Env`.
    public var env: [String]
    /// `config.WorkingDir`; empty means `/`.
    public var workingDir: String
    /// `config.Shell`; empty means `/bin/sh -c` (`cmd /S /C` for Windows).
    public var shell: [String]
    /// `config.OnBuild`.
    public var onBuild: [String]
    /// The image config's `os`.
    public var os: String

    public init(env: [String] = [], workingDir: String = "", shell: [String] = [], onBuild: [String] = [], os: String = "linux") {
        self.env = env
        self.workingDir = workingDir
        self.shell = shell
        self.onBuild = onBuild
        self.os = os
    }

    /// Reads an image config document (`{"os":…, "config":{"Env":…}}`); fields of the wrong
    /// type count as absent.
    public init(imageConfig: JSONValue) {
        let section = imageConfig["config"]
        func strings(_ key: String) -> [String] { section?[key]?.arrayValue?.compactMap(\.stringValue) ?? [] }
        self.init(env: strings("Env"), workingDir: section?["WorkingDir"]?.stringValue ?? "", shell: strings("Shell"),
                  onBuild: strings("OnBuild"), os: imageConfig["os"]?.stringValue ?? "linux")
    }

    /// The shell shell-form CMD and ENTRYPOINT run under when no SHELL is set.
    var defaultShell: [String] { os == "windows" ? ["cmd", "/S", "/C"] : ["/bin/sh", "-c"] }
}

/// The platforms Docker's automatic ARGs describe (`TARGETPLATFORM`, `TARGETOS`,
/// `TARGETARCH`, `TARGETVARIANT`, and the `BUILD…` ones for the machine that builds).
public struct DockerfilePlatforms: Sendable, Equatable {
    public var target: Platform
    public var build: Platform

    public init(target: Platform, build: Platform) {
        self.target = target
        self.build = build
    }

    var arguments: [(String, String)] {
        [("TARGETPLATFORM", target.description), ("TARGETOS", target.os), ("TARGETARCH", target.architecture), ("TARGETVARIANT", target.variant ?? ""),
         ("BUILDPLATFORM", build.description), ("BUILDOS", build.os), ("BUILDARCH", build.architecture), ("BUILDVARIANT", build.variant ?? "")]
    }
}

/// A local tar archive that ADD unpacks into a directory of the image.
public struct DockerfileArchive: Sendable, Equatable {
    /// Its real path in the build context.
    public var source: String
    public var format: ArchiveProbe.Format
    /// The directory it unpacks into (created when missing).
    public var destination: ImagePath
    /// `--chown`: every unpacked entry gets it; `nil` keeps the archive's owners.
    public var owner: OwnerSpec?
    /// `--chmod`.
    public var mode: UInt32?
    /// ADD's line.
    public var line: Int

    public init(source: String, format: ArchiveProbe.Format, destination: ImagePath, owner: OwnerSpec?, mode: UInt32?, line: Int) {
        self.line = line
        self.source = source
        self.format = format
        self.destination = destination
        self.owner = owner
        self.mode = mode
    }
}

/// One COPY or ADD, resolved against the build context.
public struct DockerfileCopy: Sendable, Equatable {
    /// `COPY` or `ADD`.
    public var instruction: String
    public var line: Int
    /// What goes into the layer, in order, ready for ``OverlayScanner``: one overlay per source
    /// (wildcards expanded, `.dockerignore` and `--exclude` in ``Overlay/excluding``), sources
    /// named by their real paths inside the context.
    public var overlays: [Overlay]
    /// ADD's local tar archives, unpacked rather than copied (not done by the scanner).
    public var archives: [DockerfileArchive]
}

/// What a Dockerfile asks of a bake: the base, the files of its ONE layer, the config edits.
public struct DockerfileRecipe: Sendable, Equatable {
    public var base: DockerfileBase
    /// COPY and ADD in Dockerfile order.
    public var copies: [DockerfileCopy]
    /// ENV, LABEL, USER, WORKDIR, ENTRYPOINT, CMD, EXPOSE, VOLUME, STOPSIGNAL, HEALTHCHECK,
    /// SHELL, ONBUILD, MAINTAINER, as Docker writes them into the config.
    public var edits: ConfigEdits
    public var warnings: [DockerfileWarning]

    /// Every overlay of every COPY and ADD, in order: the scanner's input.
    public var overlays: [Overlay] { copies.flatMap(\.overlays) }
    /// Every archive ADD unpacks.
    public var archives: [DockerfileArchive] { copies.flatMap(\.archives) }

    /// For a builder that does not unpack archives: the first one ADD would unpack, refused in
    /// one line naming it (`Dockerfile:4: ADD: unpacking the local archive 'app.tgz' is not
    /// supported; unpack it into the build context and COPY the directory`).
    /// - Parameters:
    ///   - path: the Dockerfile as the user named it.
    ///   - context: names the archive relative to the build context.
    public func refuseArchives(path: String, context: BuildContext) throws {
        guard let archive = archives.first else { return }
        let name = archive.source.hasPrefix(context.root + "/") ? String(archive.source.dropFirst(context.root.count + 1)) : archive.source
        throw DockerfileError(file: path, line: archive.line, instruction: "ADD",
                              message: "unpacking the local archive '\(name)' (\(archive.format.rawValue)) is not supported; unpack it into the build context and COPY the directory")
    }
}
