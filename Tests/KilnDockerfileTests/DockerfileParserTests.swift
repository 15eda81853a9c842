import KilnDockerfile
import Testing

/// The parser against the Dockerfile reference's examples (directives, escapes, continuation
/// lines, comments, exec and shell forms, ENV and LABEL forms) and BuildKit's parser rules.
@Suite struct DockerfileParserTests {
    private func parse(_ text: String) throws -> [DockerfileInstruction] { try Dockerfile.parse(text).instructions }

    private func summary(_ instruction: DockerfileInstruction) -> String {
        var parts = [instruction.keyword] + instruction.flags
        if instruction.isJSON { parts.append("json") }
        parts += instruction.arguments.map { "[\($0)]" }
        parts += instruction.pairs.map { "<\($0.key)\($0.hasEquals ? "=" : " ")\($0.value)>" }
        return parts.joined(separator: " ")
    }

    @Test func escapeDirectiveBacktick() throws {
        let dockerfile = try Dockerfile.parse("# escape=`\n\nFROM mcr.microsoft.com/windows/servercore\nCOPY testfile.txt c:\\\nRUN dir c:\\\n")
        #expect(dockerfile.escape == "`")
        #expect(dockerfile.instructions.map(summary) == ["FROM [mcr.microsoft.com/windows/servercore]", "COPY [testfile.txt] [c:\\]", "RUN [dir c:\\]"])
        #expect(dockerfile.instructions.map(\.line) == [3, 4, 5])
    }

    /// With the default escape, `c:\\` ends the line and `c:\` continues it (the reference's
    /// warning example).
    @Test func defaultEscapeContinuesLines() throws {
        let instructions = try parse("FROM microsoft/nanoserver\nCOPY testfile.txt c:\\\\\nRUN dir c:\\\n")
        #expect(instructions.map(summary) == ["FROM [microsoft/nanoserver]", "COPY [testfile.txt] [c:\\\\]", "RUN [dir c:]"])
    }

    @Test func directivesOnlyAtTheTop() throws {
        #expect(try Dockerfile.parse("# Escape = `\nFROM x\n").escape == "`")
        // After a comment, a blank line or an instruction, `# escape=` is a comment.
        #expect(try Dockerfile.parse("# about\n# escape=`\nFROM x\n").escape == "\\")
        #expect(try Dockerfile.parse("\n# escape=`\nFROM x\n").escape == "\\")
        #expect(try Dockerfile.parse("FROM x\n# escape=`\n").escape == "\\")
        // Unknown directives are comments and end the directives.
        #expect(try Dockerfile.parse("# unknowndirective=value\n# escape=`\nFROM x\n").escape == "\\")
        #expect(try Dockerfile.parse("# syntax=docker/dockerfile:1\n# escape=`\nFROM x\n").escape == "`")
        let twice = #expect(throws: DockerfileError.self) { try Dockerfile.parse("# escape=\\\n# escape=`\nFROM x\n") }
        #expect(twice?.description == "Dockerfile:2: only one escape parser directive can be used")
        #expect(throws: DockerfileError.self) { try Dockerfile.parse("# escape=x\nFROM x\n") }
    }

    /// "Comment lines are removed before the Dockerfile instructions are executed", also inside
    /// a continued instruction; leading whitespace before `#` or an instruction is allowed.
    @Test func commentsAndIndentation() throws {
        let instructions = try parse("# this is a comment-line\n        # indented comment\n    RUN echo hello \\\n# comment\nworld\nRUN echo hi # not a comment\n")
        #expect(instructions.map(summary) == ["RUN [echo hello world]", "RUN [echo hi # not a comment]"])
        #expect(instructions.map(\.line) == [3, 6])
        #expect(instructions[0].endLine == 5)
    }

    @Test func emptyContinuationLinesAreSkippedWithAWarning() throws {
        let dockerfile = try Dockerfile.parse("FROM alpine\nEXPOSE 80 \\\n\n443\n")
        #expect(dockerfile.instructions.map(summary) == ["FROM [alpine]", "EXPOSE [80] [443]"])
        #expect(dockerfile.warnings.map(\.line) == [4])
    }

    /// Continuation lines keep their leading blanks; the escape before trailing blanks still
    /// continues; a continued last line ends the file.
    @Test func continuationDetails() throws {
        #expect(try parse("LABEL description=\"This text illustrates \\\nthat label-values can span multiple lines.\"").map(summary)
            == ["LABEL <description=\"This text illustrates that label-values can span multiple lines.\">"])
        #expect(try parse("ENV A=1 \\  \n    B=2").map(summary) == ["ENV <A=1> <B=2>"])
        #expect(try parse("CMD a \\").map(summary) == ["CMD [a]"])
        #expect(try parse("FROM x\r\nUSER app\r\n").map(summary) == ["FROM [x]", "USER [app]"])
    }

    @Test func execAndShellForms() throws {
        let instructions = try parse("""
        ENTRYPOINT ["top", "-b"]
        CMD ["-c"]
        CMD echo "This is a test." | wc -
        CMD [ "echo", "$HOME" ]
        CMD ["broken", "json"
        SHELL ["powershell", "-command"]
        VOLUME ["/data"]
        VOLUME /var/log /var/db
        COPY ["a b", "/dest/"]
        """)
        #expect(instructions.map(summary) == [
            "ENTRYPOINT json [top] [-b]",
            "CMD json [-c]",
            "CMD [echo \"This is a test.\" | wc -]",
            "CMD json [echo] [$HOME]",
            "CMD [[\"broken\", \"json\"]",
            "SHELL json [powershell] [-command]",
            "VOLUME json [/data]",
            "VOLUME [/var/log] [/var/db]",
            "COPY json [a b] [/dest/]",
        ])
        let error = #expect(throws: DockerfileError.self) { try parse("FROM x\nCMD [\"a\", 1]") }
        #expect(error?.description == "Dockerfile:2: CMD: when using JSON array syntax, arrays must be comprised of strings only")
    }

    /// The reference's ENV and LABEL examples, including the legacy form's surprise:
    /// `ENV ONE TWO= THREE=world` sets ONE to `TWO= THREE=world`.
    @Test func envAndLabelForms() throws {
        let instructions = try parse("""
        ENV MY_NAME="John Doe"
        ENV MY_DOG=Rex\\ The\\ Dog
        ENV MY_NAME="John Doe" MY_DOG=Rex\\ The\\ Dog \\
            MY_CAT=fluffy
        ENV MY_VAR my-value
        ENV ONE TWO= THREE=world
        LABEL "com.example.vendor"="ACME Incorporated"
        LABEL multi.label1="value1" multi.label2="value2" other="value3"
        """)
        #expect(instructions.map(summary) == [
            "ENV <MY_NAME=\"John Doe\">",
            "ENV <MY_DOG=Rex\\ The\\ Dog>",
            "ENV <MY_NAME=\"John Doe\"> <MY_DOG=Rex\\ The\\ Dog> <MY_CAT=fluffy>",
            "ENV <MY_VAR my-value>",
            "ENV <ONE TWO= THREE=world>",
            "LABEL <\"com.example.vendor\"=\"ACME Incorporated\">",
            "LABEL <multi.label1=\"value1\"> <multi.label2=\"value2\"> <other=\"value3\">",
        ])
        #expect(throws: DockerfileError.self) { try parse("ENV ALONE") }
        #expect(throws: DockerfileError.self) { try parse("ENV A=1 B") }
    }

    @Test func flagsAndOtherInstructions() throws {
        let instructions = try parse("""
        FROM --platform=$BUILDPLATFORM golang:1.22 AS build
        COPY --chown=55:mygroup --chmod=644 files* /somedir/
        ADD --chown="app user" a /b
        COPY -- --weird /x
        HEALTHCHECK --interval=5m --timeout=3s \\
          CMD curl -f http://localhost/ || exit 1
        HEALTHCHECK NONE
        ARG user1=someuser "buildno=1 2" plain
        ONBUILD ADD . /app/src
        STOPSIGNAL SIGKILL
        WORKDIR /path to/dir
        """)
        #expect(instructions.map(summary) == [
            "FROM --platform=$BUILDPLATFORM [golang:1.22] [AS] [build]",
            "COPY --chown=55:mygroup --chmod=644 [files*] [/somedir/]",
            "ADD --chown=app user [a] [/b]",
            "COPY [--weird] [/x]",
            "HEALTHCHECK --interval=5m --timeout=3s [CMD] [curl -f http://localhost/ || exit 1]",
            "HEALTHCHECK [NONE]",
            "ARG [user1=someuser] [\"buildno=1 2\"] [plain]",
            "ONBUILD",
            "STOPSIGNAL [SIGKILL]",
            "WORKDIR [/path to/dir]",
        ])
        #expect(instructions[7].trigger.map(summary) == ["ADD [.] [/app/src]"])
    }

    /// Instruction names are case-insensitive; unknown ones are an error naming the line.
    @Test func instructionNames() throws {
        #expect(try parse("from x\ncopy a /b").map(\.keyword) == ["FROM", "COPY"])
        let error = #expect(throws: DockerfileError.self) { try parse("FROM x\n\nFORM y") }
        #expect(error?.description == "Dockerfile:3: unknown instruction: FORM")
        #expect(throws: DockerfileError.self) { try Dockerfile.parse("# only a comment\n\n") }
    }

    /// Here-documents are read to their terminator (so their lines are not taken for
    /// instructions); evaluation refuses them.
    @Test func heredocsAreConsumed() throws {
        let instructions = try parse("FROM x\nRUN <<EOF\napt-get update\nEOF\nCOPY <<-\"END\" /etc/x\n\tline\n\tEND\nUSER app\n")
        #expect(instructions.map(\.keyword) == ["FROM", "RUN", "COPY", "USER"])
        #expect(instructions[1].heredocs == [.init(name: "EOF", content: "apt-get update\n")])
        #expect(instructions[2].heredocs.map(\.name) == ["END"])
        #expect(instructions[3].line == 8)
        #expect(throws: DockerfileError.self) { try parse("RUN <<EOF\nnever ends\n") }
    }

    @Test func byteOrderMarkAndLongLines() throws {
        #expect(try parse("\u{FEFF}FROM x").map(summary) == ["FROM [x]"])
        #expect(throws: DockerfileError.self) { try parse("LABEL a=" + String(repeating: "x", count: 70000)) }
    }
}
