import Foundation

/// `Tests/Fixtures/ecr_templates_proxy.py` in front of moto: moto answers every ECR call but
/// `DescribeRepositoryCreationTemplates`, which moto 5 lacks; that one is answered from the pages
/// written with ``setPages(_:)`` (ECR's documented answer) and each request is recorded.
public final class ECRTemplatesProxy: @unchecked Sendable {
    public let port: Int
    private let process: Process
    private let pages: String
    private let log: String

    public init(moto: MotoServer, directory: TemporaryDirectory) throws {
        pages = directory("templates-pages.json")
        log = directory("templates-requests.jsonl")
        try directory.write("templates-pages.json", "[{\"repositoryCreationTemplates\": []}]")
        try directory.write("templates-requests.jsonl", "")
        (process, port) = try startPythonFixture("ecr_templates_proxy.py", ["--upstream", "127.0.0.1:\(moto.port)", "--pages", pages, "--log", log],
                                                 what: "the ECR templates proxy")
    }

    /// The URL to give `AWS_ENDPOINT_URL_ECR`.
    public var url: String { "http://127.0.0.1:\(port)" }

    /// The answers, in order: a JSON array of `DescribeRepositoryCreationTemplates` answer
    /// documents (page N answers `nextToken` "N"), or `{"status": 400, "error": {...}}`.
    public func setPages(_ json: String) throws {
        try json.write(toFile: pages, atomically: true, encoding: .utf8)
    }

    /// Each template request received: `{"target", "signed", "contentType", "body"}`, one per line.
    public func requests() throws -> [String] {
        try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    deinit {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
