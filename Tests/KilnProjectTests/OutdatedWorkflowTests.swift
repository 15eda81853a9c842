import Foundation
import KilnTestSupport
import Testing

/// The scheduled workflow of docs/ci-and-iac.md ("Fresh bases"), its script run as written
/// (bash, kiln on PATH, `gh` recorded, a local bare repository as `origin`) against two real
/// registries: the base's, whose tag is re-pushed, and the target's. Then the pull request's
/// pipeline: `kiln lock --check`, `kiln build`, `kiln verify` on the branch it pushed.
@Suite struct OutdatedWorkflowTests {
    /// The `run:` script of the step named `name` in the first yaml block after `heading`.
    static func documentedScript(after heading: String, step name: String, work: TemporaryDirectory) throws -> String {
        let docs = try String(contentsOfFile: "\(repositoryRoot)/docs/ci-and-iac.md", encoding: .utf8)
        guard let start = docs.range(of: heading), let open = docs.range(of: "```yaml\n", range: start.upperBound..<docs.endIndex),
              let close = docs.range(of: "```", range: open.upperBound..<docs.endIndex) else { throw TestFailure("no yaml block after \(heading)") }
        try work.write("workflow.yml", String(docs[open.upperBound..<close.lowerBound]))
        let extract = """
            import sys, yaml
            workflow = yaml.safe_load(open(sys.argv[1]))
            triggers = workflow.get(True, workflow.get("on", {}))  # YAML 1.1 reads `on` as true
            assert "cron" in triggers["schedule"][0], "not scheduled"
            steps = [s for job in workflow["jobs"].values() for s in job["steps"] if s.get("name") == sys.argv[2]]
            assert len(steps) == 1 and steps[0].get("shell") == "bash", "one bash step named " + sys.argv[2]
            sys.stdout.write(steps[0]["run"])
            """
        return try runChecked("python3", ["-c", extract, work("workflow.yml"), name]).stdout
    }

    @Test func scheduledWorkflowOpensAPullRequestThatBuilds() throws {
        let f = try OutdatedTests.Fixture()
        let target = try RegistryServer()
        try f.writeSpec("gateway", base: f.base, target: "\(target.host)/um/gateway")
        try f.makeBase("v1")
        try f.push("v1")
        let script = try Self.documentedScript(after: "## Fresh bases", step: "re-pin moved bases", work: f.dir)
        #expect(script.contains("kiln outdated --markdown --explain > outdated.md"))

        // The repository: specs, overlays and a lock, committed and pushed to `origin`.
        func git(_ arguments: [String], in directory: String) throws -> ProcessResult {
            try runChecked("git", ["-C", directory, "-c", "user.name=test", "-c", "user.email=test@example.com"] + arguments)
        }
        try runChecked("git", ["init", "--quiet", "--bare", "--initial-branch=main", f.dir("origin.git")])
        #expect(try f.kiln(["lock"]).status == 0)
        try git(["init", "--quiet", "--initial-branch=main"], in: f.root)
        try git(["add", "."], in: f.root)
        try git(["commit", "--quiet", "-m", "images"], in: f.root)
        try git(["remote", "add", "origin", f.dir("origin.git")], in: f.root)
        try git(["push", "--quiet", "origin", "main"], in: f.root)

        // The runner: kiln and a `gh` that records its arguments and the body it was given.
        try FileManager.default.createDirectory(atPath: f.dir("bin"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: f.dir("bin/kiln"), withDestinationPath: kilnExecutable)
        try f.dir.write("bin/gh", """
            #!/bin/sh
            echo "gh $*" >> "$GH_LOG"
            while [ $# -gt 0 ]; do
                if [ "$1" = --body-file ]; then cp "$2" "$GH_BODY"; fi
                shift
            done

            """, mode: 0o755)
        var environment = ProcessInfo.processInfo.environment.merging([
            "PATH": f.dir("bin") + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"),
            "KILN_CONFIG": f.dir("kiln.yaml"), "GITHUB_STEP_SUMMARY": f.dir("summary.md"),
            "GH_LOG": f.dir("gh.log"), "GH_BODY": f.dir("body.md"), "GH_TOKEN": "not-used",
        ]) { $1 }
        environment["SOURCE_DATE_EPOCH"] = nil
        func runScript() throws -> ProcessResult {
            try run("/bin/bash", ["-c", script], environment: environment, currentDirectory: f.root)
        }

        // Nothing moved: the job succeeds and does nothing.
        let quiet = try runScript()
        #expect(quiet.status == 0, "\(quiet.stderr)")
        #expect(!FileManager.default.fileExists(atPath: f.dir("gh.log")))
        #expect(try runChecked("git", ["-C", f.dir("origin.git"), "branch", "--list"]).output == "* main")

        // Upstream republishes the tag.
        try f.makeBase("v2", from: "v1", created: "2026-02-01T00:00:00Z", env: ["SECURITY_FIX=1"])
        try f.push("v2")
        let v2 = try f.digest()
        let moved = try runScript()
        #expect(moved.status == 0, "\(moved.stdout)\(moved.stderr)")
        let gh = try String(contentsOfFile: f.dir("gh.log"), encoding: .utf8)
        #expect(gh == "gh pr create --head kiln/fresh-bases --title Re-pin moved base images --body-file outdated.md\n", "\(gh)")
        let body = try String(contentsOfFile: f.dir("body.md"), encoding: .utf8)
        #expect(body.contains("| gateway | \(f.base) | outdated |"), "\(body)")
        #expect(body.contains("config.Env[1]: added \"SECURITY_FIX=1\""), "\(body)")
        // (Both runs wrote their report to the step summary; a runner gives each run its own file.)
        #expect(try String(contentsOfFile: f.dir("summary.md"), encoding: .utf8).hasSuffix(body))

        // The pull request's branch pins the new base; its pipeline builds and verifies.
        let checkout = f.dir("pr")
        try runChecked("git", ["clone", "--quiet", "--branch", "kiln/fresh-bases", f.dir("origin.git"), checkout])
        #expect(try String(contentsOfFile: "\(checkout)/kiln.lock", encoding: .utf8).contains("\(f.base)@\(v2)"))
        var results: [String: ProcessResult] = [:]
        for command in [["lock", "--check"], ["plan"], ["build"], ["verify"]] {
            let result = try KilnTestSupport.kiln(command + ["--root", checkout], extraEnvironment: ["KILN_CONFIG": f.dir("kiln.yaml")])
            #expect(result.status == 0, "\(command): \(result.stdout)\(result.stderr)")
            results[command[0]] = result
        }
        #expect(results["build"]?.output == "\(results["plan"]?.output ?? "") (built)")
        #expect(try runChecked("skopeo", ["inspect", "--tls-verify=false", "--format", "{{.Digest}}", "docker://\(target.host)/um/gateway:kiln.sha256." + (results["plan"]?.output.split(separator: ":").last ?? "")]).output.hasPrefix("sha256:"))
    }
}
