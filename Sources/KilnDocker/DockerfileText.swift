import Foundation
import KilnDockerfile
import KilnLayer

/// Reads the Dockerfile named by `--file` (or `DIR/Dockerfile`): a regular file (a link to one
/// is followed, as Docker does) of at most ``Dockerfile/maximumSize`` bytes, as UTF-8.
package enum DockerfileText {
    package static func read(_ path: String) throws -> String {
        guard let facts = (try? FileFacts.read(path, followLinks: true)) ?? nil, case .regular = facts.kind else {
            throw DockerfileError(file: path, line: 0, message: "no such Dockerfile (a regular file)")
        }
        guard facts.size <= Dockerfile.maximumSize, let data = FileManager.default.contents(atPath: path), data.count <= Dockerfile.maximumSize else {
            throw DockerfileError(file: path, line: 0, message: "is larger than \(Dockerfile.maximumSize) bytes or unreadable")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw DockerfileError(file: path, line: 0, message: "is not UTF-8 text") }
        return text
    }
}
