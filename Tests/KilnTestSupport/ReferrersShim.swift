import Foundation

/// `Tests/Fixtures/referrers_shim.py`: the declared minimal referrers-API shim in front of a
/// real registry (Debian's registry 2.8 has no referrers API). Stopped when released.
public final class ReferrersShim: @unchecked Sendable {
    public let port: Int
    private let process: Process

    /// - Parameter requireSubject: refuse a referrer whose subject is not in the repository yet
    ///   (400 MANIFEST_BLOB_UNKNOWN), as some registries do.
    public init(upstream: RegistryServer, requireSubject: Bool = false) throws {
        (process, port) = try startPythonFixture("referrers_shim.py", ["--upstream", upstream.host] + (requireSubject ? ["--require-subject"] : []), what: "the referrers shim")
    }

    /// The URL to give `--registry-endpoint`.
    public var url: String { "http://127.0.0.1:\(port)" }
    /// The shim as a registry host of its own.
    public var host: String { "127.0.0.1:\(port)" }

    deinit {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// `Tests/Fixtures/oci_referrer_peer.py`: attaches and inspects referrers over plain HTTP as a
/// signer does, independently of kiln.
public enum ReferrerPeer {
    /// Attaches an artifact to `subject` in `repository` at `registry` (`HOST:PORT`), by the tag
    /// schema or through the referrers API. - Returns: the artifact manifest's digest.
    public static func attach(registry: String, repository: String, subject: String, viaAPI: Bool, artifactType: String = "application/vnd.example.signature", payload: String = "signed") throws -> String {
        try runChecked("python3", ["\(repositoryRoot)/Tests/Fixtures/oci_referrer_peer.py", "attach", registry, repository, subject,
                                   "--mode", viaAPI ? "api" : "schema", "--artifact-type", artifactType, "--payload", payload]).output
    }

    /// Whether the manifest and every blob it names are in the repository.
    public static func isComplete(registry: String, repository: String, manifest: String) throws -> Bool {
        try run("python3", ["\(repositoryRoot)/Tests/Fixtures/oci_referrer_peer.py", "blobs", registry, repository, manifest]).status == 0
    }

    /// Lists `manifest` in `subject`'s tag-schema index although its own subject is another image.
    public static func misfile(registry: String, repository: String, manifest: String, under subject: String) throws {
        try runChecked("python3", ["\(repositoryRoot)/Tests/Fixtures/oci_referrer_peer.py", "misfile", registry, repository, manifest, subject])
    }

    /// The referrers API's answer, parsed; `nil` when the registry has no API.
    public static func listed(registry: String, repository: String, subject: String) throws -> [[String: Any]]? {
        let result = try run("python3", ["\(repositoryRoot)/Tests/Fixtures/oci_referrer_peer.py", "referrers", registry, repository, subject])
        guard result.status == 0 else { return nil }
        return (try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])?["manifests"] as? [[String: Any]]
    }
}
