import Foundation
import KilnLayer
import KilnTestSupport
import Testing

/// Base layers as writers in the wild make them (no padding or end-of-archive, GNU tar's records,
/// `./` and `/` names, long names, PAX, hard links, base-256 numbers, v7 headers, duplicate
/// names, umoci's `insert`, gzip, zstd and plain; `Tests/Fixtures/odd_layers.py`), each applied
/// by the Go appliers as referees: containers/storage (`skopeo copy` into `containers-storage:`
/// with a vfs storage of the test's own) and `umoci unpack`. kiln must read every layer a referee
/// applies and see the same skeleton (directories with mode and owner, symlinks, users) as what
/// the referee extracted; a layer no referee applies (cut inside a header or file data) must be
/// refused.
@Suite struct OddLayerRefereeTests {
    private struct Case: Decodable {
        var tag: String
        var blobs: [String]
        var referees: [String]
    }

    @Test func kilnReadsEveryLayerTheGoAppliersApplyAndPlacesFilesAsThey() throws {
        let dir = try TemporaryDirectory()
        _ = try runChecked("python3", [Self.fixture, "write", dir.path])
        let cases = try JSONDecoder().decode([Case].self, from: Data(contentsOf: URL(fileURLWithPath: dir("cases.json"))))
        #expect(cases.count == 19)
        let storage = try Storage(in: dir)
        for item in cases {
            let kiln = Result { try item.blobs.reduce(BaseTree()) { try $0.applying(read(file: $1)) } }
            var accepted: [String] = []
            if let extracted = try storage.extract(dir("oci"), tag: item.tag) {
                accepted.append("storage")
                #expect(try skeleton(kiln) == extracted, "\(item.tag): kiln and containers/storage")
            }
            let bundle = dir("umoci-\(item.tag)")
            if try run("umoci", ["unpack", "--image", "\(dir("oci")):\(item.tag)", bundle]).status == 0 {
                accepted.append("umoci")
                #expect(try skeleton(kiln) == dump("\(bundle)/rootfs"), "\(item.tag): kiln and umoci")
            }
            #expect(accepted == item.referees, "\(item.tag): the referees accepted \(accepted)")
            if accepted.isEmpty {
                #expect(throws: LayerError.self, "\(item.tag): kiln read a layer no applier takes") { try kiln.get() }
            }
        }
    }

    /// A tar cut exactly where the last entry's data ends, or anywhere in its padding, reads as
    /// one without the cut; one cut inside that data or a header is an error, whatever the chunks.
    @Test func theStreamMayEndAfterTheLastEntrysDataAndNowhereElse() throws {
        let dir = try TemporaryDirectory()
        _ = try runChecked("python3", ["-c", """
            import io, tarfile
            out = io.BytesIO()
            with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as t:
                for name, data in [("etc/passwd", b"root:x:0:0::/:/bin/sh\\n"), ("srv/f", b"y" * 1000)]:
                    i = tarfile.TarInfo(name); i.size = len(data); t.addfile(i, io.BytesIO(data))
            open("\(dir("whole.tar"))", "wb").write(out.getvalue())
            """])
        let whole = Array(try Data(contentsOf: URL(fileURLWithPath: dir("whole.tar"))))
        // /etc/passwd: header at 0, data 512 to 534; srv/f: header at 1024, data 1536 to 2536,
        // padded to 2560; then the end-of-archive blocks.
        let expected = try read(whole)
        #expect(expected.changes.map { "\($0.path)" } == ["/etc/passwd", "/srv/f"])
        for end in [2536, 2537, 2559, 2560, 3072] {
            for chunk in [1, 7, 512, 4096] {
                #expect(try read(Array(whole.prefix(end)), chunk: chunk) == expected, "cut at \(end), chunks of \(chunk)")
            }
        }
        // Cut in /etc/passwd's padding: a tar of that entry alone.
        for end in [534, 600, 1023, 1024] {
            #expect(try read(Array(whole.prefix(end)), chunk: 100).changes.map { "\($0.path)" } == ["/etc/passwd"], "cut at \(end)")
        }
        for end in [1, 100, 533, 1100, 1535, 1536, 2000, 2535] {
            #expect(throws: LayerError.self, "cut at \(end)") { try read(Array(whole.prefix(end)), chunk: 333) }
        }
        #expect(try read([]) == LayerChanges())
    }

    private static let fixture = "\(repositoryRoot)/Tests/Fixtures/odd_layers.py"

    /// containers/storage with a vfs storage of the test's own.
    private struct Storage {
        let environment: [String: String]
        let graph: String

        init(in dir: TemporaryDirectory) throws {
            graph = dir("storage/graph")
            try dir.write("storage.conf", """
                [storage]
                driver = "vfs"
                graphroot = "\(graph)"
                runroot = "\(dir("storage/run"))"

                """)
            var environment = ProcessInfo.processInfo.environment
            environment["CONTAINERS_STORAGE_CONF"] = dir("storage.conf")
            self.environment = environment
        }

        /// The skeleton of the image as containers/storage extracted it, or `nil` when it refused it.
        func extract(_ layout: String, tag: String) throws -> String? {
            let copied = try run("skopeo", ["--insecure-policy", "copy", "--quiet", "oci:\(layout):\(tag)", "containers-storage:localhost/\(tag)"],
                                 environment: environment)
            guard copied.status == 0 else { return nil }
            let images = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(graph)/vfs-images/images.json"))) as? [[String: Any]] ?? []
            guard let image = images.first(where: { ($0["names"] as? [String])?.contains("localhost/\(tag):latest") == true }),
                  let layer = image["layer"] as? String else { throw TestFailure("\(tag): no image in containers/storage") }
            return try dump("\(graph)/vfs/dir/\(layer)")
        }
    }

    private func read(file: String) throws -> LayerChanges {
        try read(Array(Data(contentsOf: URL(fileURLWithPath: file))))
    }

    /// Feeds the blob in pieces, as a registry's body arrives.
    private func read(_ blob: [UInt8], chunk: Int = 1000) throws -> LayerChanges {
        var offset = 0
        return try LayerHeaderReader.read(what: "layer L") {
            guard offset < blob.count else { return nil }
            defer { offset += chunk }
            return Array(blob[offset..<min(blob.count, offset + chunk)])
        }
    }

    /// kiln's skeleton in the fixture's `dump` format.
    private func skeleton(_ tree: Result<BaseTree, Error>) throws -> String {
        let tree = try tree.get()
        var lines = tree.entries.map { entry -> String in
            switch entry.node {
            case .directory(let mode, let owner): "\(entry.path) dir \(String(mode, radix: 8)) \(owner.uid):\(owner.gid)"
            case .symlink(let target): "\(entry.path) link \(target)"
            }
        }
        lines += tree.users.map { "user \($0.key) \($0.value.uid):\($0.value.gid)" }
        return lines.sorted().joined(separator: "\n")
    }

    private static func dump(_ root: String) throws -> String {
        try runChecked("python3", [fixture, "dump", root]).stdout.split(separator: "\n").map(String.init).sorted().joined(separator: "\n")
    }

    private func dump(_ root: String) throws -> String { try Self.dump(root) }
}
