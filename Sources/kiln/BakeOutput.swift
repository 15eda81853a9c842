import KilnBake
import OCI

/// The `--json` result of `kiln bake`: one object, keys in a fixed order.
enum BakeOutput {
    static func json(_ result: BakeResult) throws -> String {
        let value: JSONValue = .object([
            ("reference", .string(result.reference)),
            ("digest", .string(result.digest.description)),
            ("mediaType", .string(result.mediaType)),
            ("platforms", .strings(result.platforms.map(\.description))),
            // null for a config-only bake: it adds no layer.
            ("layer", result.layer.map { layer in
                .object([
                    ("digest", .string(layer.digest.description)),
                    ("diffID", .string(layer.diffID.description)),
                    ("size", .integer(layer.size)),
                ])
            } ?? .null),
        ])
        return String(decoding: value.serialized(), as: UTF8.self)
    }
}
