@testable import KilnDockerfile
import Testing

/// Variable substitution as BuildKit's `shell.Lex` does it, with the Dockerfile reference's
/// examples.
@Suite struct ShellWordTests {
    private func word(_ text: String, _ env: [String: String] = [:], escape: Unicode.Scalar = "\\") throws -> String {
        var lexer = ShellWord(escape: escape) { env[$0] }
        return try lexer.word(text)
    }

    private func words(_ text: String, _ env: [String: String] = [:]) throws -> [String] {
        var lexer = ShellWord(escape: "\\") { env[$0] }
        return try lexer.words(text)
    }

    @Test func plainAndBracedVariables() throws {
        let env = ["FOO": "/bar", "x": "1"]
        #expect(try word("$FOO", env) == "/bar")
        #expect(try word("${FOO}", env) == "/bar")
        #expect(try word("${FOO}/baz", env) == "/bar/baz")
        #expect(try word("$FOO.txt", env) == "/bar.txt")
        #expect(try word("a$x$x", env) == "a11")
        #expect(try word("$UNSET-x", env) == "-x")
        #expect(try word("$", env) == "$")
        #expect(try word("cost: 5$", env) == "cost: 5$")
    }

    /// "Escaping is possible by adding a \ before the variable: \$foo or \${foo}".
    @Test func escapedDollarIsLiteral() throws {
        #expect(try word("\\$FOO", ["FOO": "x"]) == "$FOO")
        #expect(try word("\\${FOO}", ["FOO": "x"]) == "${FOO}")
        #expect(try word("`$FOO", ["FOO": "x"], escape: "`") == "$FOO")
        #expect(try word("\\$FOO", ["FOO": "x"], escape: "`") == "\\x")
    }

    /// `${variable:-word}`, `${variable:+word}` and their forms without `:`.
    @Test func defaultAndAlternativeValues() throws {
        let env = ["set": "value", "empty": ""]
        #expect(try word("${set:-word}", env) == "value")
        #expect(try word("${unset:-word}", env) == "word")
        #expect(try word("${empty:-word}", env) == "word")
        #expect(try word("${empty-word}", env) == "")
        #expect(try word("${unset-word}", env) == "word")
        #expect(try word("${set:+word}", env) == "word")
        #expect(try word("${unset:+word}", env) == "")
        #expect(try word("${empty:+word}", env) == "")
        #expect(try word("${empty+word}", env) == "word")
        #expect(try word("${unset:-$set}", env) == "value")
        #expect(try word("${unset:-a b}", env) == "a b")
    }

    /// The reference's pattern examples, with `str=foobarbaz`.
    @Test func patternRemovalAndReplacement() throws {
        let env = ["str": "foobarbaz"]
        #expect(try word("${str#f*b}", env) == "arbaz")
        #expect(try word("${str##f*b}", env) == "az")
        #expect(try word("${str%b*}", env) == "foobar")
        #expect(try word("${str%%b*}", env) == "foo")
        #expect(try word("${str/ba/fo}", env) == "fooforbaz")
        #expect(try word("${str//ba/fo}", env) == "fooforfoz")
        #expect(try word("${str#x}", env) == "foobarbaz")
        #expect(try word("${str/?/X}", env) == "Xoobarbaz")
        #expect(try word("${str//o/}", env) == "fbarbaz")
        #expect(try word("${str/*/all}", env) == "all")
        #expect(try word("${str/\\/x/y}", ["str": "a/x"]) == "ay")
    }

    @Test func requiredValues() throws {
        #expect(try word("${set?}", ["set": "v"]) == "v")
        #expect(throws: ShellWordError.self) { try word("${unset?}") }
        #expect(throws: ShellWordError.self) { try word("${empty:?must be set}", ["empty": ""]) }
        #expect(try word("${empty?}", ["empty": ""]) == "")
    }

    @Test func quotes() throws {
        let env = ["v": "x y"]
        #expect(try word("'$v'", env) == "$v")
        #expect(try word("\"$v\"", env) == "x y")
        #expect(try word("\"a\\\"b\"", env) == "a\"b")
        #expect(try word("\"a\\nb\"", env) == "a\\nb")
        #expect(try word("John\\ Doe") == "John Doe")
        #expect(try word("\"John Doe\"") == "John Doe")
    }

    /// Words split after substitution at unquoted blanks (EXPOSE's `ProcessWords`).
    @Test func wordSplitting() throws {
        #expect(try words("$ports 443", ["ports": "80 8080"]) == ["80", "8080", "443"])
        #expect(try words("'a b' c") == ["a b", "c"])
        #expect(try words("  ") == [])
    }

    @Test(arguments: ["${", "${}", "${:x}", "${v", "${v:x}", "${v:#x}", "'open", "\"open", "${v/x", "${v#\\q}"])
    func malformedSubstitutionsAreErrors(text: String) {
        #expect(throws: ShellWordError.self) { try word(text, ["v": "abc"]) }
    }

    /// `ENV a=$a$a` on every line would double a value each time: words have a ceiling.
    @Test func expansionIsBounded() {
        let big = String(repeating: "x", count: ShellWord.maximumLength / 2 + 1)
        #expect(throws: ShellWordError.self) { try word("$a$a", ["a": big]) }
    }

    @Test func unsetNamesAreReported() throws {
        var lexer = ShellWord(escape: "\\") { $0 == "set" ? "1" : nil }
        _ = try lexer.word("$set ${missing} ${other:-x} ${third:+y} ${fourth%z}")
        // A default or alternative decides the result: nothing to warn about.
        #expect(lexer.unset == ["missing", "fourth"])
    }
}
