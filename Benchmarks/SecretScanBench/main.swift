import KilnPlatform
import KilnSecrets

// The secret scanner alone, on one core: CPU time and MB/s over files held in memory, each fed
// in 64 KiB chunks as the bake's hashing pass feeds it (LayerBuilder.readFile).
//   kiln-secret-scan-bench ROUNDS FILE...   (Benchmarks/secret-scan-alone.sh makes the files and runs it)
// Prints MB/s per file extension and for all files, and the findings per round (the same in
// every build: a change that alters them is a bug, not a speed-up).

let arguments = CommandLine.arguments
guard arguments.count >= 3, let rounds = Int(arguments[1]), rounds > 0 else {
    print("usage: kiln-secret-scan-bench ROUNDS FILE...")
    exit(2)
}

func readAll(_ path: String) -> [UInt8] {
    guard let file = fopen(path, "rb") else {
        print("cannot open \(path)")
        exit(2)
    }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
        let read = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, 65_536, file) }
        if read == 0 { break }
        bytes.append(contentsOf: buffer[0..<read])
    }
    return bytes
}

let files: [(name: String, ext: String, bytes: [UInt8])] = arguments.dropFirst(2).map { path in
    let name = String(path.split(separator: "/").last ?? "")
    let ext = name.split(separator: ".").count > 1 ? String(name.split(separator: ".").last!) : ""
    return (name, ext, readAll(path))
}

func cpuSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

var seconds: [String: Double] = [:]
var bytesByExt: [String: Int] = [:]
var findings = 0
for round in 0..<rounds {
    for file in files {
        let start = cpuSeconds()
        let scanner = SecretScanner(fileName: file.name)
        file.bytes.withUnsafeBytes { all in
            var offset = 0
            while offset < all.count {
                let end = min(all.count, offset + 65_536)
                scanner.update(UnsafeRawBufferPointer(rebasing: all[offset..<end]))
                offset = end
            }
        }
        let found = scanner.finish()
        seconds[file.ext, default: 0] += cpuSeconds() - start
        bytesByExt[file.ext, default: 0] += file.bytes.count
        if round == 0 { findings += found.count }
    }
}
var total = 0.0
var totalBytes = 0
for ext in seconds.keys.sorted() {
    let mbs = Double(bytesByExt[ext]!) / 1e6 / seconds[ext]!
    print("\(ext): \(Int(mbs)) MB/s")
    total += seconds[ext]!
    totalBytes += bytesByExt[ext]!
}
print("all: \(Int(Double(totalBytes) / 1e6 / total)) MB/s (\(totalBytes / rounds) bytes x \(rounds) rounds, \(Double(Int(total * 1000)) / 1000) s CPU), findings per round: \(findings)")
