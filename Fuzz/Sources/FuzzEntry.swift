import Foundation

/// The target named by `$KILN_FUZZ_TARGET` (one binary serves every target).
let selectedTarget: @Sendable ([UInt8]) -> Void = {
    let name = ProcessInfo.processInfo.environment["KILN_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTargets.all[name] else {
        FileHandle.standardError.write(Data("set KILN_FUZZ_TARGET to one of: \(FuzzTargets.all.keys.sorted().joined(separator: ", "))\n".utf8))
        exit(2)
    }
    return target
}()

#if FUZZING
import CFuzzDriver

/// Built by scripts/fuzz.sh (coverage instrumentation, ASan, libFuzzer's no-main library):
/// libFuzzer drives the selected target with its usual flags (-max_total_time=N CORPUS...).
@main
struct Fuzz {
    static func main() {
        _ = selectedTarget
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            selectedTarget(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
            return 0
        })
    }
}
#else
/// Without libFuzzer: runs the selected target on every file of the given directories (the
/// seed corpus, or crash reproducers), so a regression is checked in an ordinary build.
@main
struct ReplayCorpus {
    static func main() throws {
        var count = 0
        for directory in CommandLine.arguments.dropFirst() {
            for name in try FileManager.default.contentsOfDirectory(atPath: directory).sorted() {
                selectedTarget(Array(try Data(contentsOf: URL(fileURLWithPath: "\(directory)/\(name)"))))
                count += 1
            }
        }
        print("replayed \(count) inputs")
    }
}
#endif
