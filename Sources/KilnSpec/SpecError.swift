/// A problem in an image spec, located as `FILE:LINE` with the key path.
public struct SpecError: Error, Equatable, CustomStringConvertible {
    public var location: String
    public var message: String

    public init(location: String, message: String) {
        self.location = location
        self.message = message
    }

    public var description: String { "\(location): \(message)" }
}
