import ArgumentParser
import Foundation
import KilnBake
import KilnStore

struct DigestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "digest",
        abstract: "Print the digest of the manifest or index a reference points at (no layer is downloaded)."
    )

    @Argument(help: ArgumentHelp("The image.", valueName: "REF"))
    var reference: String

    @OptionGroup var transport: TransportFlags

    func run() async throws {
        try await reportingErrors {
            let reference = try ImageReference(parsing: reference)
            let descriptor = try await withRunSession(transport.options(outputRegistry: nil)) { store in
                try await store.head(reference)
            }
            print(descriptor.digest)
        }
    }
}
