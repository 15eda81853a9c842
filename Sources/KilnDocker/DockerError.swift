/// Errors of `kiln docker` that the Docker CLI has too; their text is Docker's where a caller
/// (the AWS CDK) may read it.
package enum DockerError: Error, CustomStringConvertible, Equatable {
    /// What `docker inspect` says of a name it does not know (exit status 1).
    case noSuchImage(String)
    /// What `docker push` says of a name it does not know.
    case notLocal(String)
    /// A flag Docker has and kiln cannot honour.
    case unsupportedFlag(String, reason: String)
    /// The image has no base whose registry holds its layers.
    case baseUnknown(String)
    /// A command-line value kiln refuses (the message says which and why).
    case invalidArgument(String)

    package var description: String {
        switch self {
        case .noSuchImage(let name): "No such object: \(name)"
        case .notLocal(let name): "An image does not exist locally with the tag: \(name)"
        case .unsupportedFlag(let flag, let reason): "\(flag) is not supported by kiln docker: \(reason)"
        case .baseUnknown(let name): "image '\(name)' has no record of the registry holding its base's layers (build it again with kiln docker build)"
        case .invalidArgument(let message): message
        }
    }
}
