import Foundation
import KilnTestSupport
import Testing

/// The real CDK CLI publishing a `ContainerImage.fromAsset` image (and a `fromTarball` one) with kiln as its Docker
/// (`CDK_DOCKER=kiln-docker`): moto serves ECR, S3 and STS; the ECR host is routed through
/// kiln's config file to a TLS + htpasswd registry whose password is moto's ECR token; the
/// Dockerfile's base, a look-alike of `kong:2.6.0-alpine`, is routed to a second local registry.
@Suite(.serialized) struct CDKPublishTests {
    static let account = "123456789012"
    static let region = "eu-west-1"
    static var ecrHost: String { "\(account).dkr.ecr.\(region).amazonaws.com" }
    static var assetRepository: String { "cdk-hnb659fds-container-assets-\(account)-\(region)" }

    final class Fixture {
        let moto: MotoServer
        let ecr: RegistryServer
        let hub: RegistryServer
        let dir: TemporaryDirectory
        let cdk: String

        init() throws {
            moto = try MotoServer()
            ecr = try RegistryServer(tls: true, user: ("AWS", "\(CDKPublishTests.account)-auth-token"))
            hub = try RegistryServer()
            dir = try TemporaryDirectory()
            cdk = try CDKToolkit.cliScript()
            try PeerImages.makeOCIBase(at: dir("base"), work: dir)
            try hub.push(layout: "\(dir("base")):base", to: "library/kong:2.6.0-alpine")
            // What `cdk bootstrap` would have made: the assets bucket and repository.
            _ = try runChecked("python3", ["-c", """
                import boto3
                kw = dict(endpoint_url="\(moto.url)", region_name="\(CDKPublishTests.region)", aws_access_key_id="x", aws_secret_access_key="y")
                boto3.client("ecr", **kw).create_repository(repositoryName="\(CDKPublishTests.assetRepository)")
                boto3.client("s3", **kw).create_bucket(Bucket="cdk-hnb659fds-assets-\(CDKPublishTests.account)-\(CDKPublishTests.region)",
                                                       CreateBucketConfiguration={"LocationConstraint": "\(CDKPublishTests.region)"})
                """])
            try dir.write("kiln.yaml", """
                registries:
                  docker.io:
                    endpoint: http://\(hub.host)
                  \(CDKPublishTests.ecrHost):
                    endpoint: https://\(ecr.host)

                """)
            try FileManager.default.createDirectory(atPath: dir("bin"), withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: dir("bin/kiln-docker"), withDestinationPath: kilnExecutable)
            try FileManager.default.createDirectory(atPath: dir("app"), withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: dir("app/node_modules"), withDestinationPath: try CDKToolkit.nodeModules())
        }

        /// A CDK app in JavaScript like the UM demo's TypeScript one: a Fargate task whose
        /// container image is `fromAsset('./image')`.
        func writeApp(dockerfile: String) throws {
            try dir.write("app/app.js", """
                const path = require('path');
                const cdk = require('aws-cdk-lib');
                const ecs = require('aws-cdk-lib/aws-ecs');
                const app = new cdk.App();
                const stack = new cdk.Stack(app, 'UmDemo', {
                  env: { account: '\(CDKPublishTests.account)', region: '\(CDKPublishTests.region)' },
                  synthesizer: new cdk.CliCredentialsStackSynthesizer(),
                });
                const task = new ecs.FargateTaskDefinition(stack, 'Gateway');
                task.addContainer('gateway', { image: ecs.ContainerImage.fromAsset(path.join(__dirname, 'image')), memoryLimitMiB: 512 });
                app.synth();

                """)
            try dir.write("app/image/Dockerfile", dockerfile)
            try dir.write("app/image/kong.conf", "database = off\n")
            try dir.write("app/image/.dockerignore", "*.md\n")
            try dir.write("app/image/NOTES.md", "not part of the image\n")
        }

        /// The same app with `fromTarball('./image.tar')` (aws-ecr-assets' `TarballImageAsset`):
        /// at publish time the CDK runs `$CDK_DOCKER load -i image.tar | tail -n 1 | sed …`, then
        /// `tag` and `push`. The archive is skopeo's docker-archive of the base.
        func writeTarballApp() throws {
            try dir.write("app/app.js", """
                const path = require('path');
                const cdk = require('aws-cdk-lib');
                const ecs = require('aws-cdk-lib/aws-ecs');
                const app = new cdk.App();
                const stack = new cdk.Stack(app, 'UmDemo', {
                  env: { account: '\(CDKPublishTests.account)', region: '\(CDKPublishTests.region)' },
                  synthesizer: new cdk.CliCredentialsStackSynthesizer(),
                });
                const task = new ecs.FargateTaskDefinition(stack, 'Gateway');
                task.addContainer('gateway', { image: ecs.ContainerImage.fromTarball(path.join(__dirname, 'image.tar')), memoryLimitMiB: 512 });
                app.synth();

                """)
            try runChecked("skopeo", ["--insecure-policy", "copy", "--quiet", "oci:\(dir("base")):base", "docker-archive:\(dir("app/image.tar")):kong:tarball"])
        }

        /// `cdk publish-assets`, as `cdk deploy` publishes before it deploys; `environment` adds
        /// to the CDK's environment, which it hands on to `$CDK_DOCKER`.
        func publish(environment extra: [String: String] = [:]) throws -> ProcessResult {
            try run("node", [cdk, "publish-assets", "--unstable=publish-assets", "--app", "node app.js", "--ci", "--no-notices", "--output", dir("cdk.out")],
                    environment: ProcessInfo.processInfo.environment.merging([
                        "CDK_DOCKER": dir("bin/kiln-docker"), "HOME": dir("home"), "CDK_DISABLE_VERSION_CHECK": "1",
                        "AWS_ENDPOINT_URL": moto.url, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y", "AWS_SESSION_TOKEN": "",
                        "AWS_REGION": CDKPublishTests.region, "AWS_DEFAULT_REGION": CDKPublishTests.region, "AWS_PROFILE": "",
                        "AWS_CONFIG_FILE": dir("none"), "AWS_SHARED_CREDENTIALS_FILE": dir("none"), "AWS_EC2_METADATA_DISABLED": "true",
                        "KILN_CONFIG": dir("kiln.yaml"), "KILN_DOCKER_STORE": dir("store"), "SSL_CERT_FILE": ecr.caFile!, "DOCKER_CONFIG": dir("docker"),
                    ]) { $1 }.merging(extra) { $1 },
                    currentDirectory: dir("app"))
        }

        /// Requests that change the ECR stand-in: blob uploads and manifest PUTs.
        func writes() -> [String] {
            ecr.requests().filter { $0.hasPrefix("PUT") || $0.hasPrefix("POST") || $0.hasPrefix("PATCH") }
        }
    }

    static let gatewayDockerfile = """
        # The UM gateway, as its team wrote it for Docker.
        FROM kong:2.6.0-alpine
        COPY --chown=1000:0 kong.conf /etc/kong/kong.conf
        ENV KONG_DATABASE=off \\
            KONG_PLUGINS=oidc,cors
        USER kong
        CMD ["kong", "docker-start"]

        """

    @Test func publishesTheAssetImageWithoutDocker() throws {
        let f = try Fixture()
        try f.writeApp(dockerfile: Self.gatewayDockerfile)
        let first = try f.publish()
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")

        // The image as the registry has it, read by skopeo.
        let tags = try runChecked("skopeo", ["list-tags", "--creds", "AWS:\(Self.account)-auth-token"] + f.ecr.skopeoFlags(dest: nil) + ["docker://\(f.ecr.host)/\(Self.assetRepository)"]).stdout
        let tag = try #require((try JSONSerialization.jsonObject(with: Data(tags.utf8)) as? [String: Any])?["Tags"] as? [String]).first { $0.count == 64 }
        let image = "\(f.ecr.host)/\(Self.assetRepository):\(try #require(tag))"
        try runChecked("skopeo", ["copy", "--src-creds", "AWS:\(Self.account)-auth-token"] + f.ecr.skopeoFlags(dest: false) + ["docker://\(image)", "oci:\(f.dir("pulled")):asset"])
        let pulled = LayoutReader(f.dir("pulled"))
        let manifest = try pulled.json(try #require(try pulled.entry(tag: "asset")["digest"] as? String))
        let layers = try #require(manifest["layers"] as? [[String: Any]]).compactMap { $0["digest"] as? String }
        let base = LayoutReader(f.dir("base"))
        let baseManifest = try base.json(try #require(try base.entry(tag: "base")["digest"] as? String))
        let baseLayers = try #require(baseManifest["layers"] as? [[String: Any]]).compactMap { $0["digest"] as? String }
        #expect(Array(layers.dropLast()) == baseLayers, "the base's layers are unchanged")
        #expect(layers.count == baseLayers.count + 1, "one kiln layer")

        let config = try pulled.json(try #require((manifest["config"] as? [String: Any])?["digest"] as? String))
        let settings = try #require(config["config"] as? [String: Any])
        #expect(settings["Env"] as? [String] == ["PATH=/usr/local/bin:/usr/bin:/bin", "KONG_DATABASE=off", "KONG_PLUGINS=oidc,cors"])
        #expect(settings["User"] as? String == "kong")
        #expect(settings["Cmd"] as? [String] == ["kong", "docker-start"])

        let listing = try runChecked("tar", ["--numeric-owner", "-tvzf", f.dir("pulled/blobs/sha256/\(try #require(layers.last).dropFirst("sha256:".count))")]).stdout
        let file = try #require(listing.split(separator: "\n").first { $0.hasSuffix("etc/kong/kong.conf") })
        #expect(file.contains("1000/0"), "owned as COPY --chown said: \(file)")
        #expect(!listing.contains("NOTES.md"), ".dockerignore applies")

        // A second publish finds the image built and pushed: nothing is written again.
        let before = f.writes()
        let second = try f.publish()
        #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
        #expect(f.writes() == before)
    }

    @Test func publishesATarballAssetWithoutDocker() throws {
        let f = try Fixture()
        try f.writeTarballApp()
        let first = try f.publish()
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")

        let tags = try runChecked("skopeo", ["list-tags", "--creds", "AWS:\(Self.account)-auth-token"] + f.ecr.skopeoFlags(dest: nil) + ["docker://\(f.ecr.host)/\(Self.assetRepository)"]).stdout
        let tagList = try #require((try JSONSerialization.jsonObject(with: Data(tags.utf8)) as? [String: Any])?["Tags"] as? [String])
        let tag = try #require(tagList.first)
        let image = "docker://\(f.ecr.host)/\(Self.assetRepository):\(tag)"
        let raw = try runChecked("skopeo", ["inspect", "--raw", "--creds", "AWS:\(Self.account)-auth-token"] + f.ecr.skopeoFlags(dest: nil) + [image]).stdout
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(raw.utf8)) as? [String: Any])
        // Docker's image ID (the config digest) and the diff_ids are the archive's.
        let archived = try runChecked("tar", ["-xOf", f.dir("app/image.tar"), "manifest.json"]).stdout
        let configName = try #require((try JSONSerialization.jsonObject(with: Data(archived.utf8)) as? [[String: Any]])?.first?["Config"] as? String)
        #expect((manifest["config"] as? [String: Any])?["digest"] as? String == "sha256:" + configName.dropLast(".json".count))
        let base = LayoutReader(f.dir("base"))
        let baseManifest = try base.json(try #require(try base.entry(tag: "base")["digest"] as? String))
        let baseConfig = try base.json(try #require((baseManifest["config"] as? [String: Any])?["digest"] as? String))
        let config = try runChecked("skopeo", ["inspect", "--config", "--raw", "--creds", "AWS:\(Self.account)-auth-token"] + f.ecr.skopeoFlags(dest: nil) + [image]).stdout
        let rootfs = (try JSONSerialization.jsonObject(with: Data(config.utf8)) as? [String: Any])?["rootfs"] as? [String: Any]
        #expect(rootfs?["diff_ids"] as? [String] == (baseConfig["rootfs"] as? [String: Any])?["diff_ids"] as? [String])

        // A second publish finds the image in ECR: nothing is loaded or written again.
        let before = f.writes()
        let second = try f.publish()
        #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
        #expect(f.writes() == before)
    }

    /// Issue 23: a planted password in the COPY'd kong.conf fails the publish with the one-line
    /// finding, before kiln's store or ECR is written; no part of the secret is in any output or
    /// log; `KILN_ALLOW_SECRETS` (the CDK passes `docker build` no flags of ours) lets it through.
    @Test func aPlantedSecretFailsThePublishUntilItsFingerprintIsAllowed() throws {
        let f = try Fixture()
        let password = "Qv7-planted-cdk-Password-4412"
        try f.writeApp(dockerfile: Self.gatewayDockerfile)
        try f.dir.write("app/image/kong.conf", "database = off\npg_password = \(password)\n")
        let refused = try f.publish()
        #expect(refused.status != 0)
        let output = refused.stdout + refused.stderr
        let finding = try #require(output.split(separator: "\n").first { $0.contains("would be baked into") }, "\(output)")
        #expect(finding.hasSuffix("kong.conf:2: a password (key \"pg_password\") would be baked into /etc/kong/kong.conf; keep it out of the image (docs/secrets.md) or allow it with allow-secrets: [\(finding.suffix(17).prefix(16))]"), "\(finding)")
        #expect(output.split(separator: "\n").filter { $0.contains("would be baked into") }.count >= 1)
        let fingerprint = String(finding.suffix(17).prefix(16))
        #expect(fingerprint.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }, "\(finding)")
        // Nothing pushed, nothing in kiln's store but its own bookkeeping.
        #expect(f.writes().isEmpty, "\(f.writes())")
        let stored = (FileManager.default.enumerator(atPath: f.dir("store"))?.compactMap { $0 as? String } ?? []).filter { $0.contains("blobs/sha256/") }
        #expect(stored.isEmpty, "a refused publish stored blobs: \(stored)")
        // No part of the secret anywhere: the outputs, the registry's access log, kiln's store and
        // cdk.out (less the asset directories, the CDK's own copies of the build context).
        var logs = ["output": output, "registry access log": f.ecr.requests().joined(separator: "\n")]
        for directory in [f.dir("cdk.out"), f.dir("store")] {
            for name in FileManager.default.enumerator(atPath: directory)?.compactMap({ $0 as? String }) ?? [] where !name.hasPrefix("asset.") {
                if let data = FileManager.default.contents(atPath: "\(directory)/\(name)") { logs["\(directory)/\(name)"] = String(decoding: data, as: UTF8.self) }
            }
        }
        #expect(logs.count > 3)
        for (name, text) in logs {
            #expect(!text.contains(password) && !text.contains("Qv7-planted"), "the secret is in \(name)")
        }

        let allowed = try f.publish(environment: ["KILN_ALLOW_SECRETS": fingerprint])
        #expect(allowed.status == 0, "\(allowed.stdout)\(allowed.stderr)")
        #expect(f.writes().contains { $0.hasPrefix("PUT") && $0.contains("/manifests/") }, "the allowed image was pushed: \(f.writes())")
        #expect(!(allowed.stdout + allowed.stderr).contains(password))
    }

    @Test func aDockerfileWithRunFailsThePublishNamingTheLine() throws {
        let f = try Fixture()
        try f.writeApp(dockerfile: "FROM kong:2.6.0-alpine\nRUN apk add --no-cache curl\nCOPY kong.conf /etc/kong/\n")
        let result = try f.publish()
        #expect(result.status != 0)
        #expect((result.stdout + result.stderr).contains("Dockerfile:2: RUN"), "\(result.stdout)\(result.stderr)")
        #expect(f.writes().isEmpty)
    }
}
