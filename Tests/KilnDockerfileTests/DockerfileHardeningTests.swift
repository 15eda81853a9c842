import Foundation
import KilnDockerfile
import KilnLayer
import KilnTestSupport
import Testing

/// What a hostile review of `kiln docker build` found: stack overflows, raw bytes echoed into
/// CI logs, quadratic work, wrong warnings and ports Docker refuses.
@Suite struct DockerfileHardeningTests {
    private let empty: TemporaryDirectory
    private let context: BuildContext

    init() throws {
        empty = try TemporaryDirectory()
        context = try BuildContext(directory: empty.path)
    }

    private func evaluate(_ text: String, in context: BuildContext? = nil) throws -> DockerfileRecipe {
        try Dockerfile.parse(text).evaluate(context: context ?? self.context)
    }

    private func failure(_ text: String, in context: BuildContext? = nil) -> String? {
        do {
            _ = try evaluate(text, in: context)
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// One printable line: no control characters, nothing beyond ASCII's printable range but
    /// for printable non-ASCII letters.
    private func isOnePrintableLine(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7F && !(0x80...0x9F).contains($0.value) }
    }

    @Test func deeplyNestedSubstitutionIsRefusedNotAStackOverflow() throws {
        let deep = "FROM kong:2.6.0-alpine\nENV a=" + String(repeating: "${a:-", count: 2000) + "x" + String(repeating: "}", count: 2000) + "\n"
        let message = try #require(failure(deep))
        #expect(message.hasPrefix("Dockerfile:2: ENV: '${a:-${a:-"), "\(message.prefix(200))")
        #expect(message.hasSuffix(": variable substitution nested deeper than 64 levels"), "\(message.suffix(200))")
        #expect(message.count < 200)
        let quoted = "FROM x\nENV a=" + String(repeating: "${a:+\"", count: 2000) + "x" + String(repeating: "\"}", count: 2000) + "\n"
        #expect(failure(quoted)?.hasSuffix("variable substitution nested deeper than 64 levels") == true)
        // 64 levels still expand.
        let recipe = try evaluate("FROM x\nENV b=" + String(repeating: "${a:-", count: 64) + "x" + String(repeating: "}", count: 64) + "\n")
        #expect(recipe.edits.env.map(\.value) == ["x"])
    }

    @Test func onbuildChainsAreRefusedWhileParsing() throws {
        func parseFailure(_ text: String) -> String? {
            do {
                _ = try Dockerfile.parse(text)
                return nil
            } catch {
                return "\(error)"
            }
        }
        let chain = "FROM x\n" + String(repeating: "ONBUILD ", count: 4000) + "ENV a=b\n"
        #expect(parseFailure(chain) == "Dockerfile:2: ONBUILD: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
        #expect(parseFailure("FROM x\nonbuild\tonbuild RUN x\n") == "Dockerfile:2: ONBUILD: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
        #expect(parseFailure("FROM x\nONBUILD FROM y\n") == "Dockerfile:2: ONBUILD: FROM isn't allowed as an ONBUILD trigger")
        #expect(parseFailure("FROM x\nONBUILD maintainer me\n") == "Dockerfile:2: ONBUILD: MAINTAINER isn't allowed as an ONBUILD trigger")
        let recipe = try evaluate("FROM x\nONBUILD COPY . /src\n")
        #expect(recipe.edits.onBuild == ["COPY . /src"])
    }

    @Test func messagesQuoteABoundedPrintableExcerpt() throws {
        // An environment dump pasted as an instruction: NUL, escapes, a newline-free 5 KB line.
        let dump = "AWS_SECRET\u{0}=" + String(repeating: "k", count: 5000) + "\u{1B}[31m\u{7}"
        let unknown = try #require(failure("FROM x\n\(dump) rest\n"))
        #expect(unknown.hasPrefix("Dockerfile:2: unknown instruction: AWS_SECRET\\x00=kkk"), "\(unknown)")
        #expect(unknown.hasSuffix("..."))
        #expect(unknown.count < 150)
        #expect(isOnePrintableLine(unknown))
        for text in [
            "FROM x\nCOPY \(String(repeating: "m", count: 3000))\u{1B}]0;title\u{7} /x\n",
            "FROM x\nEXPOSE 80\u{1B}[2J\(String(repeating: "9", count: 3000))\n",
            "FROM x\nSTOPSIGNAL \u{202E}\(String(repeating: "S", count: 3000))\n",
            "FROM x\nENV a=${b:?\u{0}\(String(repeating: "e", count: 3000))}\n",
            "FROM x\nUSER ${a/\u{1B}\(String(repeating: "p", count: 3000))\\q/r}\n",
        ] {
            let message = try #require(failure(text))
            #expect(message.count < 250, "\(message.prefix(300))")
            #expect(isOnePrintableLine(message), "\(message.debugDescription.prefix(300))")
            #expect(!message.contains("\u{202E}"))
        }
    }

    @Test func manyVariablesLabelsAndPortsKeepTheirOrderOnce() throws {
        var text = "FROM x\n"
        for index in 0..<20_000 { text += "ENV k\(index)=v\(index)\n" }
        text += "ENV k7=again\nLABEL b=1 a=2\nLABEL b=3\nEXPOSE 0-16000 80/tcp 53/udp 80\nVOLUME /v /w /v\n"
        let recipe = try evaluate(text)
        #expect(recipe.edits.env.count == 20_000)
        #expect(recipe.edits.env[7].key == "k7" && recipe.edits.env[7].value == "again")
        #expect(recipe.edits.env.last?.key == "k19999")
        #expect(recipe.edits.labels.map { "\($0.key)=\($0.value)" } == ["b=3", "a=2"])
        #expect(recipe.edits.exposedPorts.count == 16_002)
        #expect(recipe.edits.exposedPorts.prefix(2) == ["0/tcp", "1/tcp"])
        #expect(recipe.edits.exposedPorts.last == "53/udp")
        #expect(recipe.edits.volumes == ["/v", "/w"])
    }

    /// BuildKit's parsePortNumber (Go's strconv.ParseInt, base 10): a sign is allowed, `+80` is
    /// 80; no hex, no other digits, at most 65535.
    @Test func portsFollowDockersParsePortSpec() throws {
        #expect(try evaluate("FROM x\nEXPOSE +80 80-+81 +0 0--0\n").edits.exposedPorts == ["80/tcp", "81/tcp", "0/tcp"])
        for port in ["-80", "-0", "80--1", "80-79", "0x50", "65536", "/tcp", "８０", "1_0"] {
            let message = failure("FROM x\nEXPOSE \"\(port)\"\n")
            #expect(message?.hasPrefix("Dockerfile:2: EXPOSE: invalid port") == true, "'\(port)': \(message ?? "accepted")")
        }
        let recipe = try evaluate("FROM x\nEXPOSE 080 65535/UDP 7-7/sctp 9/\n")
        #expect(recipe.edits.exposedPorts == ["80/tcp", "65535/udp", "7/sctp", "9/tcp"])
    }

    @Test func unsetWarningOnlyWhenTheVariableExpandsToNothing() throws {
        func warnings(_ line: String) throws -> [String] { try evaluate("FROM x\n\(line)\n").warnings.map(\.description) }
        #expect(try warnings("USER ${NOPE:-kong}") == [])
        #expect(try warnings("USER ${NOPE-kong}") == [])
        #expect(try warnings("USER kong${NOPE:+-x}") == [])
        #expect(try evaluate("FROM x\nUSER ${NOPE:-kong}\n").edits.user == "kong")
        #expect(try warnings("USER ${NOPE}") == ["Dockerfile:2: warning: USER: variable 'NOPE' is not set (it expands to nothing)"])
        #expect(try warnings("USER a${NOPE%x}") == ["Dockerfile:2: warning: USER: variable 'NOPE' is not set (it expands to nothing)"])
    }

    @Test func wildcardSourcesAreBoundedInDepth() throws {
        let deep = "FROM x\nCOPY " + Array(repeating: "*", count: 1900).joined(separator: "/") + " /x/\n"
        let message = try #require(failure(deep))
        #expect(message.hasPrefix("Dockerfile:2: COPY: '*/*/*"), "\(message)")
        #expect(message.hasSuffix("' has more than 128 path components"), "\(message)")
        #expect(message.count < 200)
    }

    @Test func namesThatAreNotUTF8AreNamedAndLeftAloneWhenNotCopied() throws {
        let directory = try TemporaryDirectory()
        try directory.write("one", "1\n")
        try directory.write("dir/ok", "ok\n")
        let name: [UInt8] = Array(directory("dir").utf8) + Array("/nu".utf8) + [0xFF, 0]
        let file = name.withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { fopen($0.baseAddress!, "w") } }
        #expect(file != nil)
        if let file { fclose(file) }
        let context = try BuildContext(directory: directory.path)
        // `o*` does not match the odd name: it builds.
        let recipe = try evaluate("FROM x\nCOPY o* /x/\n", in: context)
        #expect(recipe.overlays.count == 1)
        #expect(try evaluate("FROM x\nCOPY d*/o? /x/\n", in: context).overlays.count == 1)
        let whole = failure("FROM x\nCOPY dir /x/\n", in: context)
        #expect(whole == "Dockerfile:2: COPY: 'dir/nu\u{FFFD}' has a name that is not valid UTF-8 (shown with U+FFFD); kiln copies only UTF-8 names: rename it")
        let matched = failure("FROM x\nCOPY dir/n* /x/\n", in: context)
        #expect(matched == "Dockerfile:2: COPY: 'dir/nu\u{FFFD}' has a name that is not valid UTF-8 (shown with U+FFFD); kiln copies only UTF-8 names: rename it")
    }

    @Test func excerptsAreBoundedAndEscaped() {
        #expect(UntrustedText.excerpt("a\u{0}b\tc\u{1B}\u{202E}é") == "a\\x00b\\tc\\x1B\\u{202E}é")
        #expect(UntrustedText.excerpt(String(repeating: "x", count: 65)) == String(repeating: "x", count: 64) + "...")
        #expect(UntrustedText.excerpt(String(repeating: "x", count: 64)) == String(repeating: "x", count: 64))
    }
}
