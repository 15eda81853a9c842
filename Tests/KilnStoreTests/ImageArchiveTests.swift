import Foundation
import KilnStore
import KilnTestSupport
import OCI
import Testing

/// The archive destination on its own: what it holds before `tag` (nothing with a name), what an
/// abort leaves (nothing), and the docker-archive's refusal of an index.
@Suite struct ImageArchiveTests {
    /// A one-layer image: layer, config and manifest bytes with their descriptors.
    struct Image {
        let layer: [UInt8] = Array("not really a tar, but bytes with a digest".utf8)
        var layerDescriptor: Descriptor { .of(layer, mediaType: MediaType.ociLayerGzip) }
        var config: [UInt8] {
            Array(#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["\#(Digest.of(Array("diff".utf8)))"]}}"#.utf8)
        }
        var configDescriptor: Descriptor { .of(config, mediaType: MediaType.ociConfig) }
        var manifest: [UInt8] {
            Array(#"{"schemaVersion":2,"mediaType":"\#(MediaType.ociManifest)","config":{"mediaType":"\#(MediaType.ociConfig)","digest":"\#(configDescriptor.digest)","size":\#(config.count)},"layers":[{"mediaType":"\#(MediaType.ociLayerGzip)","digest":"\#(layerDescriptor.digest)","size":\#(layer.count)}]}"#.utf8)
        }
        var manifestDescriptor: Descriptor { .of(manifest, mediaType: MediaType.ociManifest) }

        func collect(into archive: ImageArchive) async throws {
            let writer = try archive.makeBlobWriter()
            try layer.withUnsafeBytes { try writer.write($0) }
            try await writer.commit(as: layerDescriptor)
            try await archive.put(config, as: configDescriptor)
        }
    }

    /// `kiln docker load` spools an archive's files unpacked: a gzip of zeros (about 1000 to 1)
    /// filled the store's file system. The reader stops at its cap with one line naming the
    /// archive, before writing past it (the cap here is 1 MiB; the command's is
    /// ``ImageArchiveReader/maxUnpackedBytes``).
    @Test func anArchiveUnpackingPastTheCapIsRefused() throws {
        let dir = try TemporaryDirectory()
        try runChecked("python3", ["-c", """
            import gzip, io, tarfile
            data = bytes(3 << 20)
            with gzip.open("\(dir("bomb.tar.gz"))", "wb") as out, tarfile.open(fileobj=out, mode="w") as tar:
                info = tarfile.TarInfo("blobs/sha256/zeros")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            """])
        let compressed = try #require(try FileManager.default.attributesOfItem(atPath: dir("bomb.tar.gz"))[.size] as? Int)
        #expect(compressed < 64 << 10)
        let handle = try #require(FileHandle(forReadingAtPath: dir("bomb.tar.gz")))
        defer { try? handle.close() }
        #expect(throws: StoreError.self) {
            do {
                _ = try ImageArchiveReader.read(fd: handle.fileDescriptor, what: "archive bomb.tar.gz", spoolDirectory: dir.path, maxBytes: 1 << 20)
            } catch {
                #expect("\(error)" == "archive bomb.tar.gz: its files unpack to more than 1048576 bytes (kiln docker load takes at most that)")
                throw error
            }
        }
        #expect(ImageArchiveReader.maxUnpackedBytes == 64 << 30)
    }

    @Test func collectedBlobsHaveNoNameAndAnAbortLeavesNothing() async throws {
        let dir = try TemporaryDirectory()
        let image = Image()
        let archive = ImageArchive(try ArchiveReference(parsing: "docker-archive:\(dir("made/for/it/app.tar")):app:1"))
        try await image.collect(into: archive)
        #expect(try await archive.hasBlob(image.layerDescriptor))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir("made/for/it")).isEmpty, "blobs are collected in files without names")
        archive.abort()
        #expect(!FileManager.default.fileExists(atPath: dir("made")), "the directories it made are gone")
    }

    @Test func tagWritesTheArchiveAndNothingElse() async throws {
        let dir = try TemporaryDirectory()
        let image = Image()
        let archive = ImageArchive(try ArchiveReference(parsing: "docker-archive:\(dir("app.tar")):localhost:5000/team/app:1"))
        try await image.collect(into: archive)
        try await archive.tag(image.manifestDescriptor, bytes: image.manifest, additionalTags: ["latest"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["app.tar"])
        let manifest = try runChecked("tar", ["-xOf", dir("app.tar"), "manifest.json"]).stdout
        #expect(manifest == #"[{"Config":"blobs/sha256/\#(image.configDescriptor.digest.hex)","RepoTags":["localhost:5000/team/app:1","localhost:5000/team/app:latest"],"Layers":["blobs/sha256/\#(image.layerDescriptor.digest.hex)"]}]"#)
        let repositories = try runChecked("tar", ["-xOf", dir("app.tar"), "repositories"]).stdout
        #expect(repositories == #"{"localhost:5000/team/app":{"1":"\#(Digest.of(Array("diff".utf8)).hex)","latest":"\#(Digest.of(Array("diff".utf8)).hex)"}}"#)
        let layer = try runChecked("tar", ["-xOf", dir("app.tar"), "blobs/sha256/\(image.layerDescriptor.digest.hex)"]).stdout
        #expect(Array(layer.utf8) == image.layer)
    }

    @Test func aDockerArchiveRefusesAnIndexAndAMissingBlob() async throws {
        let dir = try TemporaryDirectory()
        let image = Image()
        let index = Array(#"{"schemaVersion":2,"mediaType":"\#(MediaType.ociIndex)","manifests":[{"mediaType":"\#(MediaType.ociManifest)","digest":"\#(image.manifestDescriptor.digest)","size":\#(image.manifest.count)}]}"#.utf8)
        let archive = ImageArchive(try ArchiveReference(parsing: "docker-archive:\(dir("app.tar"))"))
        try await image.collect(into: archive)
        try await archive.putManifest(image.manifest, as: image.manifestDescriptor)
        await #expect(throws: StoreError.notOneImage(location: "docker-archive '\(dir("app.tar"))'")) {
            try await archive.tag(.of(index, mediaType: MediaType.ociIndex), bytes: index, additionalTags: [])
        }
        archive.abort()

        let missing = ImageArchive(try ArchiveReference(parsing: "oci-archive:\(dir("app.tar")):x"))
        try await missing.put(image.config, as: image.configDescriptor)
        await #expect(throws: StoreError.blobMissing(location: "oci-archive '\(dir("app.tar"))'", digest: image.layerDescriptor.digest)) {
            try await missing.tag(image.manifestDescriptor, bytes: image.manifest, additionalTags: [])
        }
        missing.abort()
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }
}
