import Foundation
import KilnProject
import KilnTestSupport
import Testing

/// `kiln plan --matrix` and `kiln build --shard K/N` (docs/ci-and-iac.md, "Build only what
/// changed"): against a real registry, requests counted from its access log.
@Suite struct BuildMatrixTests {
    static let names = ParallelBuildTests.names

    static func kiln(_ arguments: [String], root: String, dir: TemporaryDirectory) throws -> ProcessResult {
        try ParallelBuildTests.kiln(arguments, root: root, dir: dir)
    }

    /// The `include` array of a matrix document.
    static func include(_ result: ProcessResult) throws -> [[String: String]] {
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object.keys.sorted() == ["include"])
        return try #require(object["include"] as? [[String: String]], "\(result.stdout)")
    }

    @Test func matrixListsOnlyWhatIsMissingAndAllAsksNoRegistry() throws {
        let dir = try TemporaryDirectory()
        let registry = try RegistryServer()
        let root = try ParallelBuildTests.project(in: dir) { "\(registry.host)/svc/\($0)" }
        #expect(try Self.kiln(["lock"], root: root, dir: dir).status == 0)

        // Nothing pushed yet: every spec, one HEAD of its content tag per target.
        var before = registry.requests().count
        let first = try Self.include(try Self.kiln(["plan", "--matrix"], root: root, dir: dir))
        #expect(first == Self.names.map { ["spec": $0, "path": "images/\($0).yaml"] })
        var requests = Array(registry.requests().dropFirst(before))
        let heads = requests.filter { $0.hasPrefix("HEAD ") }
        #expect(heads.count == Self.names.count, "\(requests)")
        for name in Self.names {
            #expect(heads.filter { $0.hasPrefix("HEAD /v2/svc/\(name)/manifests/kiln.sha256.") }.count == 1, "\(requests)")
        }
        #expect(!requests.contains { !$0.hasPrefix("HEAD ") && !$0.hasPrefix("GET /v2/") }, "\(requests)")

        // --all: every spec, and not one request.
        before = registry.requests().count
        let all = try Self.include(try Self.kiln(["plan", "--matrix", "--all"], root: root, dir: dir))
        #expect(all.map { $0["spec"] } == Self.names)
        let groups = try Self.include(try Self.kiln(["plan", "--matrix", "--all", "--shards", "3"], root: root, dir: dir))
        #expect(registry.requests().count == before, "\(registry.requests().dropFirst(before))")
        // One entry per group, each naming its specs; together every spec once.
        #expect(groups.map { $0["shard"] } == ["1/3", "2/3", "3/3"], "\(groups)")
        #expect(groups.flatMap { ($0["specs"] ?? "").split(separator: " ").map(String.init) }.sorted() == Self.names)

        // One job builds group 2/3: the others are still listed, and 2/3 is left out.
        let two = try Self.kiln(["build", "--quiet", "--shard", "2/3"], root: root, dir: dir)
        #expect(two.status == 0, "\(two.stderr)")
        let builtByTwo = two.output.split(separator: "\n").map { String($0.split(separator: " ")[0]) }
        #expect(builtByTwo == groups.first { $0["shard"] == "2/3" }?["specs"]?.split(separator: " ").map(String.init), "\(two.output)")
        let rest = try Self.include(try Self.kiln(["plan", "--matrix"], root: root, dir: dir))
        #expect(rest.map { $0["spec"] } == Self.names.filter { !builtByTwo.contains($0) })
        let restGroups = try Self.include(try Self.kiln(["plan", "--matrix", "--shards", "3"], root: root, dir: dir))
        #expect(restGroups.map { $0["shard"] } == ["1/3", "3/3"], "\(restGroups)")
        #expect(restGroups == groups.filter { $0["shard"] != "2/3" })

        // Build all: nothing left, and the answer needs only HEADs.
        let build = try Self.kiln(["build", "--quiet"], root: root, dir: dir)
        #expect(build.status == 0, "\(build.stderr)")
        before = registry.requests().count
        let none = try Self.kiln(["plan", "--matrix"], root: root, dir: dir)
        #expect(try Self.include(none).isEmpty)
        #expect(none.output == #"{"include":[]}"#)
        requests = Array(registry.requests().dropFirst(before))
        #expect(!requests.contains { !$0.hasPrefix("HEAD ") && !$0.hasPrefix("GET /v2/") }, "\(requests)")
        #expect(try Self.include(try Self.kiln(["plan", "--matrix", "--shards", "3"], root: root, dir: dir)).isEmpty)

        // A moved extra tag is listed too: kiln build would retag it.
        let other = try #require(ParallelBuildTests.plannedDigests(root: root, dir: dir)["alpha"])
        try runChecked("skopeo", ["copy", "--quiet", "--src-tls-verify=false", "--dest-tls-verify=false",
                                  "docker://\(registry.host)/svc/alpha@\(other)", "docker://\(registry.host)/svc/charlie:stable"])
        #expect(try Self.include(try Self.kiln(["plan", "--matrix"], root: root, dir: dir)).map { $0["spec"] } == ["charlie"])
    }

    @Test func anUnreachableTargetIsOneLineAndExitTwo() throws {
        let dir = try TemporaryDirectory()
        let registry = try RegistryServer()
        let closed = try freePort()
        let root = try ParallelBuildTests.project(in: dir) { $0 == "charlie" ? "127.0.0.1:\(closed)/svc/\($0)" : "\(registry.host)/svc/\($0)" }
        #expect(try Self.kiln(["lock"], root: root, dir: dir).status == 0)
        let result = try Self.kiln(["plan", "--matrix"], root: root, dir: dir)
        #expect(result.status == 2, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.isEmpty, "no matrix when a target cannot be asked")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].hasPrefix("kiln: error: charlie: 127.0.0.1:\(closed)/svc/charlie: "), "\(result.stderr)")
        // --all asks nobody, so the closed port does not matter.
        #expect(try Self.include(try Self.kiln(["plan", "--matrix", "--all"], root: root, dir: dir)).count == Self.names.count)
    }

    /// Three CI jobs at once, `--shard 1/3` to `3/3`: every image built exactly once.
    @Test func threeShardsAtOnceBuildEveryImageOnce() throws {
        let dir = try TemporaryDirectory()
        let registry = try RegistryServer()
        let root = try ParallelBuildTests.project(in: dir) { "\(registry.host)/svc/\($0)" }
        #expect(try Self.kiln(["lock"], root: root, dir: dir).status == 0)
        let planned = try ParallelBuildTests.plannedDigests(root: root, dir: dir)
        // Each job prints what it will build first.
        var printed: [String] = []
        for k in 1...3 {
            let plan = try Self.kiln(["plan", "--shard", "\(k)/3"], root: root, dir: dir)
            #expect(plan.status == 0, "\(plan.stderr)")
            printed += plan.output.split(separator: "\n").map { String($0.split(separator: " ")[0]) }
        }
        #expect(printed.sorted() == Self.names)

        let script = (1...3).map { k in
            "\"$1\" build --shard \(k)/3 --quiet --root \"$2\" > \"$3/out\(k)\" 2> \"$3/err\(k)\" & p\(k)=$!"
        }.joined(separator: "; ") + "; wait $p1; s1=$?; wait $p2; s2=$?; wait $p3; s3=$?; echo $s1 $s2 $s3"
        var environment = ProcessInfo.processInfo.environment
        environment["KILN_CONFIG"] = dir("kiln.yaml")
        environment["SOURCE_DATE_EPOCH"] = nil
        let jobs = try run("/bin/sh", ["-c", script, "sh", kilnExecutable, root, dir.path], environment: environment)
        #expect(jobs.output == "0 0 0", "\(jobs.stderr)")
        var built: [String] = []
        for k in 1...3 {
            let out = try String(contentsOfFile: dir("out\(k)"), encoding: .utf8)
            let err = try String(contentsOfFile: dir("err\(k)"), encoding: .utf8)
            #expect(err.isEmpty, "shard \(k): \(err)")
            let lines = out.split(separator: "\n").map(String.init)
            #expect(!lines.isEmpty, "shard \(k) built nothing")
            for line in lines {
                let name = String(line.split(separator: " ")[0])
                #expect(line == "\(name) \(registry.host)/svc/\(name)@\(planned[name] ?? "?") (built)")
                built.append(name)
            }
        }
        #expect(built.sorted() == Self.names)
        // The registry saw one manifest PUT per image and tag.
        let puts = registry.requests().filter { $0.hasPrefix("PUT ") && $0.contains("/manifests/") }
        for name in Self.names {
            let hex = try #require(planned[name]?.split(separator: ":").last)
            for tag in ["kiln.sha256.\(hex)", "latest", "stable"] {
                #expect(puts.filter { $0 == "PUT /v2/svc/\(name)/manifests/\(tag)" }.count == 1, "\(name):\(tag): \(puts)")
            }
        }
        // And a second round finds everything in place.
        let again = try Self.kiln(["build", "--shard", "2/3"], root: root, dir: dir)
        #expect(again.status == 0 && again.output.split(separator: "\n").allSatisfy { $0.hasSuffix("(up to date)") }, "\(again.output)\(again.stderr)")
    }

    @Test func badShardsAreOneLine() throws {
        let dir = try TemporaryDirectory()
        let root = try ParallelBuildTests.project(in: dir) { "oci:\(dir("repo/out"))/\($0)" }
        for (arguments, culprit) in [(["build", "--shard", "0/3"], "'0/3'"), (["build", "--shard", "4/3"], "'4/3'"), (["build", "--shard", "1/0"], "'1/0'"),
                                     (["build", "--shard=-1/3"], "'-1/3'"), (["plan", "--shard", "two"], "'two'"), (["plan", "--shard", "1/3/4"], "'1/3/4'"),
                                     (["build", "--shard", "99999999999999999999/3"], "'99999999999999999999/3'"),
                                     (["plan", "--shards", "3"], "--matrix"), (["plan", "--matrix", "--shards", "0"], "--shards"),
                                     (["plan", "--all"], "--matrix"), (["plan", "--matrix", "--json"], "--matrix")] {
            let result = try Self.kiln(arguments, root: root, dir: dir)
            #expect(result.status != 0 && result.stdout.isEmpty, "\(arguments)")
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 1 && lines[0].hasPrefix("kiln: error: ") && lines[0].contains(culprit), "\(arguments): \(result.stderr)")
        }
        // A group with no spec: nothing to do, exit 0, a note.
        #expect(try Self.kiln(["lock"], root: root, dir: dir).status == 0)
        // Four specs in seven groups: some group is empty.
        let emptyIndex = try #require((1...7).first { k in Self.names.allSatisfy { Shard.index(of: $0, count: 7) != k } })
        let empty = try Self.kiln(["build", "--shard", "\(emptyIndex)/7"], root: root, dir: dir)
        #expect(empty.status == 0 && empty.stdout.isEmpty && empty.stderr == "kiln: note: shard \(emptyIndex)/7 holds none of the 4 specs\n", "\(empty.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir("repo/out")))
    }

    /// The group of a name is the documented hash: the first 8 bytes of SHA-256(name), big
    /// endian, mod N, plus 1 (checked against sha256sum), and adding specs moves none.
    @Test func assignmentIsAHashOfTheNameAndStableWhenSpecsAreAdded() throws {
        for name in ["gateway", "keycloak", "profielen-bron", "a", "ünïcode"] {
            let hex = try runChecked("/bin/sh", ["-c", "printf %s \"$1\" | sha256sum", "sh", name]).output.prefix(16)
            let value = try #require(UInt64(hex, radix: 16))
            for count in [1, 2, 3, 7, 1000] {
                #expect(Shard.index(of: name, count: count) == Int(value % UInt64(count)) + 1, "\(name) \(count)")
            }
        }
        let before = (1...40).map { "service-\($0)" }
        let after = ["aardvark", "service-0"] + before + (41...60).map { "service-\($0)" }
        for count in [2, 3, 5] {
            let assigned = Dictionary(uniqueKeysWithValues: before.map { ($0, Shard.index(of: $0, count: count)) })
            for name in before { #expect(Shard.index(of: name, count: count) == assigned[name]) }
            // Positions changed for every name, groups for none; and every group is used.
            #expect(Set(after.map { Shard.index(of: $0, count: count) }) == Set(1...count))
            let shard = Shard(index: 1, count: count)
            #expect(after.filter(shard.contains).filter(before.contains) == before.filter(shard.contains))
        }
        // Parsing: K/N, counted from 1.
        #expect(try Shard(parsing: "2/3") == Shard(index: 2, count: 3))
        #expect(try Shard(parsing: "1/1").description == "1/1")
        for bad in ["", "/", "0/3", "4/3", "1/0", "1/1001", "+1/3", " 1/3", "1/3 ", "1//3", "a/b", "1/3/5", "1\n/3", "٣/3"] {
            #expect(throws: ShardError.self, "\(bad)") { try Shard(parsing: bad) }
        }
        let long = String(repeating: "9", count: 200) + "\n/3"
        do {
            _ = try Shard(parsing: long)
            Issue.record("\(long) parsed")
        } catch {
            #expect(error.description.hasPrefix("'999") && error.description.count < 200 && !error.description.contains("\n"), "\(error)")
        }
        // Line separators and a right-to-left override would reorder or break the error line.
        do {
            _ = try Shard(parsing: "1\u{2028}2\u{202E}/3\u{85}")
            Issue.record("parsed")
        } catch {
            #expect(error.description == "'1?2?/3?' must be K/N, e.g. 2/3 (the second of three groups, counted from 1)", "\(error)")
        }
    }

    /// The plan lines of docs/ci-and-iac.md's GitHub workflow and GitLab child pipeline, run as
    /// written in a checkout: GitHub's step output, the jq program's pipeline (read back with yq),
    /// and each generated job's build line with its matrix variables.
    @Test func documentedMatrixJobsRunAsWritten() throws {
        let docs = try String(contentsOfFile: "\(repositoryRoot)/docs/ci-and-iac.md", encoding: .utf8)
        func block(after heading: String, fence: String) throws -> String {
            guard let start = docs.range(of: heading), let open = docs.range(of: "```\(fence)\n", range: start.upperBound..<docs.endIndex),
                  let close = docs.range(of: "```", range: open.upperBound..<docs.endIndex) else { throw TestFailure("no \(fence) block after \(heading)") }
            return String(docs[open.upperBound..<close.lowerBound])
        }
        func lines(_ text: String, prefix: String) -> [String] {
            text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
        }
        let gitHub = try block(after: "### A GitHub workflow", fence: "yaml")
        let gitHubPlan = try #require(lines(gitHub, prefix: "run: ").first { $0.contains("kiln plan --matrix") })
        let gitHubBuild = try #require(lines(gitHub, prefix: "- run: ").first { $0.hasPrefix("kiln build") })
        let gitLab = try block(after: "### The GitLab equivalent", fence: "yaml")
        let gitLabPlan = lines(gitLab, prefix: "- ").filter { $0.hasPrefix("kiln plan") || $0.hasPrefix("jq ") }
        #expect(gitLabPlan.count == 2, "\(gitLabPlan)")
        let program = try block(after: "`ci/images-pipeline.jq`", fence: "jq")

        // The repository's own specs (ECR targets routed to a local registry, moto answering
        // the ECR API), in a checkout with the committed jq program.
        let f = try SampleImagesTests.Fixture()
        let dir = f.dir
        let root = dir("checkout")
        try runChecked("/bin/sh", ["-c", "mkdir -p \"$1\" && cp -r \"$2/images\" \"$2/overlays\" \"$1/\"", "sh", root, repositoryRoot])
        try dir.write("checkout/ci/images-pipeline.jq", program)
        try FileManager.default.createDirectory(atPath: dir("bin"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dir("bin/kiln"), withDestinationPath: kilnExecutable)
        var environment = ProcessInfo.processInfo.environment.merging(f.environment) { $1 }
        environment["PATH"] = dir("bin") + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        environment["SOURCE_DATE_EPOCH"] = nil
        environment["GITHUB_OUTPUT"] = dir("github-output")
        func shell(_ line: String, _ extra: [String: String] = [:]) throws -> ProcessResult {
            let result = try run("/bin/sh", ["-c", line], environment: environment.merging(extra) { $1 }, currentDirectory: root)
            #expect(result.status == 0, "\(line): \(result.stderr)")
            return result
        }
        _ = try shell("kiln lock")
        let names = ["gateway", "keycloak", "profielen-bron"]

        // GitHub: the step output is one line, the matrix fromJSON reads.
        _ = try shell(gitHubPlan)
        let output = try String(contentsOfFile: dir("github-output"), encoding: .utf8)
        #expect(output.hasPrefix("matrix={\"include\":[") && output.hasSuffix("]}\n") && output.split(separator: "\n").count == 1, "\(output)")

        // GitLab: the generated child pipeline has one matrix entry per spec to build.
        for line in gitLabPlan { _ = try shell(line) }
        let pipeline = try runChecked("yq", [".", "\(root)/images-pipeline.yml"]).stdout
        let jobs = try #require(try JSONSerialization.jsonObject(with: Data(pipeline.utf8)) as? [String: Any])
        let build = try #require(jobs["build"] as? [String: Any], "\(pipeline)")
        let matrix = try #require((build["parallel"] as? [String: Any])?["matrix"] as? [[String: [String]]])
        #expect(matrix == names.map { ["spec": [$0], "path": ["images/\($0).yaml"]] })
        let script = try #require(build["script"] as? [String])
        let buildLine = try #require(script.last)
        #expect(buildLine.hasPrefix("kiln build "))

        // Each GitLab job of the matrix, then GitHub's for one: every image built once.
        for entry in matrix.dropLast() {
            let result = try shell(buildLine, ["spec": entry["spec"]![0], "path": entry["path"]![0]])
            #expect(result.stdout.hasSuffix("(built)\n"), "\(result.stdout)")
        }
        let last = try #require(matrix.last)
        #expect(try shell(gitHubBuild, ["SPEC": last["path"]![0]]).stdout.hasSuffix("(built)\n"))

        // Nothing left: an empty matrix, and the child pipeline's one job that says so.
        _ = try shell(gitHubPlan)
        #expect(try String(contentsOfFile: dir("github-output"), encoding: .utf8).hasSuffix("matrix={\"include\":[]}\n"))
        for line in gitLabPlan { _ = try shell(line) }
        let empty = try runChecked("yq", ["-c", "keys", "\(root)/images-pipeline.yml"]).stdout
        #expect(empty.contains("up-to-date") && !empty.contains("\"build\""), "\(empty)")
    }
}
