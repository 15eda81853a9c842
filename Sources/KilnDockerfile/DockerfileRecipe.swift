import Foundation
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
    /// `config.User`: who owns the directories WORKDIR makes until a USER changes it.
    public var user: String

    public init(env: [String] = [], workingDir: String = "", shell: [String] = [], onBuild: [String] = [], os: String = "linux", user: String = "") {
        self.user = user
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
                  onBuild: strings("OnBuild"), os: imageConfig["os"]?.stringValue ?? "linux", user: section?["User"]?.stringValue ?? "")
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
    /// `--chmod` as given; Docker does not apply it to unpacked entries, and neither does kiln.
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

/// What one COPY, ADD or WORKDIR puts in the layer: COPY and ADD resolved against the build
/// context, WORKDIR's directory (``Overlay/directory(_:owner:)``, made as BuildKit's
/// `dispatchWorkdir` makes it: with parents, 0755, owned by the USER in effect).
public struct DockerfileCopy: Sendable, Equatable {
    /// A source of the instruction: copied as an overlay, or (ADD) a tar archive to unpack.
    public enum Item: Sendable, Equatable {
        case overlay(Overlay)
        case archive(DockerfileArchive)
    }

    /// `COPY`, `ADD` or `WORKDIR`.
    public var instruction: String
    public var line: Int
    /// The sources in order: overlays ready for ``OverlayScanner`` (wildcards expanded,
    /// `.dockerignore` and `--exclude` in ``Overlay/excluding``, sources named by their real
    /// paths inside the context) and ADD's local tar archives.
    public var items: [Item]

    public var overlays: [Overlay] { items.compactMap { if case .overlay(let overlay) = $0 { return overlay } else { return nil } } }
    public var archives: [DockerfileArchive] { items.compactMap { if case .archive(let archive) = $0 { return archive } else { return nil } } }
}

/// What a Dockerfile asks of a bake: the base, the files of its ONE layer, the config edits.
public struct DockerfileRecipe: Sendable, Equatable {
    /// The Dockerfile as the user named it (for messages).
    public var path: String
    /// The build context's real path.
    public var contextRoot: String
    public var base: DockerfileBase
    /// COPY, ADD and WORKDIR in Dockerfile order: what each puts in the layer.
    public var copies: [DockerfileCopy]
    /// ENV, LABEL, USER, WORKDIR, ENTRYPOINT, CMD, EXPOSE, VOLUME, STOPSIGNAL, HEALTHCHECK,
    /// SHELL, ONBUILD, MAINTAINER, as Docker writes them into the config.
    public var edits: ConfigEdits
    public var warnings: [DockerfileWarning]

    /// The overlays of every COPY, ADD and WORKDIR, in order, WITHOUT ADD's archives (see
    /// ``layerOverlays(unpackingInto:)``).
    public var overlays: [Overlay] { copies.flatMap(\.overlays) }
    /// Every archive ADD unpacks.
    public var archives: [DockerfileArchive] { copies.flatMap(\.archives) }

    /// Every overlay of the layer in Dockerfile order, ADD's archives unpacked (by
    /// ``ArchiveUnpacker``) into numbered subdirectories of `staging`, an empty directory the
    /// caller made and removes once the layer is built (also when it fails). Unpacked entries
    /// keep the archive's modes and owners unless ADD gave `--chown`; `--chmod` does not apply
    /// to them, as in Docker.
    /// - Throws: ``DockerfileError`` naming the ADD line and the archive.
    public func layerOverlays(unpackingInto staging: String) throws -> [Overlay] {
        var result: [Overlay] = []
        var count = 0
        for copy in copies {
            for item in copy.items {
                switch item {
                case .overlay(let overlay):
                    result.append(overlay)
                case .archive(let archive):
                    count += 1
                    let directory = (staging.hasSuffix("/") ? staging : staging + "/") + String(count)
                    do {
                        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
                        let recorded = try ArchiveUnpacker.unpack(archive.source, into: directory, what: UntrustedText.excerpt(name(archive)),
                                                                   quote: { UntrustedText.excerpt($0) })
                        result.append(Overlay(source: directory, destination: archive.destination, owner: archive.owner, intoDirectory: true, keepsAnyLink: true, recorded: recorded))
                    } catch let error as LayerError {
                        let message = "\(error)".hasPrefix("libarchive: ") ? String("\(error)".dropFirst("libarchive: ".count)) : "\(error)"
                        throw DockerfileError(file: path, line: archive.line, instruction: "ADD", message: "unpacking \(message)")
                    } catch {
                        throw DockerfileError(file: path, line: archive.line, instruction: "ADD", message: "unpacking '\(UntrustedText.excerpt(name(archive)))': \(error.localizedDescription)")
                    }
                }
            }
        }
        return result
    }

    /// A failure of the bake of `layerOverlays` (this recipe's ``overlays`` or
    /// ``layerOverlays(unpackingInto:)``, in that order) named by the COPY or ADD it comes from:
    /// `Dockerfile:7: COPY: ...`, context paths made relative. The layer is built outside this
    /// module (unknown `--chown` names, a FIFO inside a copied directory are found there);
    /// `nil` when no instruction's source or owner is named in the error.
    public func attribute(_ error: Error, layerOverlays: [Overlay]) -> DockerfileError? {
        guard let error = error as? LayerError else { return nil }
        var owners: [(Overlay, DockerfileCopy)] = []
        var position = 0
        for copy in copies {
            for item in copy.items {
                if case .overlay = item {} else if layerOverlays.count == overlays.count { continue }
                guard position < layerOverlays.count else { break }
                owners.append((layerOverlays[position], copy))
                position += 1
            }
        }
        let path: String?
        switch error {
        case .missingSource(let value), .hardlink(let value), .reservedName(let value), .fileChanged(let value): path = value
        case .invalidImagePath(let value, _): path = value
        case .escapingSymlink(let value, _), .unsupportedFileType(let value, _), .unreadable(let value, _): path = value
        default: path = nil
        }
        let text = "\(error)"
        let found = owners.first { overlay, _ in
            if let path { return !overlay.makesDirectory && (path == overlay.source || path.hasPrefix(overlay.source.hasSuffix("/") ? overlay.source : overlay.source + "/")) }
            guard let owner = overlay.owner else { return false }
            switch error {
            case .unknownOwner, .invalidOwner: return text.contains("'\(owner)'")
            default: return false
            }
        }
        guard let (overlay, copy) = found else { return nil }
        var message = text
        var shown = path
        // Staging directories of unpacked archives and the context's root mean nothing to the user.
        func strip(_ prefix: String) {
            let prefix = prefix.hasSuffix("/") ? prefix : prefix + "/"
            message = message.replacingOccurrences(of: prefix, with: "")
            shown = shown?.replacingOccurrences(of: prefix, with: "")
        }
        if !copy.archives.isEmpty, copy.overlays.allSatisfy({ $0.source != overlay.source }) { strip(overlay.source) }
        strip(contextRoot)
        // The path is the context's or an archive's (a pull request's): quoted as an excerpt.
        if let shown, shown.count > UntrustedText.maximumExcerpt {
            message = message.replacingOccurrences(of: shown, with: UntrustedText.excerpt(shown))
        }
        return DockerfileError(file: self.path, line: copy.line, instruction: copy.instruction, message: message)
    }

    /// An archive named relative to the context.
    private func name(_ archive: DockerfileArchive) -> String {
        archive.source.hasPrefix(contextRoot + "/") ? String(archive.source.dropFirst(contextRoot.count + 1)) : archive.source
    }

    /// ``refuseArchives()`` for callers written before the recipe knew its file and context.
    public func refuseArchives(path: String, context: BuildContext) throws {
        var named = self
        named.path = path
        named.contextRoot = context.root
        try named.refuseArchives()
    }

    /// For a builder that does not unpack archives: the first one ADD would unpack, refused in
    /// one line naming it.
    public func refuseArchives() throws {
        guard let archive = archives.first else { return }
        throw DockerfileError(file: path, line: archive.line, instruction: "ADD",
                              message: "unpacking the local archive '\(UntrustedText.excerpt(name(archive)))' (\(archive.format.rawValue)) is not supported here; unpack it into the build context and COPY the directory")
    }
}
