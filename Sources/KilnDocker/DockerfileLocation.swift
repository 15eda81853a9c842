import KilnDockerfile
import KilnLayer

/// Where `build` reads the Dockerfile: `--file` (relative to the current directory, as Docker
/// has it) or `DIR/Dockerfile`, and only when its real path is inside the build context. Docker
/// would read a Dockerfile anywhere; kiln's Dockerfile comes from the same pull request as the
/// context, so a link to a file of the build machine must not be read.
package enum DockerfileLocation {
    /// - Returns: the Dockerfile's real path.
    /// - Throws: ``DockerfileError`` naming the file as given, never what it points at.
    package static func inside(context: String, file: String?) throws -> String {
        let given = file ?? (context.hasSuffix("/") ? context + "Dockerfile" : context + "/Dockerfile")
        let name = file ?? "Dockerfile"
        guard let root = FileFacts.realPath(context) else { throw DockerfileError(file: context, line: 0, message: "the build context does not exist") }
        guard let real = FileFacts.realPath(given) else { throw DockerfileError(file: name, line: 0, message: "does not exist") }
        let prefix = root == "/" ? "/" : root + "/"
        guard real.hasPrefix(prefix) else {
            throw DockerfileError(file: name, line: 0, message: "is outside the build context (kiln reads nothing outside it); put the Dockerfile in the context")
        }
        return real
    }
}
