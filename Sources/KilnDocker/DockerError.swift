/// Errors of `kiln docker` that the Docker CLI has too; their text is Docker's where a caller
/// (the AWS CDK) may read it.
package enum DockerError: Error, CustomStringConvertible, Equatable {
    /// What `docker inspect` says of a name it does not know (exit status 1).
    case noSuchImage(String)
    /// A flag Docker has and kiln cannot honour.
    case unsupportedFlag(String, reason: String)
    /// The image has no base whose registry holds its layers.
    case baseUnknown(String)
    /// The base has ONBUILD triggers, build steps for images built FROM it.
    case onBuildTriggers(base: String, location: String, count: Int)

    package var description: String {
        switch self {
        case .noSuchImage(let name): "No such object: \(name)"
        case .unsupportedFlag(let flag, let reason): "\(flag) is not supported by kiln docker: \(reason)"
        case .baseUnknown(let name): "image '\(name)' has no record of the registry holding its base's layers (build it again with kiln docker build)"
        case .onBuildTriggers(let base, let location, let count): "\(location): FROM \(base): the base has \(count) ONBUILD trigger(s), build steps kiln cannot run; build from an image without them"
        }
    }
}
