import KilnDockerfile

/// `docker images [--filter reference=PATTERN] [--format TEMPLATE]`: the store's names, as the
/// CDK asks for them (`--format '{{.Repository}}:{{.Tag}}' --filter reference=*/*:TAG`).
package enum DockerImageList {
    /// One line per name matching every `reference=` pattern, formatted by `template` (Go
    /// template fields `.Repository`, `.Tag`, `.ID`, `.Digest`), else Docker's table.
    /// - Throws: for another filter or template field, naming it.
    package static func lines(in images: DockerImageStore, filters: [String], format: String?) async throws -> [String] {
        var patterns: [GlobPattern] = []
        for filter in filters {
            guard filter.hasPrefix("reference=") else { throw DockerError.unsupportedFlag("--filter \(filter)", reason: "kiln docker filters by reference= only") }
            // Docker matches with Go's path.Match: `filepath.Match` on `/`-separated names.
            guard let pattern = try? GlobPattern(filepathMatch: String(filter.dropFirst("reference=".count))) else {
                throw DockerError.unsupportedFlag("--filter \(filter)", reason: "the pattern is malformed (Go's path.Match syntax)")
            }
            patterns.append(pattern)
        }
        var lines: [String] = format == nil ? ["REPOSITORY\tTAG\tIMAGE ID"] : []
        for (text, descriptor) in try images.images() {
            guard let name = try? DockerImageName(parsing: text) else { continue }
            // A loaded image without a name is kept under its ID: Docker lists it as <none>,
            // and no reference filter matches it.
            let unnamed = text.hasPrefix("sha256:") && name.tag.count == 64
            guard !(unnamed && !patterns.isEmpty) else { continue }
            // As Docker: a pattern matches the familiar name with its tag, or without it.
            guard unnamed || patterns.allSatisfy({ $0.matches(name.description) || $0.matches(name.repository) }) else { continue }
            // Docker's image ID is the config's digest, shown as 12 hex digits; the digest is the manifest's.
            let id = try await images.configDescriptor(of: name, manifest: descriptor).digest.hex.prefix(12)
            let (repository, tag) = unnamed ? ("<none>", "<none>") : (name.repository, name.tag)
            let fields = ["Repository": repository, "Tag": tag, "ID": String(id), "Digest": descriptor.digest.description]
            if let format {
                lines.append(try render(format, fields))
            } else {
                lines.append("\(repository)\t\(tag)\t\(id)")
            }
        }
        return lines
    }

    /// Replaces each `{{.Field}}` (spaces allowed inside the braces); other template syntax is refused.
    static func render(_ template: String, _ fields: [String: String]) throws -> String {
        var output = ""
        var rest = Substring(template)
        while let open = rest.range(of: "{{") {
            output += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "}}") else { throw DockerError.unsupportedFlag("--format \(template)", reason: "unclosed {{") }
            let field = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            guard field.hasPrefix("."), let value = fields[String(field.dropFirst())] else {
                throw DockerError.unsupportedFlag("--format \(template)", reason: "kiln docker knows {{.Repository}}, {{.Tag}}, {{.ID}} and {{.Digest}}")
            }
            output += value
            rest = rest[close.upperBound...]
        }
        return output + rest
    }
}
