import AsyncHTTPClient
import KilnStore
import NIOCore
import NIOHTTP1
import OCI

extension RegistryImage {
    /// A blob's bytes (checked against its digest by ``VerifyingSource``). A download that is
    /// cut off, times out or stalls is resumed where it stopped (`Range`), with backoff, so one
    /// bad connection costs neither the bytes already read nor the run.
    public func openBlob(_ descriptor: Descriptor) async throws -> BlobStream {
        let download = BlobDownload(image: self, descriptor: descriptor)
        try await download.connect()
        return BlobStream { try await download.next() }
    }
}

/// One blob download; its stream is consumed by one reader at a time.
// Sendable only by promise: a download's stream has one consumer at a time.
final class BlobDownload: @unchecked Sendable {
    private let image: RegistryImage
    private let descriptor: Descriptor
    private var body: HTTPClientResponse.Body.AsyncIterator?
    /// Bytes handed on so far: where a resumed request starts.
    private var offset: Int64 = 0
    /// Bytes a server that ignored `Range` resends from the start, to skip.
    private var skip: Int64 = 0
    private var backoff: Backoff
    private var watchdog: TransferWatchdog

    init(image: RegistryImage, descriptor: Descriptor) {
        self.image = image
        self.descriptor = descriptor
        watchdog = TransferWatchdog(image.transport.options)
        backoff = Backoff(image.transport.options)
    }

    private var action: String { "GET blob \(descriptor.digest)" }

    /// Sends the GET (from `offset` on when resuming) and checks the answer.
    func connect() async throws {
        let session = await image.session
        var headers: HTTPHeaders = [:]
        if offset > 0 { headers.add(name: "Range", value: "bytes=\(offset)-") }
        let response = try await session.getFollowingRedirects("/v2/\(image.repository)/blobs/\(descriptor.digest)", headers: headers, scopes: image.pullScopes, action: action)
        switch response.status {
        case .ok:
            skip = offset
        case .partialContent where offset > 0:
            skip = 0
        case .notFound:
            throw RegistryError.blobNotFound(host: image.reference.registry, repository: image.repository, digest: descriptor.digest.description)
        default:
            throw await image.failure(response, action: action)
        }
        body = response.body.makeAsyncIterator()
        watchdog.restart()
    }

    func next() async throws -> [UInt8]? {
        while true {
            do {
                if body == nil { try await connect() }
                guard var iterator = body, let buffer = try await iterator.next() else {
                    image.noteHeld(descriptor.digest)
                    return nil
                }
                body = iterator
                try watchdog.record(buffer.readableBytes)
                var chunk = Array(buffer: buffer)
                if skip > 0 {
                    let dropped = Int(min(skip, Int64(chunk.count)))
                    chunk.removeFirst(dropped)
                    skip -= Int64(dropped)
                    if chunk.isEmpty { continue }
                }
                offset += Int64(chunk.count)
                return chunk
            } catch let error as RegistryError {
                throw error
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                let reason = (error as? TransferWatchdog.Stalled)?.text ?? TransportFailure(error).text
                try await interrupted(reason)
            }
        }
    }

    /// Waits before resuming, or gives up naming the blob, the registry and the last reason.
    private func interrupted(_ reason: String) async throws {
        body = nil
        let what = "download of blob \(descriptor.digest) from \(image.repository)"
        guard try await backoff.retry(after: "\(image.reference.registry): download of blob \(descriptor.digest) \(reason) at byte \(offset)", next: "resuming") else {
            throw RegistryError.transferFailed(host: image.reference.registry, what: what, attempts: backoff.failures, last: reason)
        }
    }
}
