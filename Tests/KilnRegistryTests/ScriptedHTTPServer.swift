import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// An in-process HTTP/1.1 server on 127.0.0.1 that answers from a script: what a registry
/// says for each status code the transport must handle, checked one by one. (End-to-end
/// behaviour is tested against the real distribution registry; this isolates status codes.)
final class ScriptedHTTPServer: @unchecked Sendable {
    struct Request: Sendable {
        var method: String
        var uri: String
        var headers: [String: String]
    }

    struct Reply: Sendable {
        var status: Int
        var headers: [(String, String)] = []
        var body: [UInt8] = []

        static func json(_ status: Int, _ text: String, headers: [(String, String)] = []) -> Reply {
            Reply(status: status, headers: [("Content-Type", "application/json")] + headers, body: Array(text.utf8))
        }
    }

    typealias Script = @Sendable (_ request: Request, _ server: ScriptedHTTPServer) -> Reply

    let port: Int
    private let group: MultiThreadedEventLoopGroup
    private let channel: Channel
    private let lock = NSLock()
    private var log: [Request] = []

    init(_ script: @escaping Script) throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let box = Box()
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(Handler(box: box, script: script))
                }
            }
        channel = try bootstrap.bind(host: "127.0.0.1", port: 0).wait()
        port = channel.localAddress?.port ?? 0
        box.server = self
    }

    var host: String { "127.0.0.1:\(port)" }

    /// Every request so far, in order.
    var requests: [Request] { lock.withLock { log } }

    func count(_ predicate: (Request) -> Bool) -> Int { requests.filter(predicate).count }

    fileprivate func record(_ request: Request) { lock.withLock { log.append(request) } }

    deinit {
        // Never blocks: the last reference may be dropped on the server's own event loop (a
        // request handled just as the test let go), where waiting would trap in NIO.
        channel.close(promise: nil)
        group.shutdownGracefully { _ in }
    }

    private final class Box: @unchecked Sendable { weak var server: ScriptedHTTPServer? }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let box: Box
        let script: Script
        var head: HTTPRequestHead?

        init(box: Box, script: @escaping Script) {
            self.box = box
            self.script = script
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): self.head = head
            case .body: break
            case .end:
                guard let head, let server = box.server else { return }
                var headers: [String: String] = [:]
                for (name, value) in head.headers { headers[name.lowercased()] = value }
                let request = Request(method: head.method.rawValue, uri: head.uri, headers: headers)
                server.record(request)
                let reply = script(request, server)
                var responseHeaders = HTTPHeaders(reply.headers)
                responseHeaders.replaceOrAdd(name: "Content-Length", value: String(reply.body.count))
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: HTTPResponseStatus(statusCode: reply.status), headers: responseHeaders))), promise: nil)
                if head.method != .HEAD, !reply.body.isEmpty {
                    context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: reply.body)))), promise: nil)
                }
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                self.head = nil
            }
        }
    }
}
