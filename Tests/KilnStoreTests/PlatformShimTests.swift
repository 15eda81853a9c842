import Foundation
import KilnTestSupport
import Testing

/// macOS cannot be built on these machines, so this stands guard for it: Glibc and Darwin are
/// named only in the platform shim (Sources/KilnPlatform), where both branches are written.
@Suite struct PlatformShimTests {
    @Test func onlyThePlatformShimNamesGlibcOrDarwin() throws {
        var offenders: [String] = []
        for directory in ["Sources", "Fuzz"] {
            let root = "\(repositoryRoot)/\(directory)"
            guard let files = FileManager.default.enumerator(atPath: root) else { continue }
            for case let file as String in files where file.hasSuffix(".swift") && !file.hasPrefix("KilnPlatform/") {
                let text = try String(contentsOfFile: "\(root)/\(file)", encoding: .utf8)
                for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
                where line.range(of: #"\b(Glibc|Darwin)\b"#, options: .regularExpression) != nil {
                    offenders.append("\(directory)/\(file):\(number + 1): \(line.trimmingCharacters(in: .whitespaces))")
                }
            }
        }
        #expect(offenders.isEmpty, "name Glibc or Darwin only in Sources/KilnPlatform:\n\(offenders.joined(separator: "\n"))")
    }
}
