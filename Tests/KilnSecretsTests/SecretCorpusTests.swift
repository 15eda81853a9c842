import Foundation
import KilnSecrets
import KilnTestSupport
import Testing

/// The corpora under Tests/Fixtures/secrets, refereed by PyPI detect-secrets: every finding its
/// plugins make on the planted corpus, kiln makes too (same file, same line); kiln makes none on
/// the clean corpus, nor on the repository's own overlays/ and samples/.
@Suite struct SecretCorpusTests {
    static let corpus = "\(repositoryRoot)/Tests/Fixtures/secrets"

    /// Every regular file below `directory`, relative, sorted.
    private func files(below directory: String) throws -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: directory)
        var result: [String] = []
        while let name = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            let path = "\(directory)/\(name)"
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            if attributes[.type] as? FileAttributeType == .typeRegular, FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
                result.append(name)
            }
        }
        return result.sorted()
    }

    /// Scans a file the way a bake does: in 64 KiB chunks, its name picking the format.
    private func kilnFindings(_ path: String) throws -> [SecretFinding] {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let scanner = SecretScanner(fileName: (path as NSString).lastPathComponent)
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + 65_536)
            bytes[start..<end].withUnsafeBytes { scanner.update($0) }
            start = end
        }
        return scanner.finish()
    }

    @Test func everyPlantedFileHasAFindingAndTheRefereeAgrees() throws {
        let planted = "\(Self.corpus)/planted"
        var kiln: Set<String> = []
        for name in try files(below: planted) {
            let findings = try kilnFindings("\(planted)/\(name)")
            #expect(!findings.isEmpty, "kiln finds nothing in planted/\(name)")
            for finding in findings { kiln.insert("\(name):\(finding.line)") }
        }
        // The referee: detect-secrets' plugins, less the entropy ones (guesses, not rules) and
        // the public IP one (not a secret). Its keyword plugin stays. One file at a time
        // (Tests/Fixtures/secrets_referee.py): its own `scan` forks a pool that can hang.
        let result = try run("python3", ["\(repositoryRoot)/Tests/Fixtures/secrets_referee.py", planted])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        let results = try #require(report?["results"] as? [String: [[String: Any]]])
        var referee: [String] = []
        for (file, entries) in results {
            for entry in entries {
                let line = try #require(entry["line_number"] as? Int)
                let name = file
                referee.append("\(name):\(line) (\(entry["type"] ?? ""))")
                #expect(kiln.contains("\(name):\(line)"), "detect-secrets finds \(entry["type"] ?? "?") at \(name):\(line); kiln does not")
            }
        }
        // The referee looked at the corpus at all (it finds all of these families).
        #expect(referee.count >= 25, "\(referee.sorted())")
        for family in ["Private Key", "AWS Access Key", "GitHub Token", "GitLab Token", "Slack Token", "Stripe Access Key", "JSON Web Token",
                       "Basic Auth Credentials", "NPM tokens", "PyPI Token", "Secret Keyword"] {
            #expect(referee.contains { $0.hasSuffix("(\(family))") }, "the referee found no \(family)")
        }
    }

    @Test func plantedCorpusCoversEveryRule() throws {
        let planted = "\(Self.corpus)/planted"
        var rules: Set<SecretRule> = []
        for name in try files(below: planted) { for finding in try kilnFindings("\(planted)/\(name)") { rules.insert(finding.rule) } }
        #expect(rules == Set(SecretRule.allCases), "missing: \(Set(SecretRule.allCases).subtracting(rules))")
    }

    @Test func cleanCorpusAndTheRepositorysOwnInputsHaveNone() throws {
        var scanned = 0
        for directory in ["\(Self.corpus)/clean", "\(repositoryRoot)/overlays", "\(repositoryRoot)/samples", "\(repositoryRoot)/examples"] {
            guard FileManager.default.fileExists(atPath: directory) else { continue }
            for name in try files(below: directory) {
                let findings = try kilnFindings("\(directory)/\(name)")
                #expect(findings.isEmpty, "\(directory)/\(name): \(findings.map { "\($0.line): \($0.what)" })")
                scanned += 1
            }
        }
        #expect(scanned >= 10)
    }
}
