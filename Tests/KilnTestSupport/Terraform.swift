import Foundation

/// A Terraform configuration from `Tests/Fixtures/NAME/` in a directory of its own, run with
/// the aws provider mirrored in /opt/tf-plugins (no network) and pointed at moto by the shared
/// `Tests/Fixtures/terraform-moto.tf` (the provider, its `aws_endpoint` variable).
public struct Terraform {
    /// The configuration's directory (`DIR/tf`): files the test adds go here.
    public let directory: String
    private let environment: [String: String]

    /// Copies the fixture's `main.tf` and the moto provider into `dir("tf")` and writes the
    /// CLI configuration beside it.
    public init(fixture: String, in dir: TemporaryDirectory) throws {
        directory = dir("tf")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: "\(repositoryRoot)/Tests/Fixtures/\(fixture)/main.tf", toPath: "\(directory)/main.tf")
        try FileManager.default.copyItem(atPath: "\(repositoryRoot)/Tests/Fixtures/terraform-moto.tf", toPath: "\(directory)/moto.tf")
        try dir.write("terraformrc", """
            provider_installation {
              filesystem_mirror {
                path    = "/opt/tf-plugins"
                include = ["registry.terraform.io/hashicorp/*"]
              }
            }
            """)
        var environment = ProcessInfo.processInfo.environment
        environment.merge(["TF_CLI_CONFIG_FILE": dir("terraformrc"), "TF_IN_AUTOMATION": "1", "HOME": dir.path,
                           "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": ""]) { $1 }
        self.environment = environment
    }

    /// Runs `terraform -chdir=DIR ARGUMENTS`; a failure is a test failure.
    @discardableResult
    public func callAsFunction(_ arguments: [String]) throws -> ProcessResult {
        try runChecked("terraform", ["-chdir=\(directory)"] + arguments, environment: environment)
    }
}
