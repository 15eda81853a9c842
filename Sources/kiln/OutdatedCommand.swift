import ArgumentParser
import Foundation
import KilnProject
import KilnSpec
import OCI

struct OutdatedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outdated",
        abstract: "Check whether each locked base tag still names the digest kiln.lock pinned.",
        discussion: """
            Asks the registry itself (never a pull-through mirror), with the credentials kiln lock \
            uses: one HEAD per distinct base reference, in parallel. For a multi-platform base, \
            only the platform manifests the spec uses count. Prints NAME current, or NAME \
            outdated BASE sha256:OLD -> sha256:NEW, per spec; NAME stale BASE ... when \
            --max-age finds the base's config created too long ago; NAME error BASE when it could \
            not be checked (the reason on standard error; the other specs are still checked). \
            Exit status: 0 every base is current, 1 at least one is outdated or stale, 2 an \
            error. --explain also says what each new base changes (created, config, layers, the \
            directories, links, users and groups the bake relies on, the planned digest, and \
            whether the bake would now fail); kiln lock --update re-pins and prints the same.
            """
    )

    @OptionGroup var project: ProjectFlags

    @Flag(help: "Also say what each new base changes; reads the new bases' documents and new layers (cached).")
    var explain = false

    @Option(name: .customLong("max-age"), help: ArgumentHelp("Also flag a current base whose config was created more than DAYS days ago.", valueName: "DAYS"))
    var maxAge: Int?

    @Flag(help: "Print JSON: {\"images\": {NAME: {status, base, locked, latest, ...}}}.")
    var json = false

    @Flag(help: "Print a Markdown table (for a pull-request body or $GITHUB_STEP_SUMMARY).")
    var markdown = false

    @OptionGroup var transport: TransportFlags

    func validate() throws {
        if json && markdown { throw ValidationError("--json and --markdown exclude each other") }
        if let maxAge, maxAge < 0 { throw ValidationError("--max-age must be a number of days, 0 or more") }
    }

    func run() async throws {
        // Exit 1 means "outdated": every error of this command exits 2.
        let findings: [BaseFreshness.Finding]
        do {
            let project = project.project
            let specs = try project.loadSpecs(self.project.specs)
            let lock = try project.loadLock()
            let now = Int64(Date().timeIntervalSince1970)
            findings = try await withRunSession(transport.options(outputRegistry: nil)) { store in
                await BaseFreshness(project: project, store: store).check(specs, lock: lock, maxAgeDays: maxAge, explain: explain, now: now)
            }
        } catch let error as ValidationError {
            throw error
        } catch {
            printError("\(error)")
            throw ExitCode(2)
        }
        for finding in findings where finding.state == .error {
            printError("\(finding.name): \(finding.error ?? "not checked")")
        }
        for finding in findings {
            if let failure = finding.report?.failure {
                printWarning("\(finding.name): the bake would fail on the new base: \(failure)")
            }
        }
        if json {
            print(Self.json(findings))
        } else if markdown {
            print(Self.markdown(findings, explain: explain, maxAge: maxAge), terminator: "")
        } else {
            for finding in findings {
                print(Self.line(finding, maxAge: maxAge))
                for line in finding.report?.lines ?? [] { print("  \(line)") }
            }
        }
        if findings.contains(where: { $0.state == .error }) { throw ExitCode(2) }
        if findings.contains(where: { $0.state == .outdated || $0.state == .stale }) { throw ExitCode(1) }
    }

    static func line(_ finding: BaseFreshness.Finding, maxAge: Int?) -> String {
        switch finding.state {
        case .current: return "\(finding.name) current"
        case .outdated: return "\(finding.name) outdated \(finding.base) \(finding.locked?.description ?? "?") -> \(finding.latest?.description ?? "?")"
        case .stale: return "\(finding.name) stale \(finding.base) created \(finding.created ?? "?") (\(finding.ageDays ?? 0) days ago, --max-age \(maxAge ?? 0))"
        case .error: return "\(finding.name) error \(finding.base)"
        }
    }

    static func json(_ findings: [BaseFreshness.Finding]) -> String {
        let images: [(key: String, value: JSONValue)] = findings.map { finding in
            var fields: [(key: String, value: JSONValue)] = [("status", .string(finding.state.rawValue)), ("base", .string(finding.base))]
            if let locked = finding.locked { fields.append(("locked", .string(locked.description))) }
            if let latest = finding.latest { fields.append(("latest", .string(latest.description))) }
            if !finding.movedPlatforms.isEmpty { fields.append(("platforms", .strings(finding.movedPlatforms))) }
            if let created = finding.created { fields.append(("created", .string(created))) }
            if let age = finding.ageDays { fields.append(("ageDays", .integer(age))) }
            if let error = finding.error { fields.append(("error", .string(error))) }
            if let report = finding.report {
                var explanation: [(key: String, value: JSONValue)] = [("changes", .strings(report.lines))]
                if let old = report.oldPlan { explanation.append(("plannedBefore", .string(old.description))) }
                if let new = report.newPlan { explanation.append(("plannedAfter", .string(new.description))) }
                if let failure = report.failure { explanation.append(("bakeWouldFail", .string(failure))) }
                fields.append(("explanation", .object(explanation)))
            }
            return (finding.name, .object(fields))
        }
        return String(decoding: JSONValue.object([("images", .object(images))]).serialized(), as: UTF8.self)
    }

    /// A table, then (with --explain) each outdated image's changes in a code block. Text from
    /// the registry (config values, paths, errors, platforms) comes escaped and bounded;
    /// backticks and bars are replaced so it cannot leave its cell or block of a PR body, and
    /// `<` so it adds no HTML (an `<img>` that calls home).
    static func markdown(_ findings: [BaseFreshness.Finding], explain: Bool, maxAge: Int?) -> String {
        func cell(_ text: String) -> String {
            text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "`", with: "'").replacingOccurrences(of: "<", with: "&lt;")
        }
        func short(_ digest: Digest?) -> String { digest.map { "`\($0.algorithm):\($0.hex.prefix(12))`" } ?? "" }
        let moved = findings.filter { $0.state == .outdated }.count
        var text = "### kiln outdated: \(moved) of \(findings.count) image(s) on a base that moved\n\n"
        text += "| Image | Base | Status | Locked | Latest |\n|---|---|---|---|---|\n"
        for finding in findings {
            var status = finding.state.rawValue
            if finding.state == .stale { status += " (created \(finding.ageDays ?? 0) days ago, over \(maxAge ?? 0))" }
            if finding.state == .error { status += ": " + (finding.error ?? "") }
            if !finding.movedPlatforms.isEmpty { status += " (\(finding.movedPlatforms.joined(separator: ", ")))" }
            if let failure = finding.report?.failure { status += "; **the bake would fail**: \(failure)" }
            text += "| \(cell(finding.name)) | \(cell(finding.base)) | \(cell(status)) | \(short(finding.locked)) | \(finding.state == .outdated ? short(finding.latest) : "") |\n"
        }
        if explain {
            for finding in findings {
                guard let report = finding.report else { continue }
                text += "\n<details><summary>\(cell(finding.name)): what the new base changes</summary>\n\n```\n"
                for line in report.lines { text += line.replacingOccurrences(of: "`", with: "'") + "\n" }
                text += "```\n\n</details>\n"
            }
        }
        return text
    }
}

func printWarning(_ message: String) {
    FileHandle.standardError.write(Data("kiln: warning: \(message)\n".utf8))
}
