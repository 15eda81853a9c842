import Foundation
import KilnTestSupport
import Testing

/// docs/design.md is the map a newcomer reads first, docs/internals.md the reasoning behind it:
/// every kiln type, module, file or test either names in backticks must exist, so a rename or a
/// removal that forgets the docs fails here.
@Suite struct DesignDocTests {
    /// Names design.md uses for things outside kiln (AWS APIs, image-config fields, BuildKit's
    /// and botocore's functions): not looked up in kiln's sources.
    static let external: Set<String> = [
        "ArgsEscaped", "AssumeRoleWithWebIdentity", "CreateRepository", "DescribeRepositories",
        "DescribeRepositoryCreationTemplates", "ExposedPorts", "GetAuthorizationToken", "OnBuild",
        "RepoTags", "RepositoryAlreadyExistsException", "RootPath", "SigV4Auth", "WorkingDir",
        "StopSignal", "TaskLocal.withValue", "PutImage", "BatchGetImage", "GetDownloadUrlForLayer",
        "RepositoryNotFoundException", "ImageTagAlreadyExistsException", "LayerAlreadyExistsException",
        // BuildKit's and fsutil's names (warnings, lexer modes, functions).
        "MkdirAll", "ExposeProtoCasing", "ExposeInvalidFormat", "SkipUnsetEnv", "RawQuotes", "RawEscapes",
        "SecretsUsedInArgOrEnv", "ParseHeredoc", "DispatchQueue.concurrentPerform",
    ]

    /// Spans that look like a type (`UpperCamelCase`, optionally `.member`) or a file.
    static func namedThings(in text: String) -> Set<String> {
        var names: Set<String> = []
        let parts = text.components(separatedBy: "`")
        // Odd-numbered parts are inside backticks (fenced blocks use ``` and give empty spans).
        for (index, span) in parts.enumerated() where index % 2 == 1 && !span.contains("\n") {
            if span.hasSuffix(".swift") || looksLikeType(span) { names.insert(span) }
        }
        return names
    }

    static func looksLikeType(_ span: String) -> Bool {
        let head = span.split(separator: ".", maxSplits: 1).first.map(String.init) ?? span
        guard let first = head.unicodeScalars.first, CharacterSet.uppercaseLetters.contains(first),
              head.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) }) else { return false }
        // Two humps at least: a lower-case letter followed later by an upper-case one.
        let scalars = Array(head.unicodeScalars)
        guard let lower = scalars.firstIndex(where: { CharacterSet.lowercaseLetters.contains($0) }) else { return false }
        return scalars[lower...].contains { CharacterSet.uppercaseLetters.contains($0) }
    }

    /// Every declared type name, module directory, source and test file name, test suite name.
    static func known() throws -> Set<String> {
        var known: Set<String> = []
        for top in ["Sources", "Tests", "scripts", "Benchmarks", "Fuzz"] {
            let root = "\(repositoryRoot)/\(top)"
            guard let walker = FileManager.default.enumerator(atPath: root) else { continue }
            while let path = walker.nextObject() as? String {
                let name = (path as NSString).lastPathComponent
                known.insert(name)
                known.insert("\(top)/\(path)")
                known.insert(path)
                guard path.hasSuffix(".swift") else { continue }
                let text = try String(contentsOfFile: "\(root)/\(path)", encoding: .utf8)
                for line in text.split(separator: "\n") {
                    let words = line.split(whereSeparator: { " \t(:<{,".contains($0) })
                    for (i, word) in words.enumerated() where i + 1 < words.count {
                        if ["class", "struct", "enum", "protocol", "actor", "typealias", "extension", "func", "case", "var", "let"].contains(word) {
                            known.insert(String(words[i + 1]))
                        }
                    }
                }
            }
        }
        return known
    }

    @Test(arguments: ["docs/design.md", "docs/internals.md"])
    func everyNameInTheDesignDocExists(_ file: String) throws {
        let doc = try String(contentsOfFile: "\(repositoryRoot)/\(file)", encoding: .utf8)
        let named = Self.namedThings(in: doc)
        #expect(named.count > 30, "\(file) names \(named.count) things: did the parser break?")
        let known = try Self.known()
        let missing = named.filter { name in
            let head = name.split(separator: ".", maxSplits: 1).first.map(String.init) ?? name
            return !Self.external.contains(name) && !known.contains(name) && !known.contains(head)
        }
        #expect(missing.isEmpty, "\(file) names what does not exist: \(missing.sorted())")
    }

    /// The map answers "where does X live" for the concepts a newcomer asks about first.
    @Test func theMapSaysWhereEachConceptLives() throws {
        let doc = try String(contentsOfFile: "\(repositoryRoot)/docs/design.md", encoding: .utf8)
        for question in ["Bytes are verified", "The write order", "Credentials are chosen", "The platform is chosen",
                         "A Dockerfile becomes a bake", "A spec becomes a plan"] {
            #expect(doc.contains("**\(question)**"), "design.md does not say where: \(question)")
        }
        #expect(doc.split(separator: "\n").count < 250, "design.md is a map, not the whole reasoning (that is internals.md)")
    }
}

extension DesignDocTests {
    @Test func theCheckSeesTypesAndFilesAndMissesProse() throws {
        let named = Self.namedThings(in: "`ImageGraphWriter` writes; `Baker.swift` bakes; `COPY`, `Env`, `kiln bake` and\n`Foo` are not types")
        #expect(named == ["ImageGraphWriter", "Baker.swift"])
        let known = try Self.known()
        #expect(known.contains("ImageGraphWriter") && !known.contains("NoSuchThingInKiln"))
    }
}
