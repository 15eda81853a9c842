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
    /// Why the connection broke after bytes were gathered into the chunk handed on last.
    private var pendingInterruption: String?
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

    /// The bytes a chunk gathers before it is handed on: the network hands over one buffer per
    /// socket read (about 30 KiB on loopback), and each chunk costs a hash call, a hop to the
    /// uploading connection and a socket write per destination; 1 MiB chunks make those 30
    /// times fewer and let a receiving registry read full buffers.
    static let chunkSize = 1 << 20

    /// The next chunk of up to ``chunkSize`` bytes, `nil` at the end.
    func next() async throws -> [UInt8]? {
        if let reason = pendingInterruption {
            // The last chunk was handed on before this interruption was handled.
            pendingInterruption = nil
            try await interrupted(reason)
        }
        var chunk: [UInt8] = []
        while true {
            do {
                if body == nil { try await connect() }
                guard var iterator = body, let buffer = try await iterator.next() else {
                    // At the end (a finished iterator keeps answering nil): what was gathered first.
                    if !chunk.isEmpty { return chunk }
                    image.noteHeld(descriptor.digest)
                    return nil
                }
                body = iterator
                try watchdog.record(buffer.readableBytes)
                var bytes = buffer.readableBytesView
                if skip > 0 {
                    let dropped = Int(min(skip, Int64(bytes.count)))
                    bytes = bytes.dropFirst(dropped)
                    skip -= Int64(dropped)
                    if bytes.isEmpty { continue }
                }
                if chunk.isEmpty { chunk.reserveCapacity(Self.chunkSize) }
                chunk.append(contentsOf: bytes)
                offset += Int64(bytes.count)
                if chunk.count >= Self.chunkSize { return chunk }
            } catch let error as RegistryError {
                throw error
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                let reason = (error as? TransferWatchdog.Stalled)?.text ?? TransportFailure(error).text
                if !chunk.isEmpty {
                    // Hand on what arrived (its bytes count for `offset`); resume on the next call.
                    body = nil
                    pendingInterruption = reason
                    return chunk
                }
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
