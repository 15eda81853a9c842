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

    /// The shell lines at `path` (keys, then a list of lines) in the first yaml block after
    /// `heading`, as one script.
    static func documentedLines(after heading: String, path: [String], work: TemporaryDirectory) throws -> String {
        let docs = try String(contentsOfFile: "\(repositoryRoot)/docs/ci-and-iac.md", encoding: .utf8)
        guard let start = docs.range(of: heading), let open = docs.range(of: "```yaml\n", range: start.upperBound..<docs.endIndex),
              let close = docs.range(of: "```", range: open.upperBound..<docs.endIndex) else { throw TestFailure("no yaml block after \(heading)") }
        try work.write("block.yml", String(docs[open.upperBound..<close.lowerBound]))
        let extract = """
            import sys, yaml
            node = yaml.safe_load(open(sys.argv[1]))
            for key in sys.argv[2:]:
                node = node[key]
            assert isinstance(node, list) and all(isinstance(line, str) for line in node), "not a list of lines"
            sys.stdout.write("\\n".join(node) + "\\n")
            """
        return try runChecked("python3", ["-c", extract, work("block.yml")] + path).stdout
    }

    /// The Renovate custom manager's regex finds a spec's registry base (name and tag) and
    /// leaves layouts, digests and other keys alone.
    @Test func renovateRegexFindsRegistryBases() throws {
        let docs = try String(contentsOfFile: "\(repositoryRoot)/docs/ci-and-iac.md", encoding: .utf8)
        guard let start = docs.range(of: "### Renovate"), let open = docs.range(of: "```json\n", range: start.upperBound..<docs.endIndex),
              let close = docs.range(of: "```", range: open.upperBound..<docs.endIndex) else { throw TestFailure("no json block after ### Renovate") }
        let config = try #require(try JSONSerialization.jsonObject(with: Data(docs[open.upperBound..<close.lowerBound].utf8)) as? [String: Any])
        let manager = try #require((config["customManagers"] as? [[String: Any]])?.first)
        let pattern = try #require((manager["matchStrings"] as? [String])?.first)
        #expect((config["postUpgradeTasks"] as? [String: Any])?["commands"] as? [String] == ["kiln lock"])
        // ICU's syntax is close enough to RE2's for this pattern (named groups, classes, (?m)).
        let regex = try NSRegularExpression(pattern: pattern)
        func match(_ spec: String) -> [String]? {
            guard let found = regex.firstMatch(in: spec, range: NSRange(spec.startIndex..., in: spec)) else { return nil }
            return ["depName", "currentValue"].map { String(spec[Range(found.range(withName: $0), in: spec)!]) }
        }
        #expect(match("base: kong:2.6.0-alpine\ntarget: x\n") == ["kong", "2.6.0-alpine"])
        #expect(match("target: x\nbase: quay.io/keycloak/keycloak:24\n") == ["quay.io/keycloak/keycloak", "24"])
        #expect(match("base: 127.0.0.1:5000/base/app:1.0\n") == ["127.0.0.1:5000/base/app", "1.0"])
        #expect(match("base: oci:/srv/layouts/kong:2.6\n") == nil)
        #expect(match("base: kong@sha256:\(String(repeating: "a", count: 64))\n") == nil)
        #expect(match("target: registry.example.com/um/gateway:1\n") == nil)
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

        // GitLab's scheduled job, in a fresh checkout of main (still on v1): the push goes to
        // the project URL (here rewritten to `origin`), with merge-request push options.
        let gitLab = try Self.documentedLines(after: "GitLab CI (a scheduled pipeline", path: ["fresh-bases", "script"], work: f.dir)
        try runChecked("git", ["-C", f.dir("origin.git"), "config", "receive.advertisePushOptions", "true"])
        try f.dir.write("origin.git/hooks/post-receive", """
            #!/bin/sh
            i=0
            while [ "$i" -lt "${GIT_PUSH_OPTION_COUNT:-0}" ]; do eval "echo \\"\\$GIT_PUSH_OPTION_$i\\"" >> "$0.options"; i=$((i + 1)); done

            """, mode: 0o755)
        try f.makeBase("v3", from: "v2", created: "2026-03-01T00:00:00Z", env: ["SECURITY_FIX=2"])
        try f.push("v3")
        let v3 = try f.digest()
        let gitLabCheckout = f.dir("gitlab")
        try runChecked("git", ["clone", "--quiet", f.dir("origin.git"), gitLabCheckout])
        var gitLabEnvironment = environment
        gitLabEnvironment.merge(["GITLAB_TOKEN": "glpat-test", "CI_SERVER_HOST": "gitlab.example.com", "CI_PROJECT_PATH": "team/images",
                                 "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "url.\(f.dir("origin.git")).insteadOf",
                                 "GIT_CONFIG_VALUE_0": "https://oauth2:glpat-test@gitlab.example.com/team/images.git"]) { $1 }
        let gitLabRun = try run("/bin/bash", ["-e", "-c", gitLab], environment: gitLabEnvironment, currentDirectory: gitLabCheckout)
        #expect(gitLabRun.status == 0, "\(gitLabRun.stdout)\(gitLabRun.stderr)")
        let options = try String(contentsOfFile: f.dir("origin.git/hooks/post-receive.options"), encoding: .utf8)
        #expect(options == "merge_request.create\nmerge_request.title=Re-pin moved base images\n", "\(options)")
        let pushed = try runChecked("git", ["-C", f.dir("origin.git"), "show", "kiln/fresh-bases:kiln.lock"]).stdout
        #expect(pushed.contains("\(f.base)@\(v3)"))

        // CodeBuild's build phase, in another fresh checkout of main: `origin` and `gh`.
        let codeBuild = try Self.documentedLines(after: "AWS CodeBuild: an EventBridge", path: ["build", "commands"], work: f.dir)
        try f.makeBase("v4", from: "v3", created: "2026-04-01T00:00:00Z", env: ["SECURITY_FIX=3"])
        try f.push("v4")
        let v4 = try f.digest()
        let codeBuildCheckout = f.dir("codebuild")
        try runChecked("git", ["clone", "--quiet", f.dir("origin.git"), codeBuildCheckout])
        try FileManager.default.removeItem(atPath: f.dir("gh.log"))
        let codeBuildRun = try run("/bin/bash", ["-c", codeBuild], environment: environment, currentDirectory: codeBuildCheckout)
        #expect(codeBuildRun.status == 0, "\(codeBuildRun.stdout)\(codeBuildRun.stderr)")
        #expect(try String(contentsOfFile: f.dir("gh.log"), encoding: .utf8).hasPrefix("gh pr create --head kiln/fresh-bases"))
        #expect(try runChecked("git", ["-C", f.dir("origin.git"), "show", "kiln/fresh-bases:kiln.lock"]).stdout.contains("\(f.base)@\(v4)"))
        // Nothing moved since (the checkout is on the branch it pushed): the command ends
        // successfully without `exit 0`, and opens nothing.
        let ghLog = try String(contentsOfFile: f.dir("gh.log"), encoding: .utf8)
        let again = try run("/bin/bash", ["-c", codeBuild], environment: environment, currentDirectory: codeBuildCheckout)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try String(contentsOfFile: f.dir("gh.log"), encoding: .utf8) == ghLog)
        // A deleted base tag fails the job (exit 2).
        try runChecked("skopeo", ["delete", "--tls-verify=false", "docker://\(f.base)"])
        let failed = try run("/bin/bash", ["-c", codeBuild], environment: environment, currentDirectory: codeBuildCheckout)
        #expect(failed.status == 2, "\(failed.stderr)")
    }
}
