/// A problem in an image spec, located as `FILE:LINE` with the key path.
package struct SpecError: Error, Equatable, CustomStringConvertible {
    package var location: String
    package var message: String

    package init(location: String, message: String) {
        self.location = location
        self.message = message
    }

    package var description: String { "\(location): \(message)" }
}
