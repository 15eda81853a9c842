import KilnRecipe
import KilnStore
import OCI

/// A docker-archive holds one image (its `manifest.json` names one config and its layers), so a
/// multi-platform result is written as the image of one platform: the only one there is, or
/// the one `--platform` names. Chosen before anything is written, so a bad choice costs nothing.
enum DockerArchiveImage {
    /// Which of the images (given by platform, in index order) goes into a docker-archive output.
    /// - Returns: its position, or `nil` when `output` is not a docker-archive.
    /// - Throws: when none matches `wanted`, or there is no `wanted` and several images.
    static func choose(among platforms: [Platform], for output: ImageReference, wanted: Platform?) throws -> Int? {
        guard case .archive(let archive) = output, archive.format == .docker else { return nil }
        let available = platforms.map(\.description)
        if let wanted {
            // ``ImageGraph``'s rule: the first in index order that matches.
            guard let first = platforms.firstIndex(where: wanted.matches) else {
                throw StoreError.noImageForPlatform(what: output.description, requested: wanted.description, available: available)
            }
            return first
        }
        guard platforms.count == 1 else { throw BakeError.oneImageNeeded(output: output.description, available: available) }
        return 0
    }
}
