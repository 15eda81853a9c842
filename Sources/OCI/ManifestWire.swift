import Foundation

/// The fields kiln reads from any manifest or index, decoded with Codable for validation.
/// Output is never produced from this struct: edits go through ``JSONValue`` so nothing is lost.
struct ManifestWire: Decodable {
    var schemaVersion: Int?
    var mediaType: String?
    var config: Descriptor?
    var layers: [Descriptor]?
    var manifests: [Descriptor]?

    static func decode(_ bytes: [UInt8], what: String) throws -> ManifestWire {
        do {
            return try JSONDecoder().decode(ManifestWire.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw OCIError.malformed(what: what, reason: error.briefDescription)
        } catch let error as OCIError {
            throw error
        }
    }
}

extension DecodingError {
    /// One line naming the field path and the problem, instead of Foundation's debug dump.
    var briefDescription: String {
        func path(_ context: Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return keys.isEmpty ? "document" : String(keys.drop(while: { $0 == "." }))
        }
        switch self {
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "\(path(context)): wrong type or missing value"
        case .keyNotFound(let key, let context):
            let parent = path(context)
            return parent == "document" ? "missing field '\(key.stringValue)'" : "\(parent): missing field '\(key.stringValue)'"
        case .dataCorrupted(let context):
            if let underlying = context.underlyingError as? OCIError { return "\(path(context)): \(underlying)" }
            return context.codingPath.isEmpty ? "not valid JSON" : "\(path(context)): invalid value"
        @unknown default:
            return "undecodable"
        }
    }
}
