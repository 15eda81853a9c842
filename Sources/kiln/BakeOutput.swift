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
            ("layer", .object([
                ("digest", .string(result.layer.digest.description)),
                ("diffID", .string(result.layer.diffID.description)),
                ("size", .integer(result.layer.size)),
            ])),
        ])
        return String(decoding: value.serialized(), as: UTF8.self)
    }
}
