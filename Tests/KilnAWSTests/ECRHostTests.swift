import Foundation
import KilnAWS
import KilnTestSupport
import Testing

@Suite struct ECRHostTests {
    /// `registries.HOST.aws-profile` that kiln cannot follow: a host that is no ECR host (its
    /// profile was silently ignored) and two hosts of one ECR registry with different profiles
    /// (which one reached the registry depended on a dictionary's order, run to run). One line
    /// naming the file and the keys; the same profile under two spellings is fine.
    @Test func profileMappingsThatCannotBeFollowedAreRefused() throws {
        #expect(throws: Never.self) {
            _ = try ECRCredentials(environment: [:], profiles: ["111111111111.dkr.ecr.eu-west-1.amazonaws.com": "acceptance",
                                                                 "111111111111.dkr-ecr.eu-west-1.on.aws": "acceptance",
                                                                 "222222222222.dkr.ecr.eu-west-1.amazonaws.com": "production"])
        }
        let dir = try TemporaryDirectory()
        for (config, message) in [
            ("registries:\n  ghcr.io: {aws-profile: acceptance}\n",
             "registries.ghcr.io.aws-profile: ghcr.io is not an ECR registry host (ACCOUNT.dkr.ecr.REGION.amazonaws.com, or its FIPS, dual-stack or China form); an AWS profile reaches nothing else"),
            ("registries:\n  111111111111.dkr.ecr.eu-west-1.amazonaws.com: {aws-profile: acceptance}\n  111111111111.dkr.ecr-fips.eu-west-1.amazonaws.com: {aws-profile: production}\n",
             "registries.111111111111.dkr.ecr-fips.eu-west-1.amazonaws.com.aws-profile 'production' and registries.111111111111.dkr.ecr.eu-west-1.amazonaws.com.aws-profile 'acceptance' name two profiles for one ECR registry (account 111111111111 in eu-west-1); give its hosts one profile"),
        ] {
            try dir.write("kiln.yaml", config)
            // The same answer every run (it used to depend on the order of a dictionary).
            for _ in 0..<3 {
                let result = try kiln(["digest", "111111111111.dkr.ecr.eu-west-1.amazonaws.com/app:v1"], extraEnvironment: ["KILN_CONFIG": dir("kiln.yaml"), "AWS_EC2_METADATA_DISABLED": "true"])
                #expect(result.status == 1 && result.stdout.isEmpty && result.stderr == "kiln: error: \(dir("kiln.yaml")): \(message)\n", "\(result.stderr)")
            }
        }
    }

    @Test(arguments: [
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com", "eu-west-1", false, false, "https://api.ecr.eu-west-1.amazonaws.com"),
        ("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com", "us-gov-west-1", true, false, "https://ecr-fips.us-gov-west-1.amazonaws.com"),
        ("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", "cn-north-1", false, true, "https://api.ecr.cn-north-1.amazonaws.com.cn"),
        ("123456789012.dkr-ecr.eu-central-1.on.aws", "eu-central-1", false, false, "https://api.ecr.eu-central-1.amazonaws.com"),
        ("123456789012.dkr-ecr-fips.us-east-1.on.aws", "us-east-1", true, false, "https://ecr-fips.us-east-1.amazonaws.com"),
        ("123456789012.DKR.ECR.eu-west-1.amazonaws.com:443", "eu-west-1", false, false, "https://api.ecr.eu-west-1.amazonaws.com"),
    ])
    func recognizesEveryForm(_ host: String, region: String, fips: Bool, china: Bool, endpoint: String) throws {
        let ecr = try #require(ECRHost(host))
        #expect(ecr.account == "123456789012" && ecr.region == region && ecr.fips == fips && ecr.china == china)
        #expect(ecr.apiEndpoint == endpoint)
    }

    @Test(arguments: ["ghcr.io", "12345.dkr.ecr.eu-west-1.amazonaws.com", "123456789012.dkr.ecr.amazonaws.com",
                      "public.ecr.aws", "123456789012.dkr.ecr.eu-west-1.example.com", "localhost:5000"])
    func ignoresOtherHosts(_ host: String) {
        #expect(ECRHost(host) == nil)
    }
}

@Suite struct CredentialChainTests {
    @Test func environmentComesFirst() async throws {
        let dir = try TemporaryDirectory()
        try dir.write("credentials", "[default]\naws_access_key_id = FROMFILE\naws_secret_access_key = s\n")
        let credentials = try await AWSCredentialChain(environment: [
            "AWS_ACCESS_KEY_ID": "FROMENV", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "token",
            "AWS_SHARED_CREDENTIALS_FILE": dir("credentials"),
        ]).resolve()
        #expect(credentials == AWSCredentials(accessKeyID: "FROMENV", secretAccessKey: "secret", sessionToken: "token"))
    }

    @Test func profilesFromBothFilesAndCredentialProcess() async throws {
        let dir = try TemporaryDirectory()
        try dir.write("credentials", "[default]\naws_access_key_id = DEFAULTKEY\naws_secret_access_key = d\n\n[ci]\naws_access_key_id = CIKEY\naws_secret_access_key = c\naws_session_token = t\n")
        try dir.write("config", """
            [default]
            region = eu-west-1
            [profile ci]
            region = eu-central-1
            [profile proc]
            credential_process = printf '{"Version": 1, "AccessKeyId": "PROCKEY", "SecretAccessKey": "p", "SessionToken": "pt"}'
            [profile broken]
            credential_process = sh -c 'exit 3'
            [sso-session corp]
            sso_region = eu-west-1
            """)
        let files = ["AWS_SHARED_CREDENTIALS_FILE": dir("credentials"), "AWS_CONFIG_FILE": dir("config"), "HOME": dir.path]
        #expect(try await AWSCredentialChain(environment: files).resolve().accessKeyID == "DEFAULTKEY")
        #expect(AWSCredentialChain(environment: files).region == "eu-west-1")
        let ci = AWSCredentialChain(environment: files.merging(["AWS_PROFILE": "ci"]) { $1 })
        #expect(try await ci.resolve() == AWSCredentials(accessKeyID: "CIKEY", secretAccessKey: "c", sessionToken: "t"))
        #expect(ci.region == "eu-central-1")
        #expect(AWSCredentialChain(environment: files.merging(["AWS_PROFILE": "ci", "AWS_REGION": "us-east-1"]) { $1 }).region == "us-east-1")
        let process = AWSCredentialChain(environment: files.merging(["AWS_PROFILE": "proc"]) { $1 })
        #expect(try await process.resolve() == AWSCredentials(accessKeyID: "PROCKEY", secretAccessKey: "p", sessionToken: "pt"))
        await #expect(throws: AWSError.credentialProcess(profile: "broken", reason: "it exited with status 3")) {
            try await AWSCredentialChain(environment: files.merging(["AWS_PROFILE": "broken"]) { $1 }).resolve()
        }
    }

    @Test func noCredentialsSaysWhereItLooked() async throws {
        let dir = try TemporaryDirectory()
        do {
            _ = try await AWSCredentialChain(environment: ["HOME": dir.path, "AWS_EC2_METADATA_DISABLED": "true"]).resolve()
            Issue.record("expected no credentials")
        } catch let error as AWSError {
            #expect("\(error)" == "no AWS credentials found (looked in: environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY); web identity (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN); profile 'default' in \(dir.path)/.aws/credentials and \(dir.path)/.aws/config; ECS container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, AWS_CONTAINER_CREDENTIALS_FULL_URI); EC2 instance metadata (disabled by AWS_EC2_METADATA_DISABLED))")
        }
    }
}
