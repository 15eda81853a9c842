import Foundation
import KilnTestSupport
import Testing

/// From digest to running service: `kiln plan --format imagedefinitions|imagedetail` and
/// `kiln render-taskdef`, offline from specs and the lock, checked against what AWS's schemas
/// say and what ECS (moto, through the AWS CLI) and Terraform accept.
@Suite struct DeployArtifactsTests {
    static let ecr = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"

    /// Three specs on one umoci-built layout base: two ECR targets (one with `container:`), one
    /// on Docker Hub; locked, no registry anywhere.
    final class Fixture {
        let dir: TemporaryDirectory
        var root: String { dir("repo") }

        init() throws {
            dir = try TemporaryDirectory()
            try PeerImages.makeOCIBase(at: dir("repo/base"), tag: "1.0", work: dir)
            try dir.write("kiln.yaml", "registries: {}\n")
            for (name, target, extra) in [("art", "\(DeployArtifactsTests.ecr)/art/service", "container: web\n"),
                                          ("numbers", "\(DeployArtifactsTests.ecr)/numbers", ""),
                                          ("hub", "docker.io/acme/web", "")] {
                try dir.write("repo/overlays/\(name)/app.conf", "service = \(name)\n")
                try dir.write("repo/images/\(name).yaml", """
                    base: oci:\(dir("repo/base")):1.0
                    target: \(target)
                    overlays:
                      - from: overlays/\(name)/app.conf
                        to: /etc/app.conf
                    \(extra)
                    """)
            }
            let lock = try kiln(["lock"])
            #expect(lock.status == 0, "\(lock.stderr)")
        }

        func kiln(_ arguments: [String]) throws -> ProcessResult {
            try KilnTestSupport.kiln(arguments + ["--root", root], extraEnvironment: ["KILN_CONFIG": dir("kiln.yaml")])
        }

        /// `NAME -> REPO@sha256:…` from `kiln plan`.
        func planned() throws -> [String: String] {
            let plan = try kiln(["plan"])
            #expect(plan.status == 0, "\(plan.stderr)")
            var images: [String: String] = [:]
            for line in plan.output.split(separator: "\n") {
                let parts = line.split(separator: " ")
                images[String(parts[0])] = String(parts[1])
            }
            return images
        }
    }

    /// CodePipeline's ECS standard deployment reads imagedefinitions.json: "a JSON array of
    /// container name and image URI pairs", `[{"name": …, "imageUri": …}]` (AWS CodePipeline
    /// User Guide, "imagedefinitions.json file for Amazon ECS standard deployment actions").
    /// The check is that schema: an array of objects with exactly `name` and `imageUri`,
    /// both strings, the name an ECS container name.
    static func checkImageDefinitionsSchema(_ text: String) throws -> [String: String] {
        let array = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [Any], "not a JSON array: \(text)")
        var pairs: [String: String] = [:]
        for element in array {
            let object = try #require(element as? [String: Any], "not an object: \(element)")
            #expect(Set(object.keys) == ["name", "imageUri"])
            let name = try #require(object["name"] as? String)
            let uri = try #require(object["imageUri"] as? String)
            #expect(name.range(of: "^[A-Za-z0-9_-]{1,255}$", options: .regularExpression) != nil)
            #expect(uri.range(of: "^[^@]+@sha256:[0-9a-f]{64}$", options: .regularExpression) != nil)
            pairs[name] = uri
        }
        return pairs
    }

    /// A spec with several targets: plan names each, the deploy files the first or the one on
    /// `--target-registry`, render-taskdef pins each container at the repository it names.
    @Test func severalTargetsInPlanDeployFilesAndTaskDefinitions() throws {
        let f = try Fixture()
        let prod = "222222222222.dkr.ecr.us-east-1.amazonaws.com"
        let spec = try String(contentsOfFile: f.dir("repo/images/art.yaml"), encoding: .utf8)
        try f.dir.write("repo/images/art.yaml", spec + "targets: [\(prod)/art/service]\n")
        let planned = try f.planned()
        let plan = try f.kiln(["plan", f.dir("repo/images/art.yaml")])
        let digest = try #require(planned["art"]?.split(separator: "@").last.map(String.init))
        #expect(plan.stdout == "art \(Self.ecr)/art/service@\(digest)\nart \(prod)/art/service@\(digest)\n", "\(plan.stderr)")
        // The lock did not change: the targets are no input of the derived image.
        #expect(try f.kiln(["lock", "--check"]).status == 0)

        let first = try f.kiln(["plan", "--format", "imagedefinitions", f.dir("repo/images/art.yaml")])
        #expect(try Self.checkImageDefinitionsSchema(first.stdout) == ["web": "\(Self.ecr)/art/service@\(digest)"])
        let chosen = try f.kiln(["plan", "--format", "imagedefinitions", "--target-registry", prod, f.dir("repo/images/art.yaml")])
        #expect(try Self.checkImageDefinitionsSchema(chosen.stdout) == ["web": "\(prod)/art/service@\(digest)"])
        let detail = try f.kiln(["plan", "--format", "imagedetail", "--target-registry", prod, f.dir("repo/images/art.yaml")])
        #expect(detail.stdout == #"{"ImageURI":"\#(prod)/art/service@\#(digest)"}"# + "\n")
        let missing = try f.kiln(["plan", "--format", "imagedefinitions", "--target-registry", "ghcr.io", f.dir("repo/images/art.yaml")])
        #expect(missing.status == 1 && missing.stderr.contains("no target on ghcr.io"), "\(missing.stderr)")
        #expect(try f.kiln(["plan", "--target-registry", prod]).status != 0)
        // The host as a shell variable may spell it: letter case, the root's dot.
        let spelled = try f.kiln(["plan", "--format", "imagedefinitions", "--target-registry", prod.uppercased() + ".", f.dir("repo/images/art.yaml")])
        #expect(try Self.checkImageDefinitionsSchema(spelled.stdout) == ["web": "\(prod)/art/service@\(digest)"], "\(spelled.stderr)")
        // What is no host (empty, a path, a newline that would forge a second error line): bad usage.
        for (value, shown) in [("", ""), ("\(prod)/art", "\(prod)/art"), ("ghcr.io\nkiln: error: forged", "ghcr.io?kiln: error: forged")] {
            let bad = try f.kiln(["plan", "--format", "imagedefinitions", "--target-registry", value, f.dir("repo/images/art.yaml")])
            #expect(bad.status == 64 && bad.stdout.isEmpty, "\(bad.stderr)")
            #expect(bad.stderr.hasPrefix("kiln: error: --target-registry '\(shown)' is not a registry host (HOST or HOST:PORT, e.g. 210987654321.dkr.ecr.us-east-1.amazonaws.com)\n"), "\(bad.stderr)")
            #expect(!bad.stderr.contains("\nkiln: error: forged"))
        }

        // Terraform: the first target as before, every target in comma-separated strings.
        try f.dir.write("query.json", #"{"spec": "images/art.yaml"}"#)
        let terraform = try run("/bin/sh", ["-c", "exec \"$0\" plan --terraform --root \"$1\" < \"$2\"", kilnExecutable, f.root, f.dir("query.json")],
                                environment: ProcessInfo.processInfo.environment.merging(["KILN_CONFIG": f.dir("kiln.yaml")]) { $1 })
        let result = try #require(try JSONSerialization.jsonObject(with: Data(terraform.stdout.utf8)) as? [String: String], "\(terraform.status) \(terraform.stdout) \(terraform.stderr)")
        #expect(result["image"] == "\(Self.ecr)/art/service@\(digest)")
        #expect(result["images"] == "\(Self.ecr)/art/service@\(digest),\(prod)/art/service@\(digest)")
        #expect(result["repositories"] == "\(Self.ecr)/art/service,\(prod)/art/service")

        // Each region's task definition keeps its repository.
        try f.dir.write("eu.json", #"[{"name": "web", "image": "\#(Self.ecr)/art/service:latest"}]"#)
        try f.dir.write("us.json", #"[{"name": "web", "image": "\#(prod)/art/service:latest"}]"#)
        let eu = try f.kiln(["render-taskdef", f.dir("eu.json")])
        let us = try f.kiln(["render-taskdef", f.dir("us.json")])
        #expect(eu.stdout.contains("\(Self.ecr)/art/service@\(digest)"), "\(eu.stderr)")
        #expect(us.stdout.contains("\(prod)/art/service@\(digest)"), "\(us.stderr)")
    }

    @Test func imageDefinitionsAndImageDetailFollowAWSSchemas() throws {
        let f = try Fixture()
        let planned = try f.planned()
        let definitions = try f.kiln(["plan", "--format", "imagedefinitions"])
        #expect(definitions.status == 0, "\(definitions.stderr)")
        #expect(definitions.stdout.hasSuffix("]\n"))
        // The container is `container:` (art: web), else the spec's name; in the order planned.
        #expect(try Self.checkImageDefinitionsSchema(definitions.stdout) == ["web": planned["art"], "hub": planned["hub"], "numbers": planned["numbers"]])
        #expect(definitions.output.hasPrefix("[{\"name\":\"web\",\"imageUri\":\"\(Self.ecr)/art/service@sha256:"))
        let one = try f.kiln(["plan", "--format", "imagedefinitions", f.dir("repo/images/numbers.yaml")])
        #expect(try Self.checkImageDefinitionsSchema(one.stdout) == ["numbers": planned["numbers"]])

        // CodeDeploy blue/green's imageDetail.json: {"ImageURI": …} (AWS CodePipeline User
        // Guide, "imageDetail.json file for Amazon ECS blue/green deployment actions").
        let detail = try f.kiln(["plan", "--format", "imagedetail", f.dir("repo/images/art.yaml")])
        #expect(detail.status == 0, "\(detail.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(detail.stdout.utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["ImageURI"])
        #expect(object["ImageURI"] as? String == planned["art"])

        // More than one spec for imagedetail: one line, exit 1.
        let many = try f.kiln(["plan", "--format", "imagedetail"])
        #expect(many.status == 1)
        #expect(many.stderr == "kiln: error: imagedetail: describes one image: name one spec (3 planned: art, hub, numbers)\n")

        // The old flags are spellings of --format; two choices are refused.
        #expect(try f.kiln(["plan", "--format", "json"]).stdout == (try f.kiln(["plan", "--json"])).stdout)
        let both = try f.kiln(["plan", "--json", "--format", "imagedefinitions"])
        #expect(both.status != 0 && both.stderr.contains("--format, --json and --terraform each choose the output"))
        #expect(!both.stderr.trimmingCharacters(in: .newlines).contains("\n"))

        // A spec whose name is no container name and that sets no container: names itself.
        try FileManager.default.copyItem(atPath: f.dir("repo/images/numbers.yaml"), toPath: f.dir("repo/images/numbers.v2.yaml"))
        #expect(try f.kiln(["lock"]).status == 0)
        let dotted = try f.kiln(["plan", "--format", "imagedefinitions"])
        #expect(dotted.status == 1)
        #expect(dotted.stderr == "kiln: error: \(f.root)/images/numbers.v2.yaml: the spec's name 'numbers.v2' is not an ECS container name (1 to 255 letters, digits, hyphens and underscores); set container:\n")
        // Two specs for one container name would leave CodePipeline guessing.
        try f.dir.write("repo/images/numbers.v2.yaml", (try String(contentsOfFile: f.dir("repo/images/numbers.yaml"), encoding: .utf8)) + "container: numbers\n")
        let twice = try f.kiln(["plan", "--format", "imagedefinitions"])
        #expect(twice.status == 1)
        #expect(twice.stderr == "kiln: error: \(f.root)/images/numbers.yaml: container 'numbers' is also spec numbers.v2's: CodePipeline matches entries by container name (set container:)\n")
    }

    @Test func helpDescribesTheFormatsAndRenderTaskdef() throws {
        let plan = try runChecked(kilnExecutable, ["help", "plan"]).stdout
        for word in ["--format", "imagedefinitions", "imagedetail", "container:", "--json", "--terraform"] {
            #expect(plan.contains(word), "kiln help plan lacks \(word)")
        }
        let render = try runChecked(kilnExecutable, ["help", "render-taskdef"]).stdout
        for word in ["FILE", "SPEC", "--output", "containerDefinitions", "taskDefinition", "dual-stack", "kiln.lock"] {
            #expect(render.contains(word), "kiln help render-taskdef lacks \(word)")
        }
        #expect(try runChecked(kilnExecutable, ["--help"]).stdout.contains("render-taskdef"))
    }

    /// The art service's task definition, as a RegisterTaskDefinition document: containers
    /// naming the specs' repositories by tag, by no tag, through ECR's FIPS and dual-stack hosts
    /// and Docker Hub's short form are pinned; a sidecar from elsewhere is listed and kept.
    static let taskDefinition = """
        {
            "family": "art",
            "requiresCompatibilities": ["FARGATE"],
            "networkMode": "awsvpc",
            "cpu": "256",
            "memory": "512",
            "containerDefinitions": [
                {
                    "name": "web",
                    "image": "\(ecr)/art/service:latest",
                    "essential": true,
                    "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
                    "environment": [{"name": "MODE", "value": "production"}]
                },
                {"name": "numbers", "image": "123456789012.dkr-ecr.eu-west-1.on.aws/numbers:1.2", "essential": false},
                {"name": "web-fips", "image": "123456789012.dkr.ecr-fips.eu-west-1.amazonaws.com/art/service", "essential": false},
                {"name": "hub", "image": "acme/web@sha256:\(String(repeating: "0", count: 64))", "essential": false},
                {"name": "otel", "image": "public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0", "essential": false}
            ]
        }

        """

    @Test func renderTaskdefPinsEveryContainerOfASpecAndKeepsEveryOtherByte() throws {
        let f = try Fixture()
        let planned = try f.planned()
        func digest(_ name: String) -> String { String(planned[name]?.split(separator: "@").last ?? "") }
        try f.dir.write("taskdef.json", Self.taskDefinition)
        let rendered = try f.kiln(["render-taskdef", f.dir("taskdef.json"), "--output", f.dir("rendered.json")])
        #expect(rendered.status == 0, "\(rendered.stderr)")
        #expect(rendered.stdout.isEmpty)
        #expect(rendered.stderr == "kiln: note: container 'otel' (public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0) is no spec's image; left as is\n")
        // Only the image strings changed; each keeps the host it was written with.
        let expected = Self.taskDefinition
            .replacingOccurrences(of: "\(Self.ecr)/art/service:latest", with: "\(Self.ecr)/art/service@\(digest("art"))")
            .replacingOccurrences(of: "on.aws/numbers:1.2", with: "on.aws/numbers@\(digest("numbers"))")
            .replacingOccurrences(of: "amazonaws.com/art/service\"", with: "amazonaws.com/art/service@\(digest("art"))\"")
            .replacingOccurrences(of: "acme/web@sha256:\(String(repeating: "0", count: 64))", with: "acme/web@\(digest("hub"))")
        #expect(try String(contentsOfFile: f.dir("rendered.json"), encoding: .utf8) == expected)

        // Standard output by default; naming specs limits the rendering to them.
        let onlyArt = try f.kiln(["render-taskdef", f.dir("taskdef.json"), f.dir("repo/images/art.yaml")])
        #expect(onlyArt.status == 0, "\(onlyArt.stderr)")
        #expect(onlyArt.stdout.contains("\(Self.ecr)/art/service@\(digest("art"))") && onlyArt.stdout.contains("numbers:1.2"))
        #expect(onlyArt.stderr.split(separator: "\n").count == 3)

        // describe-task-definition's whole answer and a bare containerDefinitions array.
        let described = "{\"taskDefinition\":{\"taskDefinitionArn\":\"arn:aws:ecs:eu-west-1:123456789012:task-definition/art:1\",\"containerDefinitions\":[{\"name\":\"web\",\"image\":\"\(Self.ecr)/art/service:1\"}],\"revision\":1}}"
        try f.dir.write("described.json", described)
        let fromDescribe = try f.kiln(["render-taskdef", f.dir("described.json")])
        #expect(fromDescribe.stdout == described.replacingOccurrences(of: "service:1", with: "service@\(digest("art"))"))
        try f.dir.write("containers.json", "[{\"name\":\"web\",\"image\":\"\(Self.ecr)/art/service\"}]\n")
        #expect(try f.kiln(["render-taskdef", f.dir("containers.json")]).stdout == "[{\"name\":\"web\",\"image\":\"\(Self.ecr)/art/service@\(digest("art"))\"}]\n")
        // `-` reads standard input.
        let environment = ProcessInfo.processInfo.environment.merging(["KILN_CONFIG": f.dir("kiln.yaml")]) { $1 }
        let piped = try run("/bin/sh", ["-c", "exec \"$0\" render-taskdef - --root \"$1\" < \"$2\"", kilnExecutable, f.root, f.dir("containers.json")], environment: environment)
        #expect(piped.status == 0, "\(piped.stderr)")
        #expect(piped.stdout == "[{\"name\":\"web\",\"image\":\"\(Self.ecr)/art/service@\(digest("art"))\"}]\n")
    }

    @Test func renderTaskdefRefusesUnlockedSpecsAndBadFilesInOneLine() throws {
        let f = try Fixture()
        try f.dir.write("repo/overlays/late/app.conf", "late\n")
        try f.dir.write("repo/images/late.yaml", "base: oci:\(f.dir("repo/base")):1.0\ntarget: \(Self.ecr)/late\n")
        try f.dir.write("late.json", "[{\"name\": \"late-web\", \"image\": \"\(Self.ecr)/late:v1\"}, {\"name\": \"web\", \"image\": \"\(Self.ecr)/art/service\"}]")
        let unlocked = try f.kiln(["render-taskdef", f.dir("late.json")])
        #expect(unlocked.status == 1)
        #expect(unlocked.stderr == "kiln: error: \(f.dir("late.json")): container 'late-web' names \(Self.ecr)/late:v1, the target of \(f.root)/images/late.yaml, which is not in \(f.root)/kiln.lock; run kiln lock\n")
        #expect(unlocked.stdout.isEmpty)

        try f.dir.write("broken.json", "[{\"name\": \"web\", \"image\": \"x\"")
        let broken = try f.kiln(["render-taskdef", f.dir("broken.json"), "--output", f.dir("out.json")])
        #expect(broken.status == 1)
        #expect(broken.stderr == "kiln: error: \(f.dir("broken.json")): the task definition is not valid JSON: unexpected end in object at byte 29\n")
        #expect(!FileManager.default.fileExists(atPath: f.dir("out.json")))

        try f.dir.write("other.json", "[{\"name\": \"otel\", \"image\": \"public.ecr.aws/x/y:1\"}]")
        let none = try f.kiln(["render-taskdef", f.dir("other.json")])
        #expect(none.status == 1)
        #expect(none.stderr.hasSuffix("kiln: error: \(f.dir("other.json")): no container's image names a spec's target repository (spec targets: \(Self.ecr)/art/service, docker.io/acme/web, \(Self.ecr)/late, \(Self.ecr)/numbers)\n"))

        // Absurd input: deep nesting, a directory, too large; never a trap.
        try f.dir.write("deep.json", String(repeating: "[", count: 200_000))
        #expect(try f.kiln(["render-taskdef", f.dir("deep.json")]).stderr.hasPrefix("kiln: error: \(f.dir("deep.json")): the task definition is not valid JSON: nesting deeper than 256 levels"))
        let directory = try f.kiln(["render-taskdef", f.root])
        #expect(directory.status == 1 && directory.stderr == "kiln: error: \(f.root): cannot read the task definition\n")
        try f.dir.write("huge.json", String(repeating: " ", count: 5 << 20))
        #expect(try f.kiln(["render-taskdef", f.dir("huge.json")]).stderr == "kiln: error: \(f.dir("huge.json")): larger than 4 MiB; not a task definition\n")
    }

    /// A spec's name is its file name, from a pull request, and starts plan's lines: a file
    /// named `evil\nart attacker@sha256:….yaml` once printed a second `art` line with the
    /// attacker's digest (and newlines into error lines). Names with blanks, control or
    /// invisible characters are refused in one line, the name escaped.
    @Test func specNamesThatWouldForgeOutputLinesAreRefused() throws {
        let f = try Fixture()
        // No `/` in a file name, but a Docker Hub short name needs none.
        let forged = "evil\nart attacker@sha256:\(String(repeating: "6", count: 64))"
        for name in [forged, "two words", "bidi\u{202E}lmay", "tab\there"] {
            let path = f.dir("repo/images/\(name).yaml")
            try FileManager.default.copyItem(atPath: f.dir("repo/images/art.yaml"), toPath: path)
            defer { try? FileManager.default.removeItem(atPath: path) }
            for command in [["plan"], ["lock"], ["plan", "--matrix", "--all"]] {
                let result = try f.kiln(command)
                #expect(result.status == 1, "\(command) \(result.stdout)")
                #expect(result.stdout.isEmpty)
                #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
                #expect(result.stderr.hasSuffix("may not be empty or hold blanks, control or invisible characters: it starts the lines kiln prints\n"), "\(result.stderr)")
            }
        }
        #expect(try f.kiln(["plan"]).status == 0)
    }

    /// `--output` names a FIFO (a shell's `>(…)`), a link or a private file: the FIFO is written
    /// to, never replaced by a file (as root, `--output /dev/stdout` or `/dev/null` once
    /// replaced the device node); the link stays and its file gets the result; a 0600 file
    /// stays 0600.
    @Test func renderTaskdefOutputWritesThroughFIFOsAndLinksAndKeepsTheMode() throws {
        let f = try Fixture()
        let containers = "[{\"name\":\"web\",\"image\":\"\(Self.ecr)/art/service\"}]\n"
        try f.dir.write("containers.json", containers)
        let expected = try f.kiln(["render-taskdef", f.dir("containers.json")]).stdout
        #expect(expected.contains("@sha256:"))

        let fifo = f.dir("out.fifo")
        #expect(mkfifo(fifo, 0o600) == 0)
        // A reader first, non-blocking, so kiln's open for writing finds it.
        let reader = open(fifo, O_RDONLY | O_NONBLOCK)
        #expect(reader >= 0)
        defer { close(reader) }
        let toFIFO = try f.kiln(["render-taskdef", f.dir("containers.json"), "--output", fifo])
        #expect(toFIFO.status == 0, "\(toFIFO.stderr)")
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(reader, &buffer, buffer.count)
            if count <= 0 { break }
            received += buffer[0..<count]
        }
        #expect(String(decoding: received, as: UTF8.self) == expected)
        var info = stat()
        #expect(lstat(fifo, &info) == 0 && (info.st_mode & S_IFMT) == S_IFIFO, "the FIFO was replaced")

        try f.dir.write("private.json", containers)
        #expect(chmod(f.dir("private.json"), 0o600) == 0)
        try FileManager.default.createSymbolicLink(atPath: f.dir("link.json"), withDestinationPath: f.dir("private.json"))
        let throughLink = try f.kiln(["render-taskdef", f.dir("link.json"), "--output", f.dir("link.json")])
        #expect(throughLink.status == 0, "\(throughLink.stderr)")
        #expect(lstat(f.dir("link.json"), &info) == 0 && (info.st_mode & S_IFMT) == S_IFLNK, "the link was replaced")
        #expect(try String(contentsOfFile: f.dir("private.json"), encoding: .utf8) == expected)
        #expect(stat(f.dir("private.json"), &info) == 0 && info.st_mode & 0o777 == 0o600)

        let directory = try f.kiln(["render-taskdef", f.dir("containers.json"), "--output", f.root])
        #expect(directory.status == 1 && directory.stderr == "kiln: error: \(f.root): cannot write the task definition\n")

        // `--output -` is standard output (it wrote a file named `-` in the working directory).
        var environment = ProcessInfo.processInfo.environment
        environment["KILN_CONFIG"] = f.dir("kiln.yaml")
        let dash = try run(kilnExecutable, ["render-taskdef", f.dir("containers.json"), "--output", "-", "--root", f.root], environment: environment, currentDirectory: f.dir.path)
        #expect(dash.status == 0 && dash.stdout == expected, "\(dash.stderr)")
        #expect(!FileManager.default.fileExists(atPath: f.dir("-")))
    }

    /// What render-taskdef writes is what ECS takes: the AWS CLI registers it with moto's ECS,
    /// and describe-task-definition gives back the digests.
    @Test func ecsRegistersTheRenderedTaskDefinition() throws {
        let f = try Fixture()
        let planned = try f.planned()
        try f.dir.write("taskdef.json", Self.taskDefinition)
        let rendered = try f.kiln(["render-taskdef", f.dir("taskdef.json"), "--output", f.dir("taskdef.json")])
        #expect(rendered.status == 0, "\(rendered.stderr)")

        let moto = try MotoServer()
        var env = ProcessInfo.processInfo.environment
        env.merge(["AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "eu-west-1",
                   "AWS_CONFIG_FILE": f.dir("aws-config"), "AWS_SHARED_CREDENTIALS_FILE": f.dir("aws-credentials")]) { $1 }
        env["AWS_SESSION_TOKEN"] = nil
        try runChecked("aws", ["ecs", "register-task-definition", "--endpoint-url", moto.url, "--cli-input-json", "file://\(f.dir("taskdef.json"))"], environment: env)
        let images = try runChecked("aws", ["ecs", "describe-task-definition", "--endpoint-url", moto.url, "--task-definition", "art",
                                            "--query", "taskDefinition.containerDefinitions[].image", "--output", "text"], environment: env).output
        let digest = { (name: String) in String(planned[name]?.split(separator: "@").last ?? "") }
        #expect(images.split(whereSeparator: \.isWhitespace) == [
            "\(Self.ecr)/art/service@\(digest("art"))",
            "123456789012.dkr-ecr.eu-west-1.on.aws/numbers@\(digest("numbers"))",
            "123456789012.dkr.ecr-fips.eu-west-1.amazonaws.com/art/service@\(digest("art"))",
            "acme/web@\(digest("hub"))",
            "public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0",
        ])
    }

    /// Terraform's aws_ecs_task_definition with `container_definitions = file(…)` of a rendered
    /// containerDefinitions file plans the task definition with the digest (the aws provider
    /// from /opt/tf-plugins, pointed at moto).
    @Test func terraformPlansTheRenderedContainerDefinitions() throws {
        let f = try Fixture()
        let planned = try f.planned()
        let terraform = try Terraform(fixture: "terraform-taskdef", in: f.dir)
        try f.dir.write("tf/containers.json", """
            [
              {
                "name": "web",
                "image": "\(Self.ecr)/art/service:latest",
                "essential": true,
                "portMappings": [{"containerPort": 8080}]
              }
            ]

            """)
        let rendered = try f.kiln(["render-taskdef", f.dir("tf/containers.json"), "--output", f.dir("tf/containers.json")])
        #expect(rendered.status == 0, "\(rendered.stderr)")
        let moto = try MotoServer()
        _ = try terraform(["init", "-no-color", "-input=false"])
        _ = try terraform(["plan", "-no-color", "-input=false", "-out=plan.bin", "-var", "aws_endpoint=\(moto.url)"])
        let shown = try terraform(["show", "-json", "plan.bin"]).stdout
        let plan = try #require(try JSONSerialization.jsonObject(with: Data(shown.utf8)) as? [String: Any])
        let changes = try #require(plan["resource_changes"] as? [[String: Any]])
        let after = try #require((changes.first { $0["address"] as? String == "aws_ecs_task_definition.art" }?["change"] as? [String: Any])?["after"] as? [String: Any])
        let definitions = try #require(after["container_definitions"] as? String)
        let containers = try #require(try JSONSerialization.jsonObject(with: Data(definitions.utf8)) as? [[String: Any]])
        #expect(containers.map { $0["image"] as? String } == [planned["art"]])
    }
}
