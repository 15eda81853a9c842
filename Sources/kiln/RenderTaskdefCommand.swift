import ArgumentParser
import Foundation
import KilnAWS
import KilnProject
import KilnSpec
import KilnStore

struct RenderTaskdefCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render-taskdef",
        abstract: "Pin an ECS task definition's containers to the planned digests of the specs, offline.",
        discussion: """
            FILE is a containerDefinitions array, a task definition (RegisterTaskDefinition's \
            input, or describe-task-definition --query taskDefinition), or \
            describe-task-definition's whole answer {"taskDefinition": {...}}; - reads standard \
            input. Every container whose image names a spec's target repository (with any tag, \
            a digest or neither; ECR's FIPS and dual-stack hosts and Docker Hub's short names \
            count as the same registry) gets that spec's planned REPO@sha256:..., keeping the \
            registry host as the file spells it. Only those image strings change: every other \
            byte (key order, unknown fields, whitespace, a trailing newline) is kept. Containers \
            naming no spec's repository are listed on standard error and left as they are. \
            Exit 1 when a container names the repository of a spec not in kiln.lock, when no \
            container names any spec's repository, or for a file that is not a task definition.
            """
    )

    @Argument(help: ArgumentHelp("The task definition JSON file (- for standard input).", valueName: "FILE"))
    var file: String

    @OptionGroup var project: ProjectFlags

    @Option(help: ArgumentHelp("Write the result here instead of standard output: a file atomically, keeping its mode (may be FILE itself; through a link, its file); a FIFO or /dev/stdout is written to; - is standard output.", valueName: "FILE"))
    var output: String?

    func run() async throws {
        try await reportingErrors {
            let bytes = try Self.read(file)
            let definition = try TaskDefinition(parsing: bytes, file: file)
            let project = project.project
            let specs = try project.loadSpecs(self.project.specs)
            let lock = try project.loadLock()
            let renderer = TaskDefinitionRenderer(project: project) { host in
                ECRHost(host)?.registryIdentity ?? TaskDefinitionRenderer.plainIdentity(host)
            }
            let rendering = try await renderer.render(definition, file: file, specs: specs, lock: lock)
            for line in rendering.untouched { FileHandle.standardError.write(Data("kiln: note: \(line)\n".utf8)) }
            if let output, output != "-" {
                // A file is replaced atomically (its mode kept); /dev/stdout or a FIFO is written.
                do { try FileIO.writeUserFile(rendering.bytes, to: output) } catch {
                    throw InputError("\(output): cannot write the task definition")
                }
            } else {
                FileHandle.standardOutput.write(Data(rendering.bytes))
            }
        }
    }

    /// The file's bytes, at most one more than a task definition may have (the parser names
    /// the excess).
    static func read(_ path: String) throws -> [UInt8] {
        let handle = path == "-" ? FileHandle.standardInput : FileHandle(forReadingAtPath: path)
        guard let handle else { throw InputError("\(path): cannot read the task definition") }
        var bytes: [UInt8] = []
        while bytes.count <= TaskDefinition.maximumSize {
            // The throwing read: readData(ofLength:) traps on a directory (EISDIR).
            let chunk: Data?
            do { chunk = try handle.read(upToCount: TaskDefinition.maximumSize + 1 - bytes.count) } catch {
                throw InputError("\(path): cannot read the task definition")
            }
            guard let chunk, !chunk.isEmpty else { break }
            bytes += chunk
        }
        return bytes
    }
}
