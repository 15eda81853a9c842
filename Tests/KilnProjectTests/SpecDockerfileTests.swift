import Foundation
import KilnTestSupport
import Testing

/// A spec that names a Dockerfile (the subset `kiln docker build` reads) instead of overlays and
/// config: lock, plan and build agree, and give the image `kiln docker build` gives for the same
/// Dockerfile and base.
@Suite struct SpecDockerfileTests {
    final class Fixture {
        let dir: TemporaryDirectory
        let hub: RegistryServer
        var root: String { dir("repo") }

        init() throws {
            dir = try TemporaryDirectory()
            hub = try RegistryServer()
            try PeerImages.makeOCIBase(at: dir("base"), tag: "1.0", work: dir)
            try hub.push(layout: "\(dir("base")):1.0", to: "library/kong:2.6.0-alpine")
            try dir.write("kiln.yaml", "registries:\n  docker.io:\n    endpoint: http://\(hub.host)\n")
            try dir.write("repo/images/gateway/Dockerfile", """
                ARG VERSION=2.6.0
                FROM kong:${VERSION}-alpine
                COPY --chown=kong kong.conf /etc/kong/
                ENV KONG_DATABASE=off PATH=/opt/kong/bin:$PATH
                USER kong
                CMD kong docker-start

                """)
            try dir.write("repo/images/gateway/kong.conf", "database = off\n")
            try dir.write("repo/images/gateway.yaml", "dockerfile: images/gateway/Dockerfile\ntarget: oci:\(dir("repo/out"))\n")
        }

        var environment: [String: String] { ["KILN_CONFIG": dir("kiln.yaml"), "KILN_DOCKER_STORE": dir("store")] }

        func kiln(_ arguments: [String]) throws -> ProcessResult {
            try KilnTestSupport.kiln(arguments + ["--root", root], extraEnvironment: environment)
        }
    }

    @Test func lockPlanAndBuildAgreeWithKilnDockerBuild() throws {
        let f = try Fixture()
        let lock = try f.kiln(["lock"])
        #expect(lock.status == 0, "\(lock.stderr)")
        let plan = try f.kiln(["plan", "--json"])
        #expect(plan.status == 0, "\(plan.stderr)")
        let planned = try #require(((try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any])?["images"] as? [String: Any])?["gateway"] as? [String: Any])
        let digest = try #require(planned["digest"] as? String)
        let build = try f.kiln(["build", "--provenance-file", f.dir("provenance.json")])
        #expect(build.status == 0, "\(build.stderr)")
        #expect(build.output.contains(digest))
        // The provenance names the Dockerfile by its bytes, beside the files it copies.
        let statement = try String(contentsOfFile: f.dir("provenance.json"), encoding: .utf8)
        let dockerfileDigest = try runChecked("sha256sum", [f.dir("repo/images/gateway/Dockerfile")]).output.prefix(64)
        #expect(statement.contains(#""dockerfile":{"digest":{"sha256":"\#(dockerfileDigest)"}"#) || statement.contains(#""digest":{"sha256":"\#(dockerfileDigest)"},"path":"images/gateway/Dockerfile""#), "\(statement)")
        #expect(statement.contains("images/gateway/kong.conf"))

        // The base's Env fed the expansion: PATH extends the base's.
        let layout = LayoutReader(f.dir("repo/out"))
        let config = try layout.json(try #require((try layout.json(digest)["config"] as? [String: Any])?["digest"] as? String))
        #expect((config["config"] as? [String: Any])?["Env"] as? [String] == ["PATH=/opt/kong/bin:/usr/local/bin:/usr/bin:/bin", "KONG_DATABASE=off"])

        // kiln docker build of the same Dockerfile and base: the same image.
        let docker = try KilnTestSupport.kiln(["docker", "build", "-t", "gateway", f.dir("repo/images/gateway")], extraEnvironment: f.environment)
        #expect(docker.status == 0, "\(docker.stderr)")
        let inspect = try KilnTestSupport.kiln(["docker", "images", "--format", "{{.Digest}}"], extraEnvironment: f.environment)
        #expect(inspect.output == digest, "the spec and kiln docker give one digest")
    }

    @Test func refusesWhatTheDockerfileCannotBeAndMixedSpecs() throws {
        let f = try Fixture()
        try f.dir.write("repo/images/gateway/Dockerfile", "FROM kong:2.6.0-alpine\nRUN apk add curl\n")
        #expect(try f.kiln(["lock"]).status == 0, "the FROM alone is what lock reads")
        let plan = try f.kiln(["plan"])
        #expect(plan.status == 1)
        #expect(plan.stderr.contains("Dockerfile:2: RUN"), "\(plan.stderr)")

        try f.dir.write("repo/images/gateway.yaml", "dockerfile: images/gateway/Dockerfile\nbase: kong:2.6.0-alpine\ntarget: oci:\(f.dir("repo/out"))\n")
        let mixed = try f.kiln(["plan"])
        #expect(mixed.status == 1)
        #expect(mixed.stderr.contains("base: comes from the Dockerfile"), "\(mixed.stderr)")

        try f.dir.write("outside/Dockerfile", "FROM kong:2.6.0-alpine\n")
        try FileManager.default.createSymbolicLink(atPath: f.dir("repo/images/linked"), withDestinationPath: f.dir("outside"))
        try f.dir.write("repo/images/gateway.yaml", "dockerfile: images/linked/Dockerfile\ntarget: oci:\(f.dir("repo/out"))\n")
        let outside = try f.kiln(["plan"])
        #expect(outside.status == 1)
        #expect(outside.stderr.contains("is outside the repository"), "\(outside.stderr)")
    }
}
