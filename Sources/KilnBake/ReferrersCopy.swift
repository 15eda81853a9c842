import KilnRegistry
import KilnStore
import OCI

/// What is attached to an image (signatures, SBOMs, attestations: its referrers) carried along
/// by `kiln copy`, so a signature made in QA follows the digest to production. Registry to
/// registry only: layouts and archives have no referrers API, and kiln does not read or write
/// referrers there. One level: the referrers of the image and of each manifest copied, not
/// referrers of referrers (a signature on an SBOM stays behind).
package struct ReferrersCopy {
    let store: ImageSession

    /// The referrers read from the source, per subject, with the blobs they name.
    package struct Attached {
        var bySubject: [(subject: Digest, manifests: [ArtifactManifest])] = []

        /// Every blob the referrers name (copied with the image's blobs).
        var blobs: [Descriptor] { bySubject.flatMap { $0.manifests.flatMap(\.blobs) } }
        var count: Int { bySubject.reduce(0) { $0 + $1.manifests.count } }
        var isEmpty: Bool { count == 0 }

        /// Attaches each subject's referrers at the destination (their blobs are there by now).
        /// A registry refusing a referrer (ECR refuses those whose subject is an index) is a
        /// note, not a failure: the image itself was copied.
        func write(to destination: ImageReference, store: ImageSession) async throws {
            guard let image = try store.registryImage(destination) else { return }
            for (subject, manifests) in bySubject where !manifests.isEmpty {
                do {
                    try await image.attach(manifests, to: subject)
                } catch RegistryError.unexpectedStatus(let host, let action, let status, let message) where (400..<500).contains(status) {
                    store.options.logger.warning("\(host) refused the referrers of \(subject) (\(action): HTTP \(status) \(message)); the image was copied without them")
                }
            }
        }
    }

    /// Reads the referrers of `subjects` in the source repository.
    /// - Returns: `nil` when the source or the destination is not a registry.
    package func read(_ source: ImageReference, destination: ImageReference, subjects: [Digest]) async throws -> Attached? {
        guard try store.registryImage(destination) != nil, let image = try store.registryImage(source) else { return nil }
        var attached = Attached()
        var seen = Set<Digest>()
        // An index may list one manifest twice (under two platforms): its referrers once.
        for subject in subjects where seen.insert(subject).inserted {
            let found = try await image.referrers(of: subject)
            for referrer in found.referrers {
                store.options.logger.info("referrer \(referrer.descriptor.digest) (\(referrer.manifest.artifactType ?? "no artifact type")) of \(subject), by the \(found.viaAPI ? "referrers API" : "tag schema")")
            }
            attached.bySubject.append((subject, found.referrers.map(\.manifest)))
        }
        return attached
    }
}
