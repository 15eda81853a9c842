import Foundation
@testable import KilnDockerfile
import KilnTestSupport
import Testing

/// The cases of BuildKit's own tests for here-document names (`parser/parser_heredoc_test.go`)
/// and EXPOSE (`dockerfile2llb/convert_expose_test.go`), written again for kiln: kiln must read
/// every Dockerfile BuildKit reads the same way, then refuse what it cannot build clearly.
@Suite struct DockerfileBuildKitCasesTests {
    private func parse(_ text: String) throws -> [DockerfileInstruction] { try Dockerfile.parse(text).instructions }

    private func evaluate(_ text: String) throws -> DockerfileRecipe {
        let empty = try TemporaryDirectory()
        return try Dockerfile.parse(text).evaluate(context: try BuildContext(directory: empty.path))
    }

    private func failure(_ text: String) -> String? {
        do {
            _ = try evaluate(text)
            return nil
        } catch {
            return "\(error)"
        }
    }

    // MARK: Here-documents (TestParseExtractsHeredoc)

    /// Every instruction of BuildKit's here-document Dockerfile, with the names and contents
    /// its parser extracts (quotes and escapes in names resolved as a shell word).
    @Test func heredocNamesAndContentsAsBuildKitExtractsThem() throws {
        let text = """
        FROM alpine:3.6

        ENV NAME=me

        RUN ls

        USER <<INVALID
        LABEL INVALID=1

        RUN <<EMPTY
        EMPTY

        RUN 3<<EMPTY2
        EMPTY2

        RUN "<<NOHEREDOC"

        RUN <<INDENT
        \tfoo
        \tbar
        INDENT

        RUN <<-UNINDENT
        \tbaz
        \tquux
        UNINDENT

        RUN <<-UNINDENT2
        \tbaz
        \tquux
        \tUNINDENT2

        RUN <<-'NOEXPAND'
        \tdon't expand $NAME
        NOEXPAND

        RUN <<COMMENT
        # internal comment
        echo hello world
        echo foo bar # trailing comment
        COMMENT

        RUN --mount=type=cache,target=/foo <<MOUNT
        echo hello
        MOUNT

        COPY <<FILE1 <<FILE2 /dest
        content 1
        FILE1
        content 2
        FILE2

        COPY <<X <<Y /dest
        Y
        X
        X
        Y

        RUN <<COMPLEX python3
        print('hello world')
        COMPLEX

        COPY <<file.txt /dest
        hello world
        file.txt

        RUN <<eo'f'
        echo foo
        eof

        RUN <<eo\\'f
        echo foo
        eo'f

        RUN <<'e'o\\'f
        echo foo
        eo'f

        RUN <<'one two'
        echo bar
        one two

        RUN <<$EOF
        $EOF

        RUN <<  EOF
        EOF

        RUN <<  EOF  > foo
        EOF
        """
        let instructions = try parse(text)
        let heredocs = instructions.dropFirst().map { $0.heredocs.map { "\($0.name)=\($0.content)" } }
        #expect(heredocs == [
            [], [], [], [],                              // ENV, RUN ls, USER <<INVALID, LABEL (BuildKit's unknown INVALID)
            ["EMPTY="], ["EMPTY2="], [],                 // RUN "<<NOHEREDOC" is quoted
            ["INDENT=\tfoo\n\tbar\n"],
            ["UNINDENT=\tbaz\n\tquux\n"],
            ["UNINDENT2=\tbaz\n\tquux\n"],
            ["NOEXPAND=\tdon't expand $NAME\n"],
            ["COMMENT=# internal comment\necho hello world\necho foo bar # trailing comment\n"],
            ["MOUNT=echo hello\n"],
            ["FILE1=content 1\n", "FILE2=content 2\n"],
            ["X=Y\n", "Y=X\n"],
            ["COMPLEX=print('hello world')\n"],
            ["file.txt=hello world\n"],
            ["eof=echo foo\n"],
            ["eo'f=echo foo\n"],
            ["eo'f=echo foo\n"],
            ["one two=echo bar\n"],
            ["$EOF="],
            ["EOF="],
            ["EOF="],
        ])
        // The terminators were consumed: no line of a body became an instruction.
        #expect(instructions.map(\.keyword).filter { $0 != "RUN" && $0 != "COPY" } == ["FROM", "ENV", "USER", "LABEL"])
    }

    /// The names with escaped quotes no longer read as unterminated: kiln reaches RUN and
    /// refuses it as the step it cannot take, naming its line.
    @Test func escapedQuotesInNamesReachTheClearRefusal() {
        let tail = "is not supported: kiln adds files and edits the config, it runs nothing: such steps belong in a prebuilt base image (build it with docker once, then name it in FROM)"
        #expect(failure("FROM x\nRUN <<eo\\'f\necho foo\neo'f\n") == "Dockerfile:2: RUN: RUN \(tail)")
        #expect(failure("FROM x\nRUN <<'e'o\\'f\necho foo\neo'f\n") == "Dockerfile:2: RUN: RUN \(tail)")
        #expect(failure("FROM x\nCOPY <<eo\\'f /x\nhello\neo'f\n") == "Dockerfile:2: COPY: here-documents (<<EOF) are not supported: put the file in the build context and COPY it")
        // A body that never meets its terminator is still an error naming the start.
        #expect(failure("FROM x\nRUN <<eo\\'f\necho foo\neo\\'f\n")?.hasPrefix("Dockerfile:2: RUN: unterminated heredoc") == true)
    }

    /// TestParseJSONHeredoc and TestHeredocsFromLine: exec form has none; quoted markers are
    /// words, not here-documents; blanks after `<<` belong to the marker.
    @Test func heredocsFromLine() throws {
        for json in ["RUN [\"whoami\"]", "RUN [\"<<EOF\"]", "RUN [\"<<'EOF'\"]"] {
            #expect(try parse("FROM x\n\(json)\nUSER a\n")[1].heredocs.isEmpty, "\(json)")
        }
        let cases: [(String, [String])] = [
            ("RUN <<EOF", ["EOF"]), ("RUN <<-EOF", ["EOF"]), ("RUN << -EOF", ["-EOF"]), ("RUN <<'EOF'", ["EOF"]),
            ("RUN 4<<EOF", ["EOF"]), ("RUN <<EOF <<EOF2", ["EOF", "EOF2"]), ("RUN '<<EOF'", []), ("RUN \"<<EOF\"", []),
        ]
        for (line, names) in cases {
            let bodies = names.map { "\($0)\n" }.joined()
            let instructions = try parse("FROM x\n\(line)\n\(bodies)USER a\n")
            #expect(instructions[1].heredocs.map(\.name) == names, "\(line)")
            #expect(instructions.last?.keyword == "USER", "\(line)")
        }
    }

    /// TestParseHeredocHelpers: what is a here-document word, what is not, what is an error.
    @Test func heredocWords() throws {
        func read(_ word: String) -> String {
            do { return try DockerfileParser.heredoc(word)?.name ?? "not a here-document" } catch { return "error" }
        }
        for valid in ["<<EOF", "<<'EOF'", "<<\"EOF\"", "<<-EOF", "<<-'EOF'", "<<-\"EOF\"", "<<EO\"F\"", "<< EOF", "<<- EOF"] {
            #expect(read(valid) == "EOF", "\(valid)")
        }
        for notHeredoc in ["", "EOF", "<<", "<<-", "<EOF", "<<<EOF", "<<EOF sh"] {
            #expect(read(notHeredoc) == "not a here-document", "\(notHeredoc)")
        }
        for invalid in ["<<'EOF", "<<\"EOF", "<<EOF'", "<<EOF\""] {
            #expect(read(invalid) == "error", "\(invalid)")
        }
        #expect(try DockerfileParser.heredoc("<<-EOF")?.chomp == true)
        #expect(try DockerfileParser.heredoc("3<<EOF")?.chomp == false)
    }

    // MARK: EXPOSE (convert_expose_test.go)

    private func exposed(_ ports: String) throws -> (ports: [String], warnings: [String]) {
        let recipe = try evaluate("FROM x\nEXPOSE \(ports)\n")
        return (recipe.edits.exposedPorts, recipe.warnings.map(\.description))
    }

    /// TestParsePorts, TestParsePortsWithRange, TestParsePortFull and TestPartPortIPV6: the
    /// container port is exposed, an address and host port are dropped with BuildKit's warning.
    @Test func hostPortsAndAddressesAreDroppedWithBuildKitsWarning() throws {
        #expect(try exposed("1234/tcp 2345/udp 3456/sctp").ports == ["1234/tcp", "2345/udp", "3456/sctp"])
        #expect(try exposed("1234/tcp").warnings == [])
        let mapped = try exposed("1234:1234/tcp 2345:2345/udp 3456:3456/sctp")
        #expect(mapped.ports == ["1234/tcp", "2345/udp", "3456/sctp"])
        #expect(mapped.warnings.first == "Dockerfile:2: warning: ExposeInvalidFormat: EXPOSE instruction should not define an IP address or host-port mapping, found '1234:1234/tcp'")
        #expect(mapped.warnings.count == 3)
        #expect(try exposed("0.0.0.0:1234:1234/tcp 0.0.0.0:2345:2345/udp 0.0.0.0:3456:3456/sctp").ports == ["1234/tcp", "2345/udp", "3456/sctp"])
        #expect(try exposed("0.0.0.0:80:80").warnings == ["Dockerfile:2: warning: ExposeInvalidFormat: EXPOSE instruction should not define an IP address or host-port mapping, found '0.0.0.0:80:80'"])
        let ranges = ["1234/tcp", "1235/tcp", "1236/tcp", "2345/udp", "2346/udp", "2347/udp", "3456/sctp", "3457/sctp", "3458/sctp"]
        #expect(try exposed("1234-1236/tcp 2345-2347/udp 3456-3458/sctp").ports == ranges)
        #expect(try exposed("1234-1236:1234-1236/tcp 2345-2347:2345-2347/udp 3456-3458:3456-3458/sctp").ports == ranges)
        #expect(try exposed("0.0.0.0:1234-1236:1234-1236/tcp 0.0.0.0:2345-2347:2345-2347/udp 0.0.0.0:3456-3458:3456-3458/sctp").ports == ranges)
        #expect(try exposed("0.0.0.0:1234-1235:3333-3334/tcp").ports == ["3333/tcp", "3334/tcp"])
        // A host range with a single container port is the range to allocate from.
        #expect(try exposed("8000-8010:80").ports == ["80/tcp"])
        for (spec, port) in [("[2001:4860:0:2001::68]::333", "333/tcp"), ("[::1]:80:80", "80/tcp"), ("2001:4860:0:2001::68::333", "333/tcp"),
                             ("::1:80:80", "80/tcp"), ("::::80", "80/tcp"), ("[::ffff:10.0.0.1]:53:53/udp", "53/udp")] {
            #expect(try exposed(spec).ports == [port], "\(spec)")
        }
    }

    /// TestParsePortEmptyContainerPort and the refusals: a host name instead of an address,
    /// ranges of different lengths, a missing container port, an unknown protocol.
    @Test func malformedSpecsAreRefusedNamingThem() {
        #expect(failure("FROM x\nEXPOSE 0.0.0.0:1234-1235:/tcp\n") == "Dockerfile:2: EXPOSE: invalid port '0.0.0.0:1234-1235:/tcp': no port specified")
        #expect(failure("FROM x\nEXPOSE 0.0.0.0:1234-1235:\n") == "Dockerfile:2: EXPOSE: invalid port '0.0.0.0:1234-1235:': no port specified")
        #expect(failure("FROM x\nEXPOSE localhost:1234:1234/tcp\n") == "Dockerfile:2: EXPOSE: invalid port 'localhost:1234:1234/tcp': invalid IP address: localhost")
        #expect(failure("FROM x\nEXPOSE localhost:1234-1236:1234-1236/tcp\n")?.contains("invalid IP address: localhost") == true)
        #expect(failure("FROM x\nEXPOSE 1234-1236:80-81\n") == "Dockerfile:2: EXPOSE: invalid port '1234-1236:80-81': invalid ranges specified for container and host Ports: 80-81 and 1234-1236")
        #expect(failure("FROM x\nEXPOSE x:80\n") == "Dockerfile:2: EXPOSE: invalid port 'x:80': invalid hostPort: x")
        #expect(failure("FROM x\nEXPOSE 80/quic\n") == "Dockerfile:2: EXPOSE: invalid port '80/quic': invalid proto: quic")
        for address in ["[::1", "[::1]x", "1.2.3", "01.2.3.4", "256.0.0.1", "1:2:3:4:5:6:7:8:9", "fe80::1%eth0", "1::2::3", "12345::1", "::1.2.3.4.5"] {
            #expect(failure("FROM x\nEXPOSE \(address):80:80\n")?.contains("invalid IP address") == true, "\(address)")
        }
        for address in ["1.2.3.4", "::", "::ffff:1.2.3.4", "1:2:3:4:5:6:1.2.3.4", "2001:db8::", "FE80::A"] {
            #expect(failure("FROM x\nEXPOSE \(address):80:80\n") == nil, "\(address)")
        }
    }

    /// A protocol in capitals is lowered, with BuildKit's ExposeProtoCasing warning.
    @Test func protocolCasingIsAWarning() throws {
        let result = try exposed("80/TCP")
        #expect(result.ports == ["80/tcp"])
        #expect(result.warnings == ["Dockerfile:2: warning: ExposeProtoCasing: Defined protocol '80/TCP' in EXPOSE instruction should be lowercase"])
    }

    /// `# check=skip=RULE,...` (and `skip=all`) silences those warnings, as BuildKit's linter does.
    @Test func checkDirectiveSkipsTheRules() throws {
        func warnings(_ directive: String) throws -> [String] {
            try evaluate("\(directive)\nFROM x\nEXPOSE 0.0.0.0:80:80/TCP\n").warnings.map { String($0.message.prefix(while: { $0 != ":" })) }
        }
        #expect(try warnings("# syntax=docker/dockerfile:1") == ["ExposeProtoCasing", "ExposeInvalidFormat"])
        #expect(try warnings("# check=skip=ExposeInvalidFormat") == ["ExposeProtoCasing"])
        #expect(try warnings("# check=skip= ExposeProtoCasing , ExposeInvalidFormat ;error=true") == [])
        #expect(try warnings("# check=skip=all") == [])
    }

    // MARK: WORKDIR (dispatchWorkdir)

    /// Each WORKDIR other than `/` makes its directory in the layer (BuildKit's `Mkdir` with
    /// parents, 0755), owned by the USER in effect: the base's `User` until a USER changes it.
    @Test func workdirMakesItsDirectoryForTheUserInEffect() throws {
        let empty = try TemporaryDirectory()
        let recipe = try Dockerfile.parse("FROM x\nWORKDIR /a\nUSER kong\nWORKDIR b\nWORKDIR /\nUSER 7:web\nWORKDIR /c\n")
            .evaluate(context: try BuildContext(directory: empty.path), baseConfig: DockerfileBaseConfig(user: "nginx"))
        #expect(recipe.copies.map(\.instruction) == ["WORKDIR", "WORKDIR", "WORKDIR"])
        #expect(recipe.copies.map(\.line) == [2, 4, 7])
        #expect(recipe.overlays.map(\.makesDirectory) == [true, true, true])
        #expect(recipe.overlays.map(\.destination.description) == ["/a", "/a/b", "/c"])
        #expect(recipe.overlays.map { $0.owner?.description } == ["nginx", "kong", "7:web"])
        #expect(recipe.edits.workingDir == "/c")
        // No USER anywhere: root's; `WORKDIR /` makes nothing, so a config-only Dockerfile with
        // it alone stays without a layer, as in BuildKit.
        #expect(try evaluate("FROM x\nWORKDIR /srv\n").overlays.map { $0.owner == nil && $0.makesDirectory } == [true])
        #expect(try evaluate("FROM x\nWORKDIR /\n").overlays.isEmpty)
        #expect(failure("FROM x\nUSER a:b:c\nWORKDIR /w\n") == "Dockerfile:3: WORKDIR: the directory would belong to the USER in effect, 'a:b:c', which is not USER[:GROUP] of numbers or names")
    }
}
