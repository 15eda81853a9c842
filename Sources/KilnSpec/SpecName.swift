/// A spec's name: its file name without `.yaml`, which starts the lines `plan`, `lock` and
/// `build` print and keys `kiln.lock`. Both come from pull requests, so a name holds no blanks,
/// control, format or unassigned characters (a newline would forge an output line, a blank
/// shift its fields) and, like a file name, at most 255 bytes.
package enum SpecName {
    package static func isAcceptable(_ name: String) -> Bool {
        let invisible: Set<Unicode.GeneralCategory> = [.control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator, .spaceSeparator]
        return !name.isEmpty && name.utf8.count <= 255 && !name.unicodeScalars.contains { invisible.contains($0.properties.generalCategory) }
    }
}
