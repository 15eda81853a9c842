import Foundation
import KilnDockerfile
import KilnTestSupport
import Testing

/// `.dockerignore` against the Dockerfile reference's examples and moby/patternmatcher's own
/// test tables.
@Suite struct DockerIgnoreTests {
    private func ignore(_ text: String) throws -> DockerIgnore { try DockerIgnore(parsing: text) }

    /// The reference's first example: comments, `*/temp*`, `*/*/temp*`, `temp?`.
    @Test func referenceExample() throws {
        let rules = try ignore("# comment\n*/temp*\n*/*/temp*\ntemp?\n")
        #expect(rules.excludes("somedir/temporary.txt"))
        #expect(rules.excludes("somedir/temp"))
        #expect(rules.excludes("somedir/subdir/temporary.txt"))
        #expect(rules.excludes("tempa"))
        #expect(rules.excludes("tempb"))
        #expect(!rules.excludes("temporary.txt"))
        #expect(!rules.excludes("tempab"))
        #expect(!rules.excludes("a/b/c/temp"))
        #expect(rules.patterns == ["*/temp*", "*/*/temp*", "temp?"])
    }

    @Test func doubleStarMatchesAnyNumberOfDirectories() throws {
        let rules = try ignore("**/*.go")
        #expect(rules.excludes("main.go"))
        #expect(rules.excludes("cmd/app/main.go"))
        #expect(!rules.excludes("main.gox"))
    }

    /// `*.md` then `!README.md`: every Markdown file but the README.
    @Test func exceptionsReinclude() throws {
        let rules = try ignore("*.md\n!README.md\n")
        #expect(rules.excludes("CHANGES.md"))
        #expect(!rules.excludes("README.md"))
    }

    /// The order matters: the last matching line wins (the reference's two README examples).
    @Test func lastMatchingLineWins() throws {
        let secretExcluded = try ignore("*.md\n!README*.md\nREADME-secret.md\n")
        #expect(secretExcluded.excludes("README-secret.md"))
        #expect(!secretExcluded.excludes("README-public.md"))
        #expect(secretExcluded.excludes("other.md"))
        let allReadmes = try ignore("*.md\nREADME-secret.md\n!README*.md\n")
        #expect(!allReadmes.excludes("README-secret.md"))
        #expect(allReadmes.excludes("other.md"))
    }

    /// A pattern also excludes what is below a matching directory; a `!` can bring a file back.
    @Test func parentDirectoriesMatch() throws {
        let rules = try ignore("docs\n!docs/README.md\n")
        #expect(rules.excludes("docs"))
        #expect(rules.excludes("docs/guide.md"))
        #expect(rules.excludes("docs/deep/x"))
        #expect(!rules.excludes("docs/README.md"))
        #expect(try ignore("docs/").excludes("docs/README.md"))
        #expect(!(try ignore("docs/*\n!docs/README.md").excludes("docs/README.md")))
    }

    /// Leading `/` and `./`, `..` and trailing blanks are cleaned, as `ignorefile.ReadAll` does;
    /// `#` starts a comment only in the first column.
    @Test func patternsAreCleaned() throws {
        let rules = try ignore("/build\n./dist/\nsrc/../tmp  \n  # not a comment\n\n")
        #expect(rules.patterns == ["build", "dist", "tmp", "# not a comment"])
        #expect(rules.excludes("build/x"))
        #expect(rules.excludes("dist"))
        #expect(rules.excludes("tmp"))
        #expect(!rules.excludes("src"))
        #expect(rules.excludes("# not a comment"))
    }

    /// moby/patternmatcher's `TestMatches` table.
    @Test(arguments: [
        ("**", "file", true), ("**", "file/", true), ("**/", "file", true), ("**/", "file/", true), ("**", "/", true), ("**/", "/", true),
        ("**", "dir/file", true), ("**/", "dir/file", true), ("**", "dir/file/", true), ("**/", "dir/file/", true),
        ("**/**", "dir/file", true), ("**/**", "dir/file/", true), ("dir/**", "dir/file", true), ("dir/**", "dir/file/", true),
        ("dir/**", "dir/dir2/file", true), ("dir/**", "dir/dir2/file/", true), ("**/dir", "dir", true), ("**/dir", "dir/file", true),
        ("**/dir2/*", "dir/dir2/file", true), ("**/dir2/*", "dir/dir2/file/", true), ("**/dir2/**", "dir/dir2/dir3/file", true),
        ("**/dir2/**", "dir/dir2/dir3/file/", true), ("**file", "file", true), ("**file", "dir/file", true), ("**/file", "dir/file", true),
        ("**file", "dir/dir/file", true), ("**/file", "dir/dir/file", true), ("**/file*", "dir/dir/file", true),
        ("**/file*", "dir/dir/file.txt", true), ("**/file*txt", "dir/dir/file.txt", true), ("**/file*.txt", "dir/dir/file.txt", true),
        ("**/file*.txt*", "dir/dir/file.txt", true), ("**/**/*.txt", "dir/dir/file.txt", true), ("**/**/*.txt2", "dir/dir/file.txt", false),
        ("**/*.txt", "file.txt", true), ("**/**/*.txt", "file.txt", true), ("a**/*.txt", "a/file.txt", true), ("a**/*.txt", "a/dir/file.txt", true),
        ("a**/*.txt", "a/dir/dir/file.txt", true), ("a/*.txt", "a/dir/file.txt", false), ("a/*.txt", "a/file.txt", true),
        ("a/*.txt**", "a/file.txt", true), ("a[b-d]e", "ae", false), ("a[b-d]e", "ace", true), ("a[b-d]e", "aae", false),
        ("a[^b-d]e", "aze", true), (".*", ".foo", true), (".*", "foo", false), ("abc.def", "abcdef", false), ("abc.def", "abc.def", true),
        ("abc.def", "abcZdef", false), ("abc?def", "abcZdef", true), ("abc?def", "abcdef", false), ("a\\\\", "a\\", true),
        ("**/foo/bar", "foo/bar", true), ("**/foo/bar", "dir/foo/bar", true), ("**/foo/bar", "dir/dir2/foo/bar", true),
        ("abc/**", "abc", false), ("abc/**", "abc/def", true), ("abc/**", "abc/def/ghi", true), ("**/.foo", ".foo", true),
        ("**/.foo", "bar.foo", false), ("a(b)c/def", "a(b)c/def", true), ("a(b)c/def", "a(b)c/xyz", false),
        ("a.|)$(}+{bc", "a.|)$(}+{bc", true),
        ("dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", true),
        ("dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", true),
        ("a\\*b", "a*b", true),
    ])
    func patternMatcherTable(pattern: String, path: String, expected: Bool) throws {
        // The table runs through `MatchesOrParentMatches`, which is what `excludes` is.
        #expect(try DockerIgnore(patterns: [pattern]).excludes(path) == expected, "\(pattern) vs \(path)")
    }

    /// patternmatcher's multi-pattern cases.
    @Test func exceptionTable() throws {
        #expect(!(try DockerIgnore(patterns: ["**", "!util/docker/web"]).excludes("util/docker/web/foo")))
        #expect(try DockerIgnore(patterns: ["**", "!util/docker/web", "util/docker/web/foo"]).excludes("util/docker/web/foo"))
        #expect(!(try DockerIgnore(patterns: ["**", "!dist/*.whl"]).excludes("dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl")))
    }

    @Test func badPatternsAreErrorsNamingTheLine() throws {
        #expect(throws: DockerfileError.self) { try DockerIgnore(patterns: ["!"]) }
        #expect(throws: DockerfileError.self) { try DockerIgnore(patterns: ["["]) }
        let error = #expect(throws: DockerfileError.self) { try DockerIgnore(parsing: "ok\n# c\na[b\n") }
        #expect(error?.description == ".dockerignore:3: invalid pattern 'a[b'")
    }

    /// Patterns are capped as Dockerfile lines are: each one costs every path of the context.
    /// A 24 KB pattern (which took 30 s against a 60-level directory) and a 977 KB file of
    /// patterns (past 300 s) are one error line naming the file.
    @Test func patternCountAndLengthAreCapped() throws {
        let hostile = String(repeating: "*a", count: 12_000)
        let long = #expect(throws: DockerfileError.self) { try DockerIgnore(parsing: "ok\n\(hostile)\n", path: "app/.dockerignore") }
        #expect(long?.description == "app/.dockerignore:2: pattern '\(String(repeating: "*a", count: 32))...' is longer than 4096 bytes")
        let repeated = #expect(throws: DockerfileError.self) { try DockerIgnore(parsing: Array(repeating: hostile, count: 40).joined(separator: "\n")) }
        #expect(repeated?.description.hasPrefix(".dockerignore:1: pattern '*a*a") == true)
        // 977 KB of short patterns: more than the count allows.
        let many = (0..<70_000).map { "pattern-\($0 % 10_000)*" }.joined(separator: "\n")
        #expect(many.utf8.count > 950_000 && many.utf8.count < 1 << 20)
        let counted = #expect(throws: DockerfileError.self) { try DockerIgnore(parsing: many) }
        #expect(counted?.description == ".dockerignore:10001: more than 10000 patterns")
        #expect(throws: DockerfileError.self) { try DockerIgnore(patterns: [hostile]) }
        // At the caps: kept.
        let atCaps = try DockerIgnore(parsing: (0..<10_000).map { "p\($0)" }.joined(separator: "\n") + "\n# comments do not count\n")
        #expect(atCaps.patterns.count == 10_000)
        #expect(atCaps.excludes("p9999/x"))
        #expect(!atCaps.excludes("q"))
        #expect(try DockerIgnore(patterns: [String(repeating: "a", count: 4096)]).patterns.count == 1)
    }

    /// A pattern as long as allowed, and patterns whose parents match, against a path 60
    /// directories deep: each path is matched once per pattern (its parents in the same pass),
    /// with patternmatcher's results.
    @Test func longPatternsAgainstDeepPathsKeepPatternMatcherResults() throws {
        let deep = (1...60).map { "d\($0)" }.joined(separator: "/")
        let hostile = String(repeating: "*a", count: 2000) + "*"
        let rules = try DockerIgnore(patterns: [hostile])
        #expect(!rules.excludes(deep + "/file.txt"), "`*` does not cross `/`")
        #expect(rules.excludes(String(repeating: "a", count: 2000)))
        #expect(rules.excludes(String(repeating: "a", count: 2000) + "/" + deep), "a parent matches")
        #expect(!rules.excludes(String(repeating: "a", count: 1999)))
        let crossing = try DockerIgnore(patterns: [String(repeating: "**/d", count: 900) + "**"])
        #expect(!crossing.excludes(deep + "/file.txt"), "900 directories named d* are not there")
        let layered = try DockerIgnore(patterns: ["**/d30/**/*.txt", "!**/d59", "d1/d2/d4"])
        #expect(!layered.excludes(deep + "/file.txt"), "re-included by its parent d59")
        #expect(layered.excludes((1...58).map { "d\($0)" }.joined(separator: "/") + "/file.txt"))
        #expect(layered.excludes("d1/d2/d4/file.md"), "d1/d2/d4 is a parent")
        #expect(!layered.excludes(deep + "/file.md"))
        #expect(!layered.excludes("d1/d2/d30/x.md"))
        #expect(layered.excludes("d1/d2/d30/x.txt"))
        #expect(layered.excludes("x/d30/y/z/x.txt"))
        // Parents are the text before each `/`: `**/dir` matches what lies below `dir`.
        let parent = try DockerIgnore(patterns: ["**/dir", "abc", "x*"])
        #expect(parent.excludes("a/b/dir/c/d"))
        #expect(parent.excludes("abc/def"))
        #expect(!parent.excludes("abcd/def"))
        #expect(parent.excludes("xyz/w"))
    }

    /// The same through a build context as `docker build` reads it: a 60-level directory, an
    /// ignore file with a pattern at the length cap, one past it, one with too many patterns.
    @Test func aContextWithHostileIgnoreFiles() throws {
        let dir = try TemporaryDirectory()
        let deep = (1...60).map { "d\($0)" }.joined(separator: "/")
        try dir.write("ctx/\(deep)/file.txt", "x")
        try dir.write("ctx/\(deep)/keep.md", "x")
        try dir.write("ctx/top.txt", "x")
        let atCap = String(repeating: "*a", count: 2047) + "*"
        try dir.write("ctx/.dockerignore", "\(atCap)\n**/d30/**/*.txt\n!**/d59/**/*.txt\n")
        let recipe = try Dockerfile.parse("FROM x\nCOPY . /app/\n").evaluate(context: try BuildContext(directory: dir("ctx")))
        #expect(recipe.overlays.first?.excluding == [], "file.txt is re-included below d59; the long pattern matches nothing")
        try dir.write("ctx/.dockerignore", "\(atCap)\n**/d30/**/*.txt\n")
        let excluded = try Dockerfile.parse("FROM x\nCOPY . /app/\n").evaluate(context: try BuildContext(directory: dir("ctx")))
        #expect(excluded.overlays.first?.excluding == ["\(deep)/file.txt"])

        try dir.write("ctx/.dockerignore", String(repeating: "*a", count: 12_000) + "\n")
        let long = #expect(throws: DockerfileError.self) { try BuildContext(directory: dir("ctx")) }
        #expect(long?.description == ".dockerignore:1: pattern '\(String(repeating: "*a", count: 32))...' is longer than 4096 bytes")
        try dir.write("ctx/.dockerignore", (0..<70_000).map { "pattern-\($0 % 10_000)*" }.joined(separator: "\n"))
        let many = #expect(throws: DockerfileError.self) { try BuildContext(directory: dir("ctx")) }
        #expect(many?.description == ".dockerignore:10001: more than 10000 patterns")
    }
}
