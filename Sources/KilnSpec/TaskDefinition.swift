import KilnDockerfile
import OCI

/// An ECS task definition file as teams keep it: a bare `containerDefinitions` array, a
/// RegisterTaskDefinition document (`{"family": …, "containerDefinitions": […]}`, also what
/// `aws ecs describe-task-definition --query taskDefinition` prints) or the whole
/// describe-task-definition answer (`{"taskDefinition": {…}}`).
///
/// `kiln render-taskdef` replaces container images in it. The new image strings are spliced
/// into the original bytes, so everything else (key order, unknown fields, whitespace,
/// indentation, escapes, a trailing newline) stays byte for byte as written.
package struct TaskDefinition: Sendable {
    /// The largest file read: ECS takes task definitions up to 64 KiB; a describe answer with
    /// generous indentation stays far below this.
    package static let maximumSize = 4 << 20

    /// One entry of `containerDefinitions`.
    package struct Container: Sendable, Equatable {
        /// Its position in `containerDefinitions`.
        package var index: Int
        /// `name`, when it is a string.
        package var name: String?
        /// `image`, when it is a string.
        package var image: String?
        /// Where the `image` string (quotes included) stands in the file.
        var imageRange: Range<Int>?

        /// How messages name it: `'web'` or `containerDefinitions[2]`.
        package var label: String {
            name.map { "'\(UntrustedText.excerpt($0))'" } ?? "containerDefinitions[\(index)]"
        }
    }

    /// The file's bytes as read.
    package let bytes: [UInt8]
    package let containers: [Container]

    /// Parses a task definition file.
    /// - Parameter file: names the file in errors.
    /// - Throws: ``SpecError`` naming the file: too large, not JSON (with the byte offset), or
    ///   none of the three shapes.
    package init(parsing bytes: [UInt8], file: String) throws {
        func fail(_ message: String) -> SpecError { SpecError(location: file, message: message) }
        guard bytes.count <= Self.maximumSize else {
            throw fail("larger than \(Self.maximumSize >> 20) MiB; not a task definition")
        }
        let document: JSONValue
        let ranges: [Range<Int>]
        do { (document, ranges) = try JSONValue.parsingWithStringRanges(bytes, what: "the task definition") } catch let error as OCIError {
            throw fail("\(error)")
        }
        // Where containerDefinitions stands, and how many string values come before it.
        let shape = "expected a containerDefinitions array, a task definition object with containerDefinitions, or describe-task-definition's {\"taskDefinition\": {…}}"
        var path: [String] = []
        var definitions: JSONValue = document
        if document.isObject {
            if case .object? = document["taskDefinition"] { path.append("taskDefinition") }
            path.append("containerDefinitions")
            guard let found = path.reduce(document as JSONValue?, { $0?[$1] }) else { throw fail("no \(path.joined(separator: ".")): \(shape)") }
            definitions = found
        }
        guard case .array(let elements) = definitions else {
            throw fail(path.isEmpty ? shape : "\(path.joined(separator: ".")) must be an array")
        }
        var ordinal = Self.stringsBefore(path: path, in: document)
        var containers: [Container] = []
        for (index, element) in elements.enumerated() {
            guard case .object(let members) = element else {
                throw fail("containerDefinitions[\(index)] is not an object")
            }
            var container = Container(index: index, name: element["name"]?.stringValue, image: nil, imageRange: nil)
            for member in members {
                if member.key == "image", case .string(let image) = member.value {
                    container.image = image
                    container.imageRange = ranges[ordinal]
                }
                ordinal += member.value.stringCount
            }
            containers.append(container)
        }
        self.bytes = bytes
        self.containers = containers
    }

    /// The file with the images of some containers replaced (by their index); every other
    /// byte as it was. A container without a string `image` is left alone.
    package func replacingImages(_ images: [Int: String]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + images.count * 100)
        var position = 0
        for container in containers {
            guard let image = images[container.index], let range = container.imageRange else { continue }
            out.append(contentsOf: bytes[position..<range.lowerBound])
            out.append(contentsOf: JSONValue.string(image).serialized())
            position = range.upperBound
        }
        out.append(contentsOf: bytes[position...])
        return out
    }

    /// How many string values precede the value at `path` (object keys only) in document order.
    private static func stringsBefore(path: [String], in document: JSONValue) -> Int {
        var count = 0
        var current = document
        for key in path {
            guard case .object(let members) = current else { return count }
            for member in members {
                if member.key == key { current = member.value; break }
                count += member.value.stringCount
            }
        }
        return count
    }
}

extension JSONValue {
    /// The string values in this value (itself included), as the parser meets them.
    var stringCount: Int {
        switch self {
        case .string: return 1
        case .array(let elements): return elements.reduce(0) { $0 + $1.stringCount }
        case .object(let members): return members.reduce(0) { $0 + $1.value.stringCount }
        default: return 0
        }
    }
}
