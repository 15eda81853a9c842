/// The fields kiln reads from any manifest or index, read from the document's one parse into
/// ``JSONValue`` (which the manifest types keep, so nothing is parsed twice or lost). Errors name
/// the field path: `layers[1].digest: …`.
struct ManifestWire {
    var json: JSONValue
    var schemaVersion: Int?
    var mediaType: String?
    var config: Descriptor?
    var layers: [Descriptor]?
    var manifests: [Descriptor]?

    static func decode(_ bytes: [UInt8], what: String) throws -> ManifestWire {
        let json: JSONValue
        do { json = try JSONValue(parsing: bytes, what: what) } catch {
            throw OCIError.malformed(what: what, reason: "not valid JSON")
        }
        var reader = FieldReader(what: what)
        guard json.isObject else { throw reader.wrongType("document") }
        return ManifestWire(
            json: json,
            schemaVersion: try reader.integer(json["schemaVersion"], "schemaVersion"),
            mediaType: try reader.string(json["mediaType"], "mediaType"),
            config: try json["config"].map { try reader.descriptor($0, "config") },
            layers: try reader.descriptors(json["layers"], "layers"),
            manifests: try reader.descriptors(json["manifests"], "manifests")
        )
    }
}

/// Typed reads of a document's fields, each failure one line naming the field.
private struct FieldReader {
    let what: String

    func wrongType(_ path: String) -> OCIError { .malformed(what: what, reason: "\(path): wrong type or missing value") }

    func string(_ value: JSONValue?, _ path: String) throws -> String? {
        guard let value, value != .null else { return nil }
        guard let text = value.stringValue else { throw wrongType(path) }
        return text
    }

    func integer(_ value: JSONValue?, _ path: String) throws -> Int? {
        guard let value, value != .null else { return nil }
        guard case .number(let literal) = value, let number = Int64(literal) else { throw wrongType(path) }
        return Int(exactly: number)
    }

    func descriptors(_ value: JSONValue?, _ path: String) throws -> [Descriptor]? {
        guard let value, value != .null else { return nil }
        guard let elements = value.arrayValue else { throw wrongType(path) }
        return try elements.enumerated().map { try descriptor($1, "\(path)[\($0)]") }
    }

    func descriptor(_ value: JSONValue, _ path: String) throws -> Descriptor {
        guard value.isObject else { throw wrongType(path) }
        guard let mediaType = try string(value["mediaType"], "\(path).mediaType") else {
            throw OCIError.malformed(what: what, reason: "\(path): missing field 'mediaType'")
        }
        guard let digestText = try string(value["digest"], "\(path).digest") else {
            throw OCIError.malformed(what: what, reason: "\(path): missing field 'digest'")
        }
        let digest: Digest
        do { digest = try Digest(parsing: digestText) } catch {
            throw OCIError.malformed(what: what, reason: "\(path).digest: \(error)")
        }
        guard let sizeValue = value["size"] else { throw OCIError.malformed(what: what, reason: "\(path): missing field 'size'") }
        guard case .number(let literal) = sizeValue, let size = Int64(literal) else { throw wrongType("\(path).size") }
        var platform: Platform?
        if let object = value["platform"], object != .null {
            guard object.isObject, let os = try string(object["os"], "\(path).platform.os"),
                  let architecture = try string(object["architecture"], "\(path).platform.architecture") else {
                throw wrongType("\(path).platform")
            }
            platform = Platform(os: os, architecture: architecture, variant: try string(object["variant"], "\(path).platform.variant"))
        }
        var annotations: [String: String]?
        if let object = value["annotations"], object != .null {
            guard let members = object.members else { throw wrongType("\(path).annotations") }
            var map: [String: String] = [:]
            for (key, entry) in members {
                guard let text = entry.stringValue else { throw wrongType("\(path).annotations.\(key)") }
                map[key] = text
            }
            annotations = map
        }
        return Descriptor(mediaType: mediaType, digest: digest, size: size, platform: platform, annotations: annotations)
    }
}
