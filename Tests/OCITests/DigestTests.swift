import KilnCrypto
import OCI
import Testing

@Suite struct DigestTests {
    @Test func sha256OfKnownVectors() {
        // FIPS 180-2 test vectors.
        #expect(Digest.of(Array("abc".utf8)).description == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Digest.of([UInt8]()).description == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func streamingEqualsOneShot() {
        let data = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let hasher = SHA256()
        for chunk in stride(from: 0, to: data.count, by: 4096) {
            hasher.update(data[chunk..<min(chunk + 4096, data.count)])
        }
        #expect(hasher.finalize() == SHA256.hash(data))
    }

    @Test func parsesWellFormedDigest() throws {
        let text = "sha256:" + String(repeating: "ab", count: 32)
        let digest = try Digest(parsing: text)
        #expect(digest.algorithm == "sha256")
        #expect(digest.description == text)
        #expect(digest.layoutPath == "blobs/sha256/" + String(repeating: "ab", count: 32))
    }

    @Test(arguments: [
        "", "sha256", "sha256:", "sha256:abc",
        "sha256:" + String(repeating: "A", count: 64),
        "sha512:" + String(repeating: "a", count: 128),
        "md5:" + String(repeating: "a", count: 32),
        "sha256:" + String(repeating: "g", count: 64),
        "sha256:" + String(repeating: "a", count: 65),
    ])
    func rejectsMalformedDigest(_ text: String) {
        #expect(throws: OCIError.invalidDigest(text)) { try Digest(parsing: text) }
    }
}

@Suite struct PlatformTests {
    @Test func parsesAndPrints() throws {
        #expect(try Platform(parsing: "linux/amd64") == Platform(os: "linux", architecture: "amd64"))
        #expect(try Platform(parsing: "linux/arm64/v8").description == "linux/arm64/v8")
    }

    @Test(arguments: ["linux", "linux/", "/amd64", "linux/amd64/v8/x", "Linux/AMD64", "linux amd64"])
    func rejectsMalformed(_ text: String) {
        #expect(throws: OCIError.invalidPlatform(text)) { try Platform(parsing: text) }
    }

    @Test func matchingIgnoresMissingVariantAndKnowsArm64IsV8() throws {
        let arm64 = try Platform(parsing: "linux/arm64")
        let arm64v8 = try Platform(parsing: "linux/arm64/v8")
        #expect(arm64.matches(arm64v8))
        #expect(arm64v8.matches(arm64))
        #expect(!(try Platform(parsing: "linux/arm/v7")).matches(try Platform(parsing: "linux/arm/v6")))
        #expect(!(try Platform(parsing: "linux/amd64")).matches(arm64))
    }
}
