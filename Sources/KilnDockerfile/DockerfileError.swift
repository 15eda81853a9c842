/// Why a Dockerfile (or its `.dockerignore`, or its build context) cannot be built, in one
/// line: `Dockerfile:7: RUN: ...`, naming the file as it was given, the line and the
/// instruction.
public struct DockerfileError: Error, Equatable, CustomStringConvertible {
    /// The file as the user named it.
    public var file: String
    /// The 1-based line; 0 when the error is about the file as a whole.
    public var line: Int
    /// The instruction as written in upper case (`COPY`), when there is one.
    public var instruction: String?
    public var message: String

    public init(file: String, line: Int, instruction: String? = nil, message: String) {
        self.file = file
        self.line = line
        self.instruction = instruction
        self.message = message
    }

    public var description: String {
        var text = line > 0 ? "\(file):\(line): " : "\(file): "
        if let instruction { text += "\(instruction): " }
        // Quoted parts are bounded where they are quoted; this keeps the line one printable line.
        return UntrustedText.escaped(text + message)
    }

    /// The sentence every refusal of a build step ends with.
    static let prebuiltBase = "kiln adds files and edits the config, it runs nothing: such steps belong in a prebuilt base image (build it with docker once, then name it in FROM)"
}

/// A note that does not stop the build (unused build args, undefined variables, empty
/// continuation lines), in the same one-line form.
public struct DockerfileWarning: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var message: String

    public init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String { UntrustedText.escaped(line > 0 ? "\(file):\(line): warning: \(message)" : "\(file): warning: \(message)") }
}
