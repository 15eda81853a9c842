import Foundation
import KilnTestSupport
import Testing

/// Pushing to an ECR host with nothing but AWS credentials: moto is the ECR API, a TLS registry
/// with htpasswd user `AWS` and moto's token password stands in for the registry, reached
/// through the endpoint override while the auth flow stays ECR's.
@Suite struct ECRTests {
    static let ecrHost = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"

    final class Fixture {
        let moto: MotoServer
        let registry: RegistryServer
        let dir: TemporaryDirectory

        init() throws {
            moto = try MotoServer()
            // moto's GetAuthorizationToken answers base64("AWS:<account>-auth-token").
            registry = try RegistryServer(tls: true, user: ("AWS", "123456789012-auth-token"))
            dir = try TemporaryDirectory()
            try PeerImages.makeOCIBase(at: dir("base"), work: dir)
            try dir.write("overlay/kong.conf", "database = off\n")
            try dir.write("docker/config.json", #"{"auths":{}}"#)
        }

        /// An environment with no AWS settings of the machine's, pointing ECR at moto.
        func environment(_ extra: [String: String]) -> [String: String] {
            ["DOCKER_CONFIG": dir("docker"), "REGISTRY_AUTH_FILE": "", "HOME": dir.path,
             "AWS_ENDPOINT_URL_ECR": moto.url, "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "",
             "AWS_PROFILE": "", "AWS_CONFIG_FILE": "", "AWS_SHARED_CREDENTIALS_FILE": "", "AWS_REGION": "",
             "AWS_DEFAULT_REGION": "", "AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_ROLE_ARN": "", "AWS_EC2_METADATA_DISABLED": "true"]
                .merging(extra) { $1 }
        }

        func bake(tag: String, _ extra: [String: String]) throws -> ProcessResult {
            try kiln(["bake", "--base", "oci:\(dir("base")):base", "--overlay", "\(dir("overlay")):/etc/kong",
                      "--registry-endpoint", "\(ECRTests.ecrHost)=https://\(registry.host)", "--ca-file", registry.caFile!,
                      "--output", "\(ECRTests.ecrHost)/um/gateway:\(tag)"], extraEnvironment: environment(extra))
        }
    }

    @Test func pushesWithCredentialsFromEnvironmentProfileAndCredentialProcess() throws {
        let f = try Fixture()
        let fromEnv = try f.bake(tag: "env", ["AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret"])
        #expect(fromEnv.status == 0, "\(fromEnv.stderr)")
        #expect(fromEnv.output.hasPrefix("\(Self.ecrHost)/um/gateway@sha256:"))

        try f.dir.write("aws/credentials", "[ci]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = secret\n")
        let fromProfile = try f.bake(tag: "profile", ["AWS_SHARED_CREDENTIALS_FILE": f.dir("aws/credentials"), "AWS_PROFILE": "ci"])
        #expect(fromProfile.status == 0, "\(fromProfile.stderr)")

        try f.dir.write("aws/config", "[profile proc]\ncredential_process = printf '{\"Version\":1,\"AccessKeyId\":\"AKIDPROC\",\"SecretAccessKey\":\"s\"}'\n")
        let fromProcess = try f.bake(tag: "process", ["AWS_CONFIG_FILE": f.dir("aws/config"), "AWS_PROFILE": "proc"])
        #expect(fromProcess.status == 0, "\(fromProcess.stderr)")

        // The registry saw the pushes under the ECR name's repository.
        #expect(f.registry.requests().contains("PUT /v2/um/gateway/manifests/process"))
        let inspect = try runChecked("skopeo", ["inspect", "--format", "{{.Digest}}"] + f.registry.skopeoFlags(dest: nil) + ["docker://\(f.registry.host)/um/gateway:env"]).output
        #expect(fromEnv.output.hasSuffix(inspect))
    }

    @Test func noCredentialsFailsClearlyAndPushesNothing() throws {
        let f = try Fixture()
        let result = try f.bake(tag: "none", [:])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("kiln: error: no AWS credentials found (looked in: environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY); profile 'default' in"))
        #expect(!f.registry.requests().contains { $0.hasPrefix("PUT") || $0.hasPrefix("POST") })
    }
}
