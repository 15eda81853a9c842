import Foundation
import KilnAWS
import KilnTestSupport
import Testing

/// kiln's signer against botocore's `SigV4Auth`, run by the test, on requests shaped like the
/// ECR and STS calls kiln makes.
@Suite struct BotocoreRefereeTests {
    struct Case {
        var method: String
        var host: String
        var path: String
        var query: String
        var headers: [(String, String)]
        var body: String
        var token: String?
    }

    static let cases: [Case] = [
        Case(method: "POST", host: "api.ecr.eu-west-1.amazonaws.com", path: "/", query: "",
             headers: [("Content-Type", "application/x-amz-json-1.1"), ("X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken")],
             body: "{}", token: nil),
        Case(method: "POST", host: "api.ecr.eu-west-1.amazonaws.com", path: "/", query: "",
             headers: [("Content-Type", "application/x-amz-json-1.1"), ("X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921.CreateRepository")],
             body: #"{"repositoryName":"um/gateway","imageTagMutability":"IMMUTABLE"}"#,
             token: "FwoGZXIvYXdzEBYaDOEXAMPLE//////////session+token/with=chars"),
        Case(method: "POST", host: "api.ecr.cn-north-1.amazonaws.com.cn", path: "/", query: "",
             headers: [("Content-Type", "application/x-amz-json-1.1"), ("X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories")],
             body: #"{"repositoryNames":["um/gateway"]}"#, token: "short-token"),
        Case(method: "GET", host: "sts.amazonaws.com", path: "/", query: "Action=GetCallerIdentity&Version=2011-06-15",
             headers: [], body: "", token: nil),
    ]

    @Test func sameAuthorizationAsBotocore() throws {
        let time: Int64 = 1_763_860_000
        let requests: [[String: Any]] = Self.cases.map { c in
            var object: [String: Any] = [
                "method": c.method, "url": "https://\(c.host)\(c.path)\(c.query.isEmpty ? "" : "?" + c.query)",
                "headers": Dictionary(uniqueKeysWithValues: c.headers), "body": c.body,
                "accessKey": "AKIAIOSFODNN7EXAMPLE", "secretKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            ]
            if let token = c.token { object["token"] = token }
            return object
        }
        let input = try JSONSerialization.data(withJSONObject: ["region": "eu-west-1", "service": "ecr", "time": time, "requests": requests])
        let dir = try TemporaryDirectory()
        try Data(input).write(to: URL(fileURLWithPath: dir("requests.json")))
        let output = try runChecked("sh", ["-c", "python3 '\(repositoryRoot)/Tests/Fixtures/botocore_sign.py' < '\(dir("requests.json"))'"]).stdout
        let expected = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]] ?? []
        #expect(expected.count == Self.cases.count)

        for (c, referee) in zip(Self.cases, expected) {
            // The region of the China endpoint case is the same for both signers: they sign what
            // they are told; deriving the region from the host is the ECR client's job.
            let signer = SigV4Signer(region: "eu-west-1", service: "ecr")
            let credentials = AWSCredentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", sessionToken: c.token)
            let request = SigV4Request(method: c.method, path: c.path, query: c.query,
                                       headers: [("Host", c.host)] + c.headers.map { (name: $0.0, value: $0.1) }, body: Array(c.body.utf8))
            let (headers, signature) = signer.sign(request, credentials: credentials, date: time)
            #expect(signature.authorization == referee["authorization"] as? String, "\(c.host) \(c.headers.last?.1 ?? c.query)")
            #expect(headers.first { $0.name == "X-Amz-Date" }?.value == referee["amzDate"] as? String)
            #expect(headers.first { $0.name == "X-Amz-Security-Token" }?.value == referee["token"] as? String)
        }
    }
}
