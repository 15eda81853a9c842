import KilnStore
import OCI
import Testing

@Suite struct ReferenceTests {
    static let digest = "sha256:" + String(repeating: "ab", count: 32)

    @Test(arguments: [
        ("kong:2.6.0-alpine", "docker.io", "library/kong", "2.6.0-alpine"),
        ("kong", "docker.io", "library/kong", "latest"),
        ("docker://kong:2.6.0-alpine", "docker.io", "library/kong", "2.6.0-alpine"),
        ("vngrci/camel-adapter", "docker.io", "vngrci/camel-adapter", "latest"),
        ("index.docker.io/library/alpine:3", "docker.io", "library/alpine", "3"),
        ("ghcr.io/org/team/app:v1.2", "ghcr.io", "org/team/app", "v1.2"),
        ("localhost:5000/app", "localhost:5000", "app", "latest"),
        ("127.0.0.1:5000/um/gateway:sha256-abc", "127.0.0.1:5000", "um/gateway", "sha256-abc"),
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/um/gateway:latest", "123456789012.dkr.ecr.eu-west-1.amazonaws.com", "um/gateway", "latest"),
        ("docker.elastic.co/elasticsearch/elasticsearch:7.17.8", "docker.elastic.co", "elasticsearch/elasticsearch", "7.17.8"),
        ("localhost/a__b/c-d--e.f_g", "localhost", "a__b/c-d--e.f_g", "latest"),
    ])
    func parsesRegistryReferences(_ text: String, registry: String, repository: String, tag: String) throws {
        let reference = try RegistryReference(parsing: text)
        #expect(reference.registry == registry)
        #expect(reference.repository == repository)
        #expect(reference.tag == tag)
        #expect(reference.digest == nil)
    }

    @Test func digestReferencesAndApiHost() throws {
        let pinned = try RegistryReference(parsing: "kong@\(Self.digest)")
        #expect(pinned.tag == nil && pinned.digest?.description == Self.digest)
        #expect(pinned.manifestReference == Self.digest)
        #expect(pinned.apiHost == "registry-1.docker.io")
        #expect(pinned.description == "docker.io/library/kong@\(Self.digest)")
        let both = try RegistryReference(parsing: "ghcr.io/a/b:v1@\(Self.digest)")
        #expect(both.tag == "v1" && both.digest != nil && both.manifestReference == Self.digest)
        #expect(try RegistryReference(parsing: "127.0.0.1:5000/x").isLoopback)
        #expect(try RegistryReference(parsing: "localhost/x").isLoopback)
        #expect(!(try RegistryReference(parsing: "ghcr.io/x").isLoopback))
    }

    @Test(arguments: ["Kong", "kong:", "kong:-bad", "ghcr.io//x", "a/-b", "a/b.", "kong@sha256:12", "ghcr.io/x:" + String(repeating: "t", count: 129), "a/b_-c"])
    func rejectsMalformedRegistryReferences(_ text: String) {
        #expect(throws: StoreError.self) { try RegistryReference(parsing: text) }
    }

    @Test func imageReferenceKinds() throws {
        #expect(try ImageReference(parsing: "oci:/tmp/x:v1") == .layout(LayoutReference(directory: "/tmp/x", tag: "v1")))
        #expect(try ImageReference(parsing: "oci:./dir") == .layout(LayoutReference(directory: "./dir")))
        #expect(try ImageReference(parsing: "oci:/a:b/c") == .layout(LayoutReference(directory: "/a:b/c")))
        #expect(try ImageReference(parsing: "oci:/x@\(Self.digest)") == .layout(LayoutReference(directory: "/x", digest: try Digest(parsing: Self.digest))))
        guard case .registry(let registry) = try ImageReference(parsing: "kong:2.6.0-alpine") else {
            Issue.record("expected a registry reference")
            return
        }
        #expect(registry.name == "docker.io/library/kong")
        #expect(throws: StoreError.self) { try ImageReference(parsing: "s3://bucket/x") }
        #expect(throws: StoreError.self) { try ImageReference(parsing: "oci:/x:bad tag") }
    }

    @Test(arguments: [
        ("docker-archive:out.tar", ArchiveReference(format: .docker, path: "out.tar")),
        ("docker-archive:/tmp/a/out.tar:app:dev", ArchiveReference(format: .docker, path: "/tmp/a/out.tar", name: "app", tag: "dev")),
        ("docker-archive:out.tar:localhost:5000/team/app:1.0", ArchiveReference(format: .docker, path: "out.tar", name: "localhost:5000/team/app", tag: "1.0")),
        ("oci-archive:out.tar", ArchiveReference(format: .oci, path: "out.tar")),
        ("oci-archive:/tmp/a:b/out.tar:v1", ArchiveReference(format: .oci, path: "/tmp/a:b/out.tar", tag: "v1")),
        ("oci-archive:/tmp/a:b/out.tar", ArchiveReference(format: .oci, path: "/tmp/a:b/out.tar")),
    ])
    func parsesArchiveReferences(_ text: String, expected: ArchiveReference) throws {
        #expect(try ImageReference(parsing: text) == .archive(expected))
        // What is printed parses back to the same reference.
        #expect(expected.description == text)
    }

    @Test(arguments: [
        "docker-archive:", "docker-archive::app:1", "docker-archive:out.tar:app", "docker-archive:out.tar:App:1",
        "docker-archive:a:b.tar:app:1", "docker-archive:out.tar:app:1@\(digest)", "docker-archive:out.tar:app:bad tag",
        "docker-archive:out.tar:docker://app:1", "oci-archive:", "oci-archive::v1", "oci-archive:out.tar:bad tag",
    ])
    func rejectsMalformedArchiveReferences(_ text: String) {
        #expect(throws: StoreError.self) { try ImageReference(parsing: text) }
    }
}
