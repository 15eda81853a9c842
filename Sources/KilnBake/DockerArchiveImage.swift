import KilnRecipe
import KilnStore
import OCI

/// A docker-archive holds one image (its `manifest.json` names one config and its layers), so a
/// multi-platform result is written as the image of one platform: the only one there is, or
/// the one `--platform` names. Chosen before anything is written, so a bad choice costs nothing.
enum DockerArchiveImage {
    /// Which of the images (given by platform) goes into a docker-archive output.
    /// - Returns: its position, or `nil` when `output` is not a docker-archive.
    /// - Throws: ``BakeError`` naming the platforms when none or several qualify.
    static func choose(among platforms: [Platform?], for output: ImageReference, wanted: Platform?) throws -> Int? {
        guard case .archive(let archive) = output, archive.format == .docker else { return nil }
        return try choose(among: platforms, wanted: wanted, what: output.description)
    }

    /// The one image among `platforms` matching `wanted` (any, when `nil`).
    /// - Parameter what: names the output (no `wanted`) or the source (`wanted`) in errors.
    static func choose(among platforms: [Platform?], wanted: Platform?, what: String) throws -> Int {
        let available = platforms.map { $0?.description ?? "unknown" }
        let matching = platforms.indices.filter { index in
            guard let wanted else { return true }
            return platforms[index].map(wanted.matches) ?? false
        }
        guard let first = matching.first else {
            throw BakeError.noImageForPlatform(what: what, requested: wanted?.description ?? "any", available: available)
        }
        guard matching.count == 1 else {
            if let wanted { throw BakeError.platformAmbiguous(what: what, requested: wanted.description, matching: matching.map { available[$0] }) }
            throw BakeError.oneImageNeeded(output: what, available: available)
        }
        return first
    }
}
