import Foundation
import KilnTestSupport
import Testing

/// Many kiln processes creating the same new layout at once all succeed: the layout is created
/// idempotently and the "is this a layout" look is taken under the layout lock (without it,
/// one run saw the other's `index.json` before its `oci-layout` and refused the directory as
/// "not a usable OCI image layout"). `kiln docker`'s store is such a layout too.
@Suite struct ConcurrentLayoutTests {
    @Test func concurrentProcessesCreatingOneFreshLayoutAllSucceed() throws {
        let dir = try TemporaryDirectory()
        try PeerImages.makeOCIBase(at: dir("base"), tag: "1.0", work: dir)
        let processes = 12
        // Each round a fresh layout, written by every process under its own tag.
        let script = #"""
            kiln=$1 base=$2 out=$3 logs=$4 n=$5
            pids=
            i=0
            while [ "$i" -lt "$n" ]; do
                "$kiln" copy --quiet "$base" "oci:$out:t$i" >"$logs/$i.out" 2>"$logs/$i.err" &
                pids="$pids $!"
                i=$((i + 1))
            done
            failed=0
            for pid in $pids; do wait "$pid" || failed=$((failed + 1)); done
            echo "$failed"
            """#
        for round in 0..<12 {
            let out = dir("round-\(round)/layout")
            let logs = dir("logs-\(round)")
            try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
            let result = try run("/bin/sh", ["-c", script, "sh", kilnExecutable, "oci:\(dir("base")):1.0", out, logs, "\(processes)"])
            var errors: [String] = []
            for index in 0..<processes {
                let text = (try? String(contentsOfFile: "\(logs)/\(index).err", encoding: .utf8)) ?? ""
                if !text.isEmpty { errors.append(text) }
            }
            #expect(result.output == "0", "round \(round): \(result.output) of \(processes) failed: \(errors)")
            let tags = try (LayoutReader(out).index()["manifests"] as? [[String: Any]] ?? [])
                .compactMap { ($0["annotations"] as? [String: String])?["org.opencontainers.image.ref.name"] }
            #expect(Set(tags) == Set((0..<processes).map { "t\($0)" }), "round \(round): \(tags.sorted())")
            if result.output != "0" { break }
        }
    }
}
