/// `docker images [--filter reference=PATTERN] [--format TEMPLATE]`: the store's names, as the
/// CDK asks for them (`--format '{{.Repository}}:{{.Tag}}' --filter reference=*/*:TAG`).
package enum DockerImageList {
    /// One line per name matching every `reference=` pattern, formatted by `template` (Go
    /// template fields `.Repository`, `.Tag`, `.ID`, `.Digest`), else Docker's table.
    /// - Throws: for another filter or template field, naming it.
    package static func lines(in images: DockerImageStore, filters: [String], format: String?) throws -> [String] {
        var patterns: [String] = []
        for filter in filters {
            guard filter.hasPrefix("reference=") else { throw DockerError.unsupportedFlag("--filter \(filter)", reason: "kiln docker filters by reference= only") }
            patterns.append(String(filter.dropFirst("reference=".count)))
        }
        var lines: [String] = format == nil ? ["REPOSITORY\tTAG\tIMAGE ID"] : []
        for (text, descriptor) in try images.images() {
            guard let name = try? DockerImageName(parsing: text) else { continue }
            // As Docker: a pattern matches the familiar name with its tag, or without it.
            guard patterns.allSatisfy({ GoPathPattern.matches($0, name.description) || GoPathPattern.matches($0, name.repository) }) else { continue }
            let fields = ["Repository": name.repository, "Tag": name.tag, "ID": descriptor.digest.description, "Digest": descriptor.digest.description]
            if let format {
                lines.append(try render(format, fields))
            } else {
                lines.append("\(name.repository)\t\(name.tag)\t\(descriptor.digest.hex.prefix(12))")
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
