import KilnDockerfile
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
}
