import Foundation
import KilnTestSupport
import Testing

/// The README's two commands stay true: the demo is the bake the golden test runs, it prints the
/// golden digest, and `.ci/run` runs the README's test command verbatim.
@Suite struct ReadmeTests {
    let readme = (try? String(contentsOfFile: "\(repositoryRoot)/README.md", encoding: .utf8)) ?? ""

    @Test func demoCommandIsTheGoldenBake() throws {
        let demo = Demo.arguments(overlays: "overlays/gateway", output: "oci:/tmp/kiln-demo:gateway")
            .map { $0.replacingOccurrences(of: "oci:\(repositoryRoot)/", with: "oci:") }
            .map { $0.hasPrefix("[") ? "'\($0)'" : $0 }
            .joined(separator: " ")
        #expect(readme.contains(".build/release/kiln \(demo)\n"))
        #expect(readme.contains("oci:/tmp/kiln-demo@\(Demo.goldenManifest)"))
    }

    @Test func ciRunsTheReadmeTestCommand() throws {
        let ci = try String(contentsOfFile: "\(repositoryRoot)/.ci/run", encoding: .utf8)
        let command = ci.split(separator: "\n").last.map(String.init) ?? ""
        // One release build, the release tarball's (static Swift runtime); the CLI suites run a
        // second time against that binary, then the tarball is checked as a user meets it.
        #expect(command.contains("&& scripts/release.sh .build/dist && swift test && "))
        #expect(!command.contains("swift build -c release"))
        #expect(command.contains("KILN_EXECUTABLE=\"$PWD/.build-release/release/kiln\" swift test --skip-build --filter 'KilnBakeTests|KilnProjectTests|KilnDockerTests' && scripts/release-check.sh .build/dist && "))
        // The release checks' tools are installed.
        for package in ["mmdebstrap", "podman", "runc", "uidmap", "binutils"] {
            #expect(command.contains(" \(package) "), "the test command does not install \(package)")
        }
        // Each fuzz target runs briefly.
        #expect(command.hasSuffix(" && scripts/fuzz.sh 10"))
        #expect(readme.contains("\n\(command)\n"))
    }

    @Test func helpMentionsEveryBakeFlagTheReadmeDocuments() throws {
        let help = try runChecked(kilnExecutable, ["bake", "--help"]).stdout
        for flag in ["--base", "--overlay", "--remove", "--owner", "--mode", "--env", "--label", "--user", "--workdir",
                     "--entrypoint", "--cmd", "--platform", "--compression", "--mtime", "--output", "--json"] {
            #expect(help.contains(flag), "kiln bake --help lacks \(flag)")
            #expect(readme.contains("[\(flag)") || readme.contains(" \(flag) ") || readme.contains("`\(flag)"), "README lacks \(flag)")
        }
    }
}
