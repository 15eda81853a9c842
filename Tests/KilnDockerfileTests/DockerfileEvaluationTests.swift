import Foundation
import KilnDockerfile
import KilnLayer
import KilnRecipe
import KilnTestSupport
import OCI
import Testing

/// Evaluation: the reference's ENV, ARG, WORKDIR, CMD/ENTRYPOINT/SHELL, HEALTHCHECK, EXPOSE
/// and COPY examples become the config edits and overlays Docker would give; what kiln cannot
/// do is refused in one line.
@Suite struct DockerfileEvaluationTests {
    private let empty: TemporaryDirectory
    private let context: BuildContext

    init() throws {
        empty = try TemporaryDirectory()
        context = try BuildContext(directory: empty.path)
    }

    private func evaluate(_ text: String, buildArgs: [String: String] = [:], base: DockerfileBaseConfig = DockerfileBaseConfig(), in context: BuildContext? = nil) throws -> DockerfileRecipe {
        try Dockerfile.parse(text).evaluate(context: context ?? self.context, baseConfig: base, buildArgs: buildArgs)
    }

    private func failure(_ text: String, buildArgs: [String: String] = [:], base: DockerfileBaseConfig = DockerfileBaseConfig(), in context: BuildContext? = nil) -> String? {
        do {
            _ = try evaluate(text, buildArgs: buildArgs, base: base, in: context)
            return nil
        } catch {
            return "\(error)"
        }
    }

    private func env(_ recipe: DockerfileRecipe) -> [String] { recipe.edits.env.map { "\($0.key)=\($0.value)" } }

    // MARK: Variables

    @Test func envForms() throws {
        let recipe = try evaluate("""
        FROM busybox
        ENV MY_NAME="John Doe"
        ENV MY_DOG=Rex\\ The\\ Dog
        ENV MY_CAT=fluffy
        ENV MY_VAR my-value
        ENV ONE TWO= THREE=world
        """)
        #expect(env(recipe) == ["MY_NAME=John Doe", "MY_DOG=Rex The Dog", "MY_CAT=fluffy", "MY_VAR=my-value", "ONE=TWO= THREE=world"])
    }

    /// "ENV abc=bye def=$abc": every pair sees the values from before the instruction.
    @Test func substitutionUsesValuesFromBeforeTheInstruction() throws {
        let recipe = try evaluate("FROM busybox\nENV abc=hello\nENV abc=bye def=$abc\nENV ghi=$abc\n")
        #expect(env(recipe) == ["abc=bye", "def=hello", "ghi=bye"])
    }

    /// The reference's environment replacement example: WORKDIR ${FOO}, ADD . $FOO, and
    /// `COPY \$FOO /quux` copying a file literally named `$FOO`.
    @Test func environmentReplacementExample() throws {
        let dir = try TemporaryDirectory()
        try dir.write("$FOO", "literal")
        let recipe = try evaluate("FROM busybox\nENV FOO=/bar\nWORKDIR ${FOO}\nADD . $FOO\nCOPY \\$FOO /quux\n", in: try BuildContext(directory: dir.path))
        #expect(recipe.edits.workingDir == "/bar")
        // WORKDIR makes /bar (an overlay with no source), as BuildKit's dispatchWorkdir does.
        #expect(recipe.overlays.map { "\($0.source) -> \($0.destination)" } == [" -> /bar", "\(real(dir.path)) -> /bar", "\(real(dir.path))/$FOO -> /quux"])
        #expect(recipe.overlays.map(\.makesDirectory) == [true, false, false])
    }

    /// Variables of the base's Env expand too (`$HOME`), and ENV replaces them in place.
    @Test func baseEnvironmentExpands() throws {
        let recipe = try evaluate("FROM x\nENV PATH=/opt/bin:$PATH\nWORKDIR $HOME/app\n", base: DockerfileBaseConfig(env: ["PATH=/usr/bin", "HOME=/root"]))
        #expect(env(recipe) == ["PATH=/opt/bin:/usr/bin"])
        #expect(recipe.edits.workingDir == "/root/app")
    }

    @Test func labels() throws {
        let recipe = try evaluate("""
        FROM x
        LABEL "com.example.vendor"="ACME Incorporated"
        LABEL com.example.label-with-value="foo"
        LABEL version="1.0"
        LABEL description="This text illustrates \\
        that label-values can span multiple lines."
        LABEL multi.label1="value1" multi.label2="value2" other="value3"
        LABEL version=2.0
        """)
        #expect(recipe.edits.labels.map { "\($0.key)=\($0.value)" } == [
            "com.example.vendor=ACME Incorporated", "com.example.label-with-value=foo", "version=2.0",
            "description=This text illustrates that label-values can span multiple lines.",
            "multi.label1=value1", "multi.label2=value2", "other=value3",
        ])
    }

    /// The reference's ARG examples: a default in `${username:-some_user}`, a build arg, ENV
    /// overriding ARG, ARG before FROM.
    @Test func buildArguments() throws {
        let noArg = try evaluate("FROM busybox\nUSER ${username:-some_user}\n")
        #expect(noArg.edits.user == "some_user")
        let withArg = try evaluate("FROM busybox\nUSER ${username:-some_user}\nARG username\nUSER $username\n", buildArgs: ["username": "what_user"])
        #expect(withArg.edits.user == "what_user")
        let envWins = try evaluate("FROM ubuntu\nARG CONT_IMG_VER\nENV CONT_IMG_VER=v1.0.0\n", buildArgs: ["CONT_IMG_VER": "v2.0.1"])
        #expect(env(envWins) == ["CONT_IMG_VER=v1.0.0"])
        let defaulted = "FROM ubuntu\nARG CONT_IMG_VER\nENV CONT_IMG_VER=${CONT_IMG_VER:-v1.0.0}\n"
        #expect(env(try evaluate(defaulted)) == ["CONT_IMG_VER=v1.0.0"])
        #expect(env(try evaluate(defaulted, buildArgs: ["CONT_IMG_VER": "v2.0.1"])) == ["CONT_IMG_VER=v2.0.1"])
        // ARGs are not written into the config's Env.
        #expect(env(try evaluate("FROM x\nARG A=1\nLABEL a=$A\n")) == [])
    }

    @Test func argumentsBeforeFrom() throws {
        let dockerfile = try Dockerfile.parse("ARG  CODE_VERSION=latest\nFROM base:${CODE_VERSION}\nCMD  /code/run-app\n")
        #expect(try dockerfile.base() == DockerfileBase(image: "base:latest", platform: nil, line: 2))
        #expect(try dockerfile.base(buildArgs: ["CODE_VERSION": "1.2"]).image == "base:1.2")
        #expect(try dockerfile.evaluate(context: context).edits.cmd == ["/bin/sh", "-c", "/code/run-app"])
        // A bare ARG in the stage takes the value from before FROM; without it, nothing.
        #expect(try evaluate("ARG VERSION=latest\nFROM busybox:$VERSION\nARG VERSION\nLABEL v=$VERSION\n").edits.labels.first?.value == "latest")
        #expect(try evaluate("ARG VERSION=latest\nFROM busybox:$VERSION\nLABEL v=$VERSION\n").edits.labels.first?.value == "")
        let platforms = DockerfilePlatforms(target: Platform(os: "linux", architecture: "arm64"), build: Platform(os: "linux", architecture: "amd64"))
        let cross = try Dockerfile.parse("FROM --platform=$BUILDPLATFORM golang AS build\nARG TARGETARCH\nLABEL arch=$TARGETARCH\n")
        #expect(try cross.base(platforms: platforms).platform == "linux/amd64")
        #expect(try cross.evaluate(context: context, platforms: platforms).edits.labels.first?.value == "arm64")
    }

    /// What the evaluation reads from a base's image config, and `load` and the per-Dockerfile
    /// ignore file that `docker build -f` uses.
    @Test func baseConfigLoadAndDockerfileIgnore() throws {
        let config = try JSONValue(parsing: Array(#"{"os":"linux","config":{"Env":["HOME=/root"],"WorkingDir":"/srv","Shell":["/bin/bash","-c"],"OnBuild":null,"Cmd":["x"]}}"#.utf8), what: "config")
        #expect(DockerfileBaseConfig(imageConfig: config) == DockerfileBaseConfig(env: ["HOME=/root"], workingDir: "/srv", shell: ["/bin/bash", "-c"], onBuild: [], os: "linux"))
        let recipe = try evaluate("FROM x\nCOPY . app/\nCMD run\n", base: DockerfileBaseConfig(imageConfig: config))
        #expect(recipe.overlays.map { "\($0.destination)" } == ["/srv/app"])
        #expect(recipe.edits.cmd == ["/bin/bash", "-c", "run"])

        let dir = try TemporaryDirectory()
        try dir.write("ctx/.dockerignore", "*.md\n")
        try dir.write("ctx/a.md", "a")
        try dir.write("ctx/b.txt", "b")
        try dir.write("build/app.Dockerfile", "FROM x\nCOPY . /app/\n")
        try dir.write("build/app.Dockerfile.dockerignore", "*.txt\n")
        let dockerfile = try Dockerfile.load(path: dir("build/app.Dockerfile"), name: "build/app.Dockerfile")
        #expect(dockerfile.path == "build/app.Dockerfile")
        let own = try dockerfile.evaluate(context: try BuildContext(directory: dir("ctx"), dockerfile: dir("build/app.Dockerfile")))
        #expect(own.overlays.first?.excluding == ["b.txt"])
        let shared = try dockerfile.evaluate(context: try BuildContext(directory: dir("ctx"), dockerfile: dir("ctx/Dockerfile")))
        #expect(shared.overlays.first?.excluding == ["a.md"])
        let missing = #expect(throws: DockerfileError.self) { try Dockerfile.load(path: dir("nope"), name: "nope/Dockerfile") }
        #expect(missing?.description == "nope/Dockerfile: does not exist")
    }

    @Test func unusedBuildArgumentsAndUnsetVariablesWarn() throws {
        let recipe = try evaluate("FROM x\nARG USED\nUSER $NOBODY$NOBODY\n", buildArgs: ["USED": "1", "UNUSED": "2", "HTTP_PROXY": "p"])
        #expect(recipe.warnings.map(\.description) == [
            "Dockerfile:3: warning: USER: variable 'NOBODY' is not set (it expands to nothing)",
            "Dockerfile: warning: build-args not consumed by any ARG: UNUSED",
        ])
    }

    // MARK: Config

    /// Shell form runs under `/bin/sh -c`, or the SHELL set before it (also the base's Shell);
    /// ENTRYPOINT without CMD clears the base's Cmd, as Docker does.
    @Test func commandsAndShell() throws {
        let shellForm = try evaluate("FROM x\nCMD echo \"This is a test.\" | wc -\n")
        #expect(shellForm.edits.cmd == ["/bin/sh", "-c", "echo \"This is a test.\" | wc -"])
        #expect(shellForm.edits.argsEscaped == true)
        let powershell = try evaluate("FROM x\nSHELL [\"powershell\", \"-command\"]\nCMD Write-Host hello\n")
        #expect(powershell.edits.cmd == ["powershell", "-command", "Write-Host hello"])
        #expect(powershell.edits.shell == ["powershell", "-command"])
        #expect(try evaluate("FROM x\nCMD run\n", base: DockerfileBaseConfig(shell: ["/bin/bash", "-c"])).edits.cmd == ["/bin/bash", "-c", "run"])
        let top = try evaluate("FROM ubuntu\nENTRYPOINT exec top -b\n")
        #expect(top.edits.entrypoint == ["/bin/sh", "-c", "exec top -b"])
        #expect(top.edits.clearsCmd)
        // Empty lists are not written: Docker's config omits them.
        let cleared = try evaluate("FROM x\nENTRYPOINT []\nCMD []\n")
        #expect(cleared.edits.entrypoint == nil && cleared.edits.clearsEntrypoint && cleared.edits.cmd == nil && cleared.edits.clearsCmd)
        let both = try evaluate("FROM ubuntu\nENTRYPOINT [\"top\", \"-b\"]\nCMD [\"-c\"]\n")
        #expect(both.edits.entrypoint == ["top", "-b"])
        #expect(both.edits.cmd == ["-c"])
        #expect(failure("FROM x\nSHELL /bin/bash -c\n") == "Dockerfile:2: SHELL: SHELL requires the arguments to be in JSON form")
    }

    @Test func healthcheck() throws {
        let recipe = try evaluate("FROM x\nHEALTHCHECK --interval=5m --timeout=3s \\\n  CMD curl -f http://localhost/ || exit 1\n")
        #expect(recipe.edits.healthcheck == .init(test: ["CMD-SHELL", "curl -f http://localhost/ || exit 1"], interval: 300_000_000_000, timeout: 3_000_000_000))
        let exec = try evaluate("FROM x\nHEALTHCHECK --start-period=1m30s --start-interval=500ms --retries=3 CMD [\"/bin/check\", \"-q\"]\n")
        #expect(exec.edits.healthcheck == .init(test: ["CMD", "/bin/check", "-q"], startPeriod: 90_000_000_000, startInterval: 500_000_000, retries: 3))
        #expect(try evaluate("FROM x\nHEALTHCHECK NONE\n").edits.healthcheck == .init(test: ["NONE"]))
        #expect(failure("FROM x\nHEALTHCHECK --interval=soon CMD x\n") == "Dockerfile:2: HEALTHCHECK: --interval: invalid duration \"soon\"")
        #expect(failure("FROM x\nHEALTHCHECK --retries=-1 CMD x\n") == "Dockerfile:2: HEALTHCHECK: --retries cannot be negative (-1)")
        #expect(failure("FROM x\nHEALTHCHECK SOMETIMES x\n") != nil)
        // Go's durations: fractions and unit sequences; what does not fit 63 bits is an error.
        #expect(try evaluate("FROM x\nHEALTHCHECK --interval=1h2m3.5s --timeout=1.5ms CMD x\n").edits.healthcheck == .init(test: ["CMD-SHELL", "x"], interval: 3_723_500_000_000, timeout: 1_500_000))
        #expect(try evaluate("FROM x\nHEALTHCHECK --interval=0.29s --timeout=.5m CMD x\n").edits.healthcheck == .init(test: ["CMD-SHELL", "x"], interval: 290_000_000, timeout: 30_000_000_000))
        #expect(try evaluate("FROM x\nHEALTHCHECK --interval=9223372036854775807ns CMD x\n").edits.healthcheck?.interval == Int64.max)
        #expect(failure("FROM x\nHEALTHCHECK --interval=9223372036854775808ns CMD x\n") == "Dockerfile:2: HEALTHCHECK: --interval: invalid duration \"9223372036854775808ns\"")
        #expect(failure("FROM x\nHEALTHCHECK --timeout=100ns CMD x\n") == "Dockerfile:2: HEALTHCHECK: interval \"timeout\" cannot be less than 1ms")
    }

    @Test func exposeVolumeStopSignalUserWorkdir() throws {
        let recipe = try evaluate("""
        FROM x
        ENV PORT=8080
        EXPOSE 80/udp
        EXPOSE 80/tcp 80/udp $PORT 9000-9002/TCP 53/
        VOLUME ["/data"]
        VOLUME /var/log /var/db
        STOPSIGNAL SIGKILL
        USER 1000:1000
        WORKDIR /a
        WORKDIR b
        WORKDIR c
        MAINTAINER someone
        ONBUILD ADD . /app/src
        """)
        #expect(recipe.edits.exposedPorts == ["80/udp", "80/tcp", "8080/tcp", "9000/tcp", "9001/tcp", "9002/tcp", "53/tcp"])
        #expect(recipe.edits.volumes == ["/data", "/var/log", "/var/db"])
        #expect(recipe.edits.stopSignal == "SIGKILL")
        #expect(recipe.edits.user == "1000:1000")
        #expect(recipe.edits.workingDir == "/a/b/c")
        #expect(recipe.edits.author == "someone")
        #expect(recipe.edits.onBuild == ["ADD . /app/src"])
        #expect(failure("FROM x\nSTOPSIGNAL SIGNOPE\n") == "Dockerfile:2: STOPSIGNAL: invalid signal: SIGNOPE")
        #expect(failure("FROM x\nSTOPSIGNAL 0\n") == "Dockerfile:2: STOPSIGNAL: invalid signal: 0")
        #expect(failure("FROM x\nEXPOSE 70000\n") != nil)
        #expect(try evaluate("FROM x\nSTOPSIGNAL 9\nSTOPSIGNAL rtmin+3\n").edits.stopSignal == "rtmin+3")
        #expect(try evaluate("FROM x\nENV DIRPATH=/path DIRNAME=x\nWORKDIR $DIRPATH/$DIRNAME\n").edits.workingDir == "/path/x")
    }

    // MARK: Refusals

    /// Every build step kiln cannot take is one line naming the file, the line and the
    /// instruction, and pointing at a prebuilt base image.
    @Test func refusals() throws {
        let tail = "is not supported: kiln adds files and edits the config, it runs nothing: such steps belong in a prebuilt base image (build it with docker once, then name it in FROM)"
        #expect(failure("FROM x\n\nRUN apt-get update\n") == "Dockerfile:3: RUN: RUN \(tail)")
        #expect(failure("FROM x\nADD https://example.com/a.tgz /opt/\n") == "Dockerfile:2: ADD: ADD of a URL or git repository ('https://example.com/a.tgz') \(tail)")
        #expect(failure("FROM x\nADD git@github.com:moby/buildkit.git /src\n")?.hasPrefix("Dockerfile:2: ADD: ADD of a URL or git repository") == true)
        #expect(failure("FROM x\nADD --keep-git-dir https://github.com/moby/buildkit.git /src\n") == "Dockerfile:2: ADD: ADD of a git repository \(tail)")
        #expect(failure("FROM x\nCOPY --from=build /out /app\n") == "Dockerfile:2: COPY: COPY --from (copying from another stage or image) \(tail)")
        #expect(failure("FROM golang AS build\nFROM alpine\n") == "Dockerfile:2: FROM: a second FROM (a multi-stage build) \(tail)")
        #expect(failure("FROM x\nRUN <<EOF\necho hi\nEOF\n") == "Dockerfile:2: RUN: RUN \(tail)")
        #expect(failure("FROM x\nCOPY <<EOF /etc/x\nhi\nEOF\n") == "Dockerfile:2: COPY: here-documents (<<EOF) are not supported: put the file in the build context and COPY it")
        #expect(failure("ENV A=1\nFROM x\n") == "Dockerfile:1: ENV: no FROM before it (only ARG may come before FROM)")
        #expect(failure("FROM x\nCOPY --parents a /b/\n") == "Dockerfile:2: COPY: --parents is not supported")
        #expect(failure("FROM x\nCOPY --bogus a /b/\n") == "Dockerfile:2: COPY: unknown flag: --bogus")
        #expect(failure("FROM x\nONBUILD ONBUILD RUN x\n") != nil)
        let triggers = failure("FROM base\nUSER app\n", base: DockerfileBaseConfig(onBuild: ["RUN make", "COPY . /src"]))
        #expect(triggers == "Dockerfile:1: FROM: the base image has ONBUILD triggers ('RUN make' and 1 more) that Docker would run here; kiln adds files and edits the config, it runs nothing: such steps belong in a prebuilt base image (build it with docker once, then name it in FROM)")
    }

    // MARK: COPY and ADD

    private func real(_ path: String) -> String { FileFacts_realPath(path) }

    private func overlays(_ recipe: DockerfileRecipe, relativeTo root: String) -> [String] {
        let prefix = real(root)
        return recipe.overlays.map { overlay in
            var source = overlay.source == prefix ? "." : String(overlay.source.dropFirst(prefix.count + 1))
            if !overlay.excluding.isEmpty { source += " -" + overlay.excluding.sorted().joined(separator: ",") }
            var text = "\(source) -> \(overlay.destination)\(overlay.intoDirectory ? "/" : "")"
            if let owner = overlay.owner { text += " \(owner)" }
            if let mode = overlay.mode { text += " \(String(mode, radix: 8))" }
            return text
        }
    }

    /// The reference's COPY examples: wildcards, `?`, `[[]` for a literal bracket, relative DEST
    /// under WORKDIR, `--chown` with names or numbers, `--chmod`.
    @Test func copySources() throws {
        let dir = try TemporaryDirectory()
        for name in ["home.txt", "hom1.txt", "homework/a", "test.txt", "arr[0].txt", "files1", "files2", "other"] { try dir.write(name, name) }
        let build = try BuildContext(directory: dir.path)
        let recipe = try evaluate("""
        FROM x
        WORKDIR /work
        COPY hom* /mydir/
        COPY hom?.txt /mydir/
        COPY test.txt relativeDir/
        COPY test.txt /absoluteDir/
        COPY arr[[]0].txt /mydir/
        COPY --chown=55:mygroup files* /somedir/
        COPY --chown=bin files1 /somedir/
        COPY --chown=10:11 --chmod=644 ./files2 /somedir/renamed
        COPY ["other", "."]
        COPY . /all
        """, in: build)
        #expect(overlays(recipe, relativeTo: dir.path) == [
            " -> /work",
            "hom1.txt -> /mydir/", "home.txt -> /mydir/", "homework -> /mydir/",
            "hom1.txt -> /mydir/", "home.txt -> /mydir/",
            "test.txt -> /work/relativeDir/",
            "test.txt -> /absoluteDir/",
            "arr[0].txt -> /mydir/",
            "files1 -> /somedir/ 55:mygroup", "files2 -> /somedir/ 55:mygroup",
            "files1 -> /somedir/ bin",
            "files2 -> /somedir/renamed 10:11 644",
            "other -> /work/",
            ". -> /all",
        ])
        #expect(recipe.copies.map(\.line) == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], "WORKDIR's directory is a step of its own")
    }

    @Test func copyErrors() throws {
        let dir = try TemporaryDirectory()
        try dir.write("a", "a")
        try dir.write("b", "b")
        try dir.write("secret.key", "k")
        try dir.write(".dockerignore", "*.key\n")
        try FileManager.default.createSymbolicLink(atPath: dir("out"), withDestinationPath: "/etc/hostname")
        let build = try BuildContext(directory: dir.path)
        #expect(failure("FROM x\nCOPY a b /dest\n", in: build) == "Dockerfile:2: COPY: several sources need a destination directory ending in '/' (got '/dest')")
        #expect(failure("FROM x\nCOPY missing /dest\n", in: build) == "Dockerfile:2: COPY: 'missing' is not in the build context")
        #expect(failure("FROM x\nCOPY secret.key /dest\n", in: build) == "Dockerfile:2: COPY: 'secret.key' is excluded by .dockerignore")
        // A link's absolute target starts at the context's root, as in BuildKit: `out ->
        // /etc/hostname` is the context's etc/hostname, never the machine's.
        #expect(failure("FROM x\nCOPY out /dest\n", in: build) == "Dockerfile:2: COPY: 'out' is not in the build context")
        try dir.write("etc/hostname", "context's own")
        #expect(try evaluate("FROM x\nCOPY out /dest\n", in: build).overlays.map(\.source) == [real(dir("etc/hostname"))])
        try FileManager.default.createSymbolicLink(atPath: dir("up"), withDestinationPath: "../../../../a")
        #expect(try evaluate("FROM x\nCOPY up /dest\n", in: build).overlays.map(\.source) == [real(dir("a"))])
        // Links in the context are followed as the kernel follows them: 40 at most (a loop is
        // a source that is not there).
        for i in 0..<41 { try FileManager.default.createSymbolicLink(atPath: dir("chain\(i)"), withDestinationPath: i == 40 ? "a" : "chain\(i + 1)") }
        #expect(try evaluate("FROM x\nCOPY chain1 /dest\n", in: build).overlays.map(\.source) == [real(dir("a"))])
        #expect(failure("FROM x\nCOPY chain0 /dest\n", in: build) == "Dockerfile:2: COPY: 'chain0' is not in the build context")
        try FileManager.default.createSymbolicLink(atPath: dir("loop"), withDestinationPath: "loop")
        #expect(failure("FROM x\nCOPY loop /dest\n", in: build) == "Dockerfile:2: COPY: 'loop' is not in the build context")
        #expect(failure("FROM x\nCOPY --chmod=u+x a /dest\n", in: build) == "Dockerfile:2: COPY: --chmod=u+x: only octal modes between 0 and 07777 are supported")
        #expect(failure("FROM x\nCOPY a\n", in: build) == "Dockerfile:2: COPY: COPY requires at least two arguments, but only one was provided. Destination could not be determined")
        // `..` cannot climb out: it is cleaned against the context's root, as in BuildKit.
        #expect(try evaluate("FROM x\nCOPY ../../a /dest\n", in: build).overlays.map(\.source) == [real(dir("a"))])
        // A symlink INSIDE a copied directory is kept as written, as Docker does, even one that
        // points out of the context: it is an entry of the image, never followed by kiln.
        try dir.write("tree/file", "f")
        try FileManager.default.createSymbolicLink(atPath: dir("tree/passwd"), withDestinationPath: "/etc/passwd")
        let kept = try evaluate("FROM x\nCOPY tree /app\n", in: build)
        #expect(kept.overlays.map(\.keepsAnyLink) == [true])
        #expect(try OverlayScanner().scan(overlays: kept.overlays).map { "\($0.path)" } == ["/app", "/app/file", "/app/passwd"])
        // A wildcard that matches nothing copies nothing (BuildKit allows it) and warns.
        let none = try evaluate("FROM x\nCOPY *.none /dest/\n", in: build)
        #expect(none.overlays.isEmpty)
        #expect(none.warnings.map(\.description) == ["Dockerfile:2: warning: COPY: '*.none' matches nothing in the build context"])
    }

    /// `.dockerignore` and `--exclude` leave paths out of a directory source (`.dockerignore`
    /// itself is copied unless it names itself, as in Docker); the scanner then places the rest
    /// exactly as for `kiln bake`.
    @Test func exclusionsReachTheLayer() throws {
        let dir = try TemporaryDirectory()
        try dir.write(".dockerignore", "**/*.log\nnode_modules\ndocs\n!docs/README.md\n")
        try dir.write("app/main.js", "m")
        try dir.write("app/debug.log", "l")
        try dir.write("app/node_modules/x.js", "x")
        try dir.write("node_modules/y.js", "y")
        try dir.write("docs/README.md", "r")
        try dir.write("docs/draft.md", "d")
        try dir.write("app/test/spec.js", "s")
        let build = try BuildContext(directory: dir.path)
        let recipe = try evaluate("FROM x\nCOPY . /srv/\nCOPY --exclude=test app /opt/app\n", in: build)
        #expect(overlays(recipe, relativeTo: dir.path) == [
            ". -app/debug.log,docs/draft.md,node_modules -> /srv/",
            "app -debug.log,test -> /opt/app",
        ])
        let entries = try OverlayScanner().scan(overlays: recipe.overlays).map { "\($0.path)" }
        #expect(entries == [
            "/opt", "/opt/app", "/opt/app/main.js", "/opt/app/node_modules", "/opt/app/node_modules/x.js",
            "/srv", "/srv/.dockerignore", "/srv/app", "/srv/app/main.js", "/srv/app/node_modules", "/srv/app/node_modules/x.js", "/srv/app/test", "/srv/app/test/spec.js",
            "/srv/docs", "/srv/docs/README.md",
        ])
    }

    /// ADD unpacks a local tar archive, recognized by content and not by name; COPY copies it.
    @Test func addRecognizesArchivesByContent() throws {
        let dir = try TemporaryDirectory()
        try dir.write("payload/hello.txt", "hello")
        try dir.write("not-an-archive.tar.gz", "plain text")
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
        tar.arguments = ["-czf", dir("bundle.bin"), "-C", dir("payload"), "hello.txt"]
        try tar.run()
        tar.waitUntilExit()
        #expect(tar.terminationStatus == 0)
        let build = try BuildContext(directory: dir.path)
        let recipe = try evaluate("FROM x\nADD bundle.bin not-an-archive.tar.gz /opt/\nCOPY bundle.bin /keep/\nADD --unpack=false bundle.bin /raw/\n", in: build)
        #expect(recipe.archives == [DockerfileArchive(source: real(dir("bundle.bin")), format: .gzip, destination: try ImagePath(absolute: "/opt"), owner: nil, mode: nil, line: 2)])
        let refusal = #expect(throws: DockerfileError.self) { try recipe.refuseArchives() }
        #expect(refusal?.description == "Dockerfile:2: ADD: unpacking the local archive 'bundle.bin' (gzip) is not supported here; unpack it into the build context and COPY the directory")
        #expect(overlays(recipe, relativeTo: dir.path) == ["not-an-archive.tar.gz -> /opt/", "bundle.bin -> /keep/", "bundle.bin -> /raw/"])
    }
}

/// The real path, as the evaluator names sources (the temp dir may sit behind a link).
private func FileFacts_realPath(_ path: String) -> String {
    guard let resolved = realpath(path, nil) else { return path }
    defer { free(resolved) }
    return String(cString: resolved)
}

/// The issue's promise: same Dockerfile, context and base give the same layer, whatever the
/// files' modification times and the order they were created in.
@Suite struct DockerfileLayerDeterminismTests {
    private func layerDigest(_ directory: String) throws -> String {
        let recipe = try Dockerfile.parse("FROM x\nWORKDIR /srv\nCOPY --chown=1000:1000 . app/\nCOPY conf/*.conf /etc/app/\n")
            .evaluate(context: try BuildContext(directory: directory))
        let entries = try OverlayScanner().scan(overlays: recipe.overlays)
        return try LayerBuilder().build(entries) { _ in }.digest.description
    }

    @Test func sameInputsSameLayerWhateverTheMtimes() throws {
        let first = try TemporaryDirectory()
        let second = try TemporaryDirectory()
        let files = ["conf/a.conf": "a=1", "conf/b.conf": "b=2", "src/main.py": "print(1)", "README.md": "hi", ".dockerignore": "README.md\n"]
        for (name, text) in files { try first.write(name, text) }
        for (name, text) in files.sorted(by: { $0.key > $1.key }) { try second.write(name, text) }
        for name in files.keys {
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_000_000)], ofItemAtPath: first(name))
            try FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: second(name))
        }
        let digest = try layerDigest(first.path)
        #expect(try layerDigest(second.path) == digest)
        try second.write("src/main.py", "print(2)")
        #expect(try layerDigest(second.path) != digest)
    }
}

/// ADD unpacks a local tar archive into the one layer, keeping the archive's modes and owners
/// (or `--chown`'s), links as written, hard links as copies; hostile archives are refused.
@Suite struct DockerfileArchiveTests {
    /// Writes `NAME` in `directory` with Python's tarfile (it sets owners, modes and entry
    /// kinds exactly; compression from the name's suffix).
    private func makeArchive(_ directory: TemporaryDirectory, _ name: String, _ entries: String) throws {
        let script = """
        import io, sys, tarfile
        mode = {"gz": "w:gz", "xz": "w:xz", "bz2": "w:bz2"}.get(sys.argv[1].rsplit(".", 1)[-1], "w")
        with tarfile.open(sys.argv[1], mode) as archive:
            for line in sys.stdin.read().splitlines():
                kind, path, perm, uid, gid, extra = (line.split("|") + [""])[:6]
                info = tarfile.TarInfo(path)
                info.mode, info.uid, info.gid = int(perm, 8), int(uid), int(gid)
                data = None
                if kind == "d": info.type = tarfile.DIRTYPE
                elif kind == "l": info.type, info.linkname = tarfile.SYMTYPE, extra
                elif kind == "h": info.type, info.linkname = tarfile.LNKTYPE, extra
                elif kind == "c": info.type = tarfile.CHRTYPE
                else:
                    data = extra.encode()
                    info.size = len(data)
                archive.addfile(info, io.BytesIO(data) if data is not None else None)
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script, directory(name)]
        let input = Pipe()
        process.standardInput = input
        try process.run()
        input.fileHandleForWriting.write(Data(entries.utf8))
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TestFailure("python3 tarfile failed for \(name)") }
    }

    private func layer(_ dockerfile: String, in directory: TemporaryDirectory) throws -> [String] {
        let recipe = try Dockerfile.parse(dockerfile).evaluate(context: try BuildContext(directory: directory.path))
        let staging = try TemporaryDirectory("kiln-staging")
        let overlays = try recipe.layerOverlays(unpackingInto: staging.path)
        return try OverlayScanner().scan(overlays: overlays).map { entry in
            let kind: String
            switch entry.kind {
            case .directory: kind = "d"
            case .file: kind = "f"
            case .symlink(let target): kind = "l->\(target)"
            case .whiteout: kind = "w"
            }
            return "\(entry.path) \(kind) \(String(entry.mode, radix: 8)) \(entry.owner)"
        }
    }

    @Test(arguments: ["app.tar", "app.tar.gz", "app.tar.xz", "app.tar.bz2"])
    func unpacksWithTheArchivesModesAndOwners(name: String) throws {
        let dir = try TemporaryDirectory()
        try makeArchive(dir, name, """
        d|./app|750|1000|1000
        f|./app/run.sh|755|1000|1000|#!/bin/sh
        f|app/conf/app.conf|600|0|1000|secret=1
        l|app/current|777|1000|1000|/usr/lib/app
        h|app/run-again.sh|755|1000|1000|app/run.sh
        """)
        try dir.write("plain.txt", "p")
        #expect(try layer("FROM x\nADD \(name) plain.txt /opt/\n", in: dir) == [
            "/opt d 755 0:0",
            "/opt/app d 750 1000:1000",
            "/opt/app/conf d 755 0:0",
            "/opt/app/conf/app.conf f 600 0:1000",
            "/opt/app/current l->/usr/lib/app 777 1000:1000",
            "/opt/app/run-again.sh f 755 1000:1000",
            "/opt/app/run.sh f 755 1000:1000",
            "/opt/plain.txt f 644 0:0",
        ])
        // --chown wins over the archive's owners; --chmod does not apply to unpacked entries.
        #expect(try layer("FROM x\nADD --chown=5:6 --chmod=600 \(name) /srv\n", in: dir).prefix(3) == [
            "/srv d 755 5:6",
            "/srv/app d 750 5:6",
            "/srv/app/conf d 755 5:6",
        ])
    }

    @Test func hostileArchivesAreRefused() throws {
        let dir = try TemporaryDirectory()
        try makeArchive(dir, "climb.tar", "f|../../etc/evil|644|0|0|x\n")
        try makeArchive(dir, "through-link.tar", "l|etc|777|0|0|/etc\nf|etc/passwd|644|0|0|root::0:0\n")
        try makeArchive(dir, "device.tar", "c|dev/null|666|0|0\n")
        try makeArchive(dir, "dangling-hardlink.tar", "h|x|644|0|0|missing\n")
        func failure(_ name: String) -> String? {
            do { _ = try layer("FROM x\nADD \(name) /opt/\n", in: dir); return nil } catch { return "\(error)" }
        }
        #expect(failure("climb.tar") == "Dockerfile:2: ADD: unpacking climb.tar: entry '../../etc/evil' climbs out of the destination with '..'")
        #expect(failure("through-link.tar") == "Dockerfile:2: ADD: unpacking through-link.tar: entry 'etc/passwd' is below 'etc', which the archive made a file or symlink")
        #expect(failure("device.tar") == "Dockerfile:2: ADD: unpacking device.tar: entry 'dev/null' is a device or FIFO; only files, directories and links can be unpacked")
        #expect(failure("dangling-hardlink.tar") == "Dockerfile:2: ADD: unpacking dangling-hardlink.tar: hard link 'x' names 'missing', which is no earlier file of the archive")
    }

    /// A later entry replaces an earlier file of the same name, a directory too (`x`, then `x/`,
    /// then `x/y`), as GNU tar and Docker unpack it; a directory is not replaced by a file.
    @Test func aLaterDirectoryReplacesAnEarlierFile() throws {
        let dir = try TemporaryDirectory()
        try makeArchive(dir, "file-then-tree.tar", "f|x|644|0|0|file\nd|x/|750|1000|1000\nf|x/y|600|1000|1000|y\n")
        try makeArchive(dir, "file-then-dir.tar", "f|x|644|0|0|file\nd|x/|750|1000|1000\n")
        try makeArchive(dir, "link-then-dir.tar", "l|x|777|0|0|/etc\nd|x|755|0|0\nf|x/z|644|0|0|z\n")
        try makeArchive(dir, "dir-then-file.tar", "d|x|755|0|0\nf|x|644|0|0|file\n")
        #expect(try layer("FROM x\nADD file-then-tree.tar /opt/\n", in: dir) == ["/opt d 755 0:0", "/opt/x d 750 1000:1000", "/opt/x/y f 600 1000:1000"])
        #expect(try layer("FROM x\nADD file-then-dir.tar /opt/\n", in: dir) == ["/opt d 755 0:0", "/opt/x d 750 1000:1000"])
        #expect(try layer("FROM x\nADD link-then-dir.tar /opt/\n", in: dir) == ["/opt d 755 0:0", "/opt/x d 755 0:0", "/opt/x/z f 644 0:0"])
        #expect(throws: DockerfileError.self) { try layer("FROM x\nADD dir-then-file.tar /opt/\n", in: dir) }
    }

    /// The deepest tree a name within PATH_MAX can make (about 2000 levels) unpacks and scans.
    @Test func theDeepestAllowedTreeUnpacks() throws {
        let dir = try TemporaryDirectory()
        let deep = Array(repeating: "d", count: 2000).joined(separator: "/")
        try makeArchive(dir, "deep.tar", "f|\(deep)/file|644|0|0|x\n")
        let entries = try layer("FROM x\nADD deep.tar /opt/\n", in: dir)
        #expect(entries.count == 2002)
        #expect(entries.last == "/opt/\(deep)/file f 644 0:0")
    }

    /// Entry names come from a pull request: a name longer than a path can be is refused before
    /// anything is made for it, and every name an error quotes is a bounded excerpt (a 60 KB
    /// name, or one with escape sequences, never reaches a log whole).
    @Test func longNamesAreRefusedEarlyAndQuotedBounded() throws {
        let dir = try TemporaryDirectory()
        let huge = String(repeating: "n", count: 60_000)
        let deep = Array(repeating: "d", count: 2100).joined(separator: "/")
        let long = String(repeating: "l", count: 3000)
        try makeArchive(dir, "huge-name.tar", "f|ok|644|0|0|x\nf|\(huge)|644|0|0|x\n")
        try makeArchive(dir, "deep.tar", "f|\(deep)/file|644|0|0|x\n")
        try makeArchive(dir, "huge-climb.tar", "f|../\(huge)|644|0|0|x\n")
        try makeArchive(dir, "long-device.tar", "c|\(long)\u{1b}[31m|666|0|0\n")
        try makeArchive(dir, "long-link.tar", "l|a|777|0|0|/etc\nf|a/\(long)|644|0|0|x\n")
        func failure(_ name: String) -> String? {
            do { _ = try layer("FROM x\nADD \(name) /opt/\n", in: dir); return nil } catch { return "\(error)" }
        }
        let excerpt = String(repeating: "n", count: 64) + "..."
        #expect(failure("huge-name.tar") == "Dockerfile:2: ADD: unpacking huge-name.tar: entry '\(excerpt)' is too long to unpack (60000 bytes; paths are at most 4096 bytes)")
        #expect(failure("deep.tar")?.hasPrefix("Dockerfile:2: ADD: unpacking deep.tar: entry 'd/d/d/d/") == true)
        #expect(failure("deep.tar")?.hasSuffix("' is too long to unpack (4204 bytes; paths are at most 4096 bytes)") == true)
        #expect(failure("huge-climb.tar") == "Dockerfile:2: ADD: unpacking huge-climb.tar: entry '../\(String(repeating: "n", count: 61))...' climbs out of the destination with '..'")
        for name in ["long-device.tar", "long-link.tar"] {
            let message = try #require(failure(name))
            #expect(message.count < 300, "\(message.prefix(300))")
            #expect(!message.contains("\u{1b}"))
        }
        // Found later, by the scanner, in an unpacked name: named by its ADD line, as an excerpt.
        let longPath = Array(repeating: String(repeating: "l", count: 150), count: 20).joined(separator: "/")
        try makeArchive(dir, "long-whiteout.tar", "f|\(longPath)/.wh.x|644|0|0|x\n")
        let recipe = try Dockerfile.parse("FROM x\nADD long-whiteout.tar /opt/\n").evaluate(context: try BuildContext(directory: dir.path))
        let staging = try TemporaryDirectory("kiln-staging")
        let overlays = try recipe.layerOverlays(unpackingInto: staging.path)
        let refusal = #expect(throws: LayerError.self) { try OverlayScanner().scan(overlays: overlays) }
        let named = try #require(refusal.flatMap { recipe.attribute($0, layerOverlays: overlays) }?.description)
        #expect(named.hasPrefix("Dockerfile:2: ADD: "), "\(named.prefix(300))")
        #expect(named.contains("'\(String(repeating: "l", count: 64))...'"), "\(named.prefix(300))")
        #expect(named.count < 300, "\(named.prefix(300))")
    }
}
