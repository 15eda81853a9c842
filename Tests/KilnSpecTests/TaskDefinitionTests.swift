import KilnSpec
import Testing

/// `kiln render-taskdef`'s reading of task definition files: the three shapes, the images
/// found, and replacement that keeps every other byte.
@Suite struct TaskDefinitionTests {
    static let pinned = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/art/service@sha256:" + String(repeating: "b", count: 64)

    @Test func aContainerDefinitionsArrayKeepsEveryOtherByte() throws {
        // Hand-written style: tabs, inline arrays, an escaped slash, no trailing newline.
        let text = "[\n\t{\"name\": \"art\", \"cpu\": 1.50, \"image\": \"123456789012.dkr.ecr.eu-west-1.amazonaws.com/art/service:latest\",\n\t \"command\": [\"a\\/b\", \"\\u00e9\"], \"x-unknown\": {\"k\": [1, 2]}},\n\t{\"name\": \"sidecar\", \"image\": \"busybox\"},\n\t{\"name\": \"noimage\", \"image\": 7}\n]"
        let definition = try TaskDefinition(parsing: Array(text.utf8), file: "art.json")
        #expect(definition.containers.map(\.name) == ["art", "sidecar", "noimage"])
        #expect(definition.containers.map(\.image) == ["123456789012.dkr.ecr.eu-west-1.amazonaws.com/art/service:latest", "busybox", nil])
        let rendered = String(decoding: definition.replacingImages([0: Self.pinned, 2: "ignored"]), as: UTF8.self)
        #expect(rendered == text.replacingOccurrences(of: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/art/service:latest", with: Self.pinned))
        #expect(definition.replacingImages([:]) == Array(text.utf8))
    }

    @Test func registerInputAndDescribeAnswerAreFoundWhereStringsPrecedeThem() throws {
        // Strings before containerDefinitions (family, tags, nested ones) shift the positions.
        let register = "{\"family\": \"art\", \"tags\": [{\"key\": \"k\", \"value\": \"v\"}], \"containerDefinitions\": [{\"image\": \"art:1\", \"name\": \"art\"}], \"cpu\": \"256\"}\n"
        let one = try TaskDefinition(parsing: Array(register.utf8), file: "register.json")
        #expect(one.containers.map(\.image) == ["art:1"])
        #expect(String(decoding: one.replacingImages([0: "art@sha256:" + String(repeating: "c", count: 64)]), as: UTF8.self)
                == register.replacingOccurrences(of: "art:1", with: "art@sha256:" + String(repeating: "c", count: 64)))

        let described = "{\n    \"taskDefinition\": {\n        \"taskDefinitionArn\": \"arn:x\",\n        \"containerDefinitions\": [\n            {\n                \"name\": \"art\",\n                \"image\": \"art\"\n            }\n        ],\n        \"family\": \"art\"\n    }\n}\n"
        let two = try TaskDefinition(parsing: Array(described.utf8), file: "described.json")
        #expect(two.containers.map(\.name) == ["art"])
        let replaced = String(decoding: two.replacingImages([0: "art@sha256:" + String(repeating: "d", count: 64)]), as: UTF8.self)
        #expect(replaced == described.replacingOccurrences(of: "\"image\": \"art\"", with: "\"image\": \"art@sha256:\(String(repeating: "d", count: 64))\""))
    }

    @Test func badFilesAreOneLineNamingTheFile() throws {
        func error(_ text: String) -> String {
            do { _ = try TaskDefinition(parsing: Array(text.utf8), file: "td.json"); return "accepted" } catch { return "\(error)" }
        }
        #expect(error("[{\"name\": \"a\",}]") == "td.json: the task definition is not valid JSON: expected a string key at byte 14")
        #expect(error("{\"family\": \"x\"}").hasPrefix("td.json: no containerDefinitions: expected a containerDefinitions array"))
        #expect(error("{\"taskDefinition\": {\"family\": \"x\"}}").hasPrefix("td.json: no taskDefinition.containerDefinitions:"))
        #expect(error("{\"containerDefinitions\": {}}") == "td.json: containerDefinitions must be an array")
        #expect(error("[1]") == "td.json: containerDefinitions[0] is not an object")
        #expect(error("\"x\"").hasPrefix("td.json: expected a containerDefinitions array"))
        #expect(error(String(repeating: "[", count: 100_000)).hasPrefix("td.json: the task definition is not valid JSON: nesting deeper than 256 levels"))
        let huge = [UInt8](repeating: 0x20, count: TaskDefinition.maximumSize + 1)
        #expect(throws: SpecError(location: "td.json", message: "larger than 4 MiB; not a task definition")) { try TaskDefinition(parsing: huge, file: "td.json") }
        for line in [error("[{\"name\": \"a\",}]"), error("[1]")] { #expect(!line.contains("\n")) }
    }

    @Test func containerNamesFollowECSRules() throws {
        #expect(ImageSpec.isValidContainerName("art_service-2"))
        #expect(ImageSpec.isValidContainerName(String(repeating: "a", count: 255)))
        #expect(!ImageSpec.isValidContainerName(String(repeating: "a", count: 256)))
        #expect(!ImageSpec.isValidContainerName(""))
        #expect(!ImageSpec.isValidContainerName("art.service"))
        #expect(!ImageSpec.isValidContainerName("café"))
        #expect(!ImageSpec.isValidContainerName("a b"))
    }
}
