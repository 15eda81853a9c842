import Foundation
import KilnTestSupport
import Testing

/// The seeds' Terraform flow end to end: Terraform (the aws provider mirrored in /opt/tf-plugins,
/// pointed at moto) creates the ECR repository; kiln bakes and pushes to it; Terraform creates the
/// ECS task definition pinned to the digest reference kiln printed.
@Suite struct TerraformTests {
    @Test func terraformCreatesTheRepositoryAndPinsTheTaskDefinitionToKilnsDigest() throws {
        let moto = try MotoServer()
        let registry = try RegistryServer(tls: true, user: ("AWS", "123456789012-auth-token"))
        let dir = try TemporaryDirectory()
        let terraform = try Terraform(fixture: "terraform", in: dir)
        try terraform(["init", "-no-color", "-input=false"])
        try terraform(["apply", "-no-color", "-input=false", "-auto-approve", "-var", "aws_endpoint=\(moto.url)"])

        try PeerImages.makeOCIBase(at: dir("base"), work: dir)
        try dir.write("overlay/kong.conf", "database = off\n")
        try dir.write("docker/config.json", #"{"auths":{}}"#)
        let ecr = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
        let bake = try kiln(["bake", "--base", "oci:\(dir("base")):base", "--overlay", "\(dir("overlay")):/etc/kong",
                             "--registry-endpoint", "\(ecr)=https://\(registry.host)", "--ca-file", registry.caFile!,
                             "--output", "\(ecr)/um/gateway:v1", "--quiet"],
                            extraEnvironment: ["DOCKER_CONFIG": dir("docker"), "HOME": dir.path, "AWS_ENDPOINT_URL_ECR": moto.url,
                                               "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": ""])
        #expect(bake.status == 0, "\(bake.stderr)")
        let image = bake.output
        #expect(image.hasPrefix("\(ecr)/um/gateway@sha256:"))

        try terraform(["apply", "-no-color", "-input=false", "-auto-approve", "-var", "aws_endpoint=\(moto.url)", "-var", "image=\(image)"])
        let described = try runChecked("python3", ["-c", """
            import boto3
            kw = dict(region_name="eu-west-1", endpoint_url="\(moto.url)", aws_access_key_id="x", aws_secret_access_key="y")
            task = boto3.client("ecs", **kw).describe_task_definition(taskDefinition="um-gateway")["taskDefinition"]
            repo = boto3.client("ecr", **kw).describe_repositories(repositoryNames=["um/gateway"])["repositories"][0]
            print(task["containerDefinitions"][0]["image"], repo["imageTagMutability"])
            """]).output
        #expect(described == "\(image) IMMUTABLE")
    }
}
