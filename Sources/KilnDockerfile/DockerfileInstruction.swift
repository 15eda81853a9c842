/// One instruction of a Dockerfile as BuildKit's parser splits it, before any variable is
/// expanded: continuation lines joined, comments dropped, flags (`--chown=...`) apart, and the
/// arguments split the way that instruction's rule says.
public struct DockerfileInstruction: Sendable, Equatable {
    /// `KEY=VALUE` (or the legacy `KEY VALUE`) of ENV and LABEL, quotes and escapes still in.
    public struct Pair: Sendable, Equatable {
        public var key: String
        public var value: String
        /// `false` for the legacy form `ENV KEY VALUE`.
        public var hasEquals: Bool
    }

    /// A here-document (`COPY <<EOF /x`), kept only to say it is not supported.
    public struct Heredoc: Sendable, Equatable {
        public var name: String
        public var content: String

        public init(name: String, content: String) {
            self.name = name
            self.content = content
        }
    }

    /// The instruction in upper case: `COPY`, `ENV`.
    public var keyword: String
    /// The first and last physical lines (1-based).
    public var line: Int
    public var endLine: Int
    /// The logical line: continuation lines joined, the escape characters that joined them gone.
    public var original: String
    /// Leading `--name[=value]` words, quotes and escapes resolved.
    public var flags: [String]
    /// The arguments: JSON array elements (exec form), whitespace-separated words (FROM, EXPOSE,
    /// shell-form COPY/ADD/VOLUME), quote-aware words (ARG), or the rest of the line as one string
    /// (shell-form RUN/CMD/ENTRYPOINT, USER, WORKDIR, STOPSIGNAL, MAINTAINER). HEALTHCHECK has
    /// its type first.
    public var arguments: [String]
    /// Written as a JSON array (exec form).
    public var isJSON: Bool
    /// ENV and LABEL.
    public var pairs: [Pair]
    /// ONBUILD's instruction.
    public var trigger: [DockerfileInstruction]
    public var heredocs: [Heredoc]

    init(keyword: String, line: Int, endLine: Int, original: String, flags: [String] = [], arguments: [String] = [], isJSON: Bool = false, pairs: [Pair] = [], trigger: [DockerfileInstruction] = [], heredocs: [Heredoc] = []) {
        self.keyword = keyword
        self.line = line
        self.endLine = endLine
        self.original = original
        self.flags = flags
        self.arguments = arguments
        self.isJSON = isJSON
        self.pairs = pairs
        self.trigger = trigger
        self.heredocs = heredocs
    }
}
