import Foundation
import Logging

/// Log lines for people: `kiln: note: …` on standard error, no timestamps or metadata.
struct StderrLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        guard event.level >= logLevel else { return }
        let prefix = event.level >= .warning ? "warning" : "note"
        FileHandle.standardError.write(Data("kiln: \(prefix): \(event.message)\n".utf8))
    }
}
