import Foundation
import KilnSpec
import KilnStore
import OCI

/// Where `kiln build` writes each image: its spec's target, or a local copy per spec.
package enum BuildOutput: Sendable, Equatable {
    /// Each spec's target (a registry repository or a layout).
    case targets
    /// The layout `DIR/NAME` per spec (`--output oci:DIR`).
    case layouts(String)
    /// The archive `DIR/NAME.tar` per spec (`--output docker-archive:DIR` or `oci-archive:DIR`),
    /// to load and run locally. A docker-archive holds one image: `platform`'s, for a spec with
    /// several platforms.
    case archives(ArchiveReference.Format, String, platform: Platform?)

    /// Parses `--output`: `oci:DIR`, `docker-archive:DIR` or `oci-archive:DIR`; `nil` is the
    /// targets. `platform` is `--platform`, which only a docker-archive takes.
    /// - Throws: ``BuildOutputError`` naming the flag's problem.
    package init(parsing text: String?, platform: Platform?) throws {
        guard let text else {
            guard platform == nil else { throw BuildOutputError("--platform applies only to --output docker-archive:DIR (which holds one image)") }
            self = .targets
            return
        }
        let forms = "--output must be oci:DIR, docker-archive:DIR or oci-archive:DIR"
        if text.hasPrefix("oci:") {
            self = .layouts(String(text.dropFirst("oci:".count)))
        } else if let format = ArchiveReference.Format.allCases.first(where: { text.hasPrefix($0.prefix) }) {
            self = .archives(format, String(text.dropFirst(format.prefix.count)), platform: platform)
        } else {
            throw BuildOutputError(forms)
        }
        guard !directory.isEmpty else { throw BuildOutputError("\(forms): the directory is empty") }
        if platform != nil, !isDockerArchive {
            throw BuildOutputError("--platform applies only to --output docker-archive:DIR (which holds one image)")
        }
    }

    private var directory: String {
        switch self {
        case .targets: return ""
        case .layouts(let directory), .archives(_, let directory, _): return directory
        }
    }

    private var isDockerArchive: Bool {
        if case .archives(.docker, _, _) = self { return true }
        return false
    }

    /// The platform a docker-archive keeps of a multi-platform image.
    var archivePlatform: Platform? {
        if case .archives(_, _, let platform) = self { return platform }
        return nil
    }

    /// Where `spec`'s image goes, without a tag.
    /// - Throws: for a docker-archive of a spec whose target gives no repository name to load
    ///   the image under.
    func target(for spec: ImageSpec) throws -> ImageReference {
        switch self {
        case .targets:
            return spec.target
        case .layouts(let directory):
            return .layout(LayoutReference(directory: (directory as NSString).appendingPathComponent(spec.name)))
        case .archives(let format, let directory, _):
            let path = (directory as NSString).appendingPathComponent("\(spec.name).tar")
            guard format == .docker else { return .archive(ArchiveReference(format: format, path: path)) }
            // Loaded under the name it will have in its registry; a layout target has none, so
            // the image is named after its spec on `localhost`, as podman names local images.
            let name: String
            switch spec.target {
            case .registry(let registry): name = registry.name
            default:
                name = "localhost/\(spec.name)"
                guard (try? RegistryReference(parsing: name)) != nil else {
                    throw BuildOutputError("\(spec.name): a docker-archive loads the image as \(name), which is not a repository name (rename the spec, or give it a registry target)")
                }
            }
            return .archive(ArchiveReference(format: .docker, path: path, name: name))
        }
    }
}

/// A bad `kiln build --output` or `--platform`.
package struct BuildOutputError: Error, Equatable, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}
