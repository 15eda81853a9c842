import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

import KilnPlatform

/// What went wrong on the wire, decided by the error's type (never by matching its text), with
/// a short description that names no file of the machine that built kiln.
enum TransportFailure: Equatable, Sendable {
    /// Nothing listens at that address: retrying in a second will not help.
    case refused
    /// DNS knows no such host.
    case unknownHost
    /// TLS handshake or certificate: does not heal by itself.
    case tls(String)
    case connectTimeout
    case readTimeout
    /// The connection ended before the response did.
    case cutOff
    case other(String)

    init(_ error: Error) {
        switch error {
        case let error as HTTPClientError:
            switch error {
            case .connectTimeout: self = .connectTimeout
            case .readTimeout, .deadlineExceeded: self = .readTimeout
            case .remoteConnectionClosed, .cancelled: self = .cutOff
            default:
                let text = String(describing: error)
                // Its text lists the refused values, and those are credentials (an Authorization
                // header, a session token): never shown.
                if text.hasPrefix("HTTPClientError.invalidHeaderField") {
                    self = .other("a request header held a character HTTP does not allow (its value is not shown: it may be a credential)")
                } else {
                    self = .other(Self.withoutPaths(text))
                }
            }
        case let error as NIOConnectionError:
            if error.dnsAError != nil || error.dnsAAAAError != nil {
                self = .unknownHost
            } else if !error.connectionErrors.isEmpty, error.connectionErrors.allSatisfy({ TransportFailure($0.error) == .refused }) {
                self = .refused
            } else if let first = error.connectionErrors.first {
                self = TransportFailure(first.error)
            } else {
                self = .other("connection failed")
            }
        case is SocketAddressError.UnknownHost:
            self = .unknownHost
        case let error as IOError:
            switch error.errnoCode {
            case ECONNREFUSED: self = .refused
            case ECONNRESET, EPIPE: self = .cutOff
            case ETIMEDOUT: self = .connectTimeout
            default: self = .other(String(cString: strerror(error.errnoCode)))
            }
        case let error as ChannelError:
            switch error {
            case .connectTimeout: self = .connectTimeout
            case .eof, .ioOnClosedChannel, .alreadyClosed, .outputClosed, .inputClosed: self = .cutOff
            default: self = .other(Self.withoutPaths(String(describing: error)))
            }
        case is HTTPParserError:
            // "stream ended at an unexpected time" and its kin: the body was cut off.
            self = .cutOff
        case is NIOSSLError, is NIOSSLExtraError, is BoringSSLError:
            self = .tls(Self.tlsReason(String(describing: error)))
        default:
            self = .other(Self.withoutPaths(String(describing: error)))
        }
    }

    /// Connection-level failures that say "nobody is there": reported at once, not retried.
    var isFinal: Bool {
        switch self {
        case .refused, .unknownHost, .tls: return true
        default: return false
        }
    }

    var text: String {
        switch self {
        case .refused: return "connection refused"
        case .unknownHost: return "unknown host"
        case .tls(let reason): return "TLS handshake failed (\(reason))"
        case .connectTimeout: return "connection timed out"
        case .readTimeout: return "read timed out"
        case .cutOff: return "connection closed mid-transfer"
        case .other(let text): return text.count > 160 ? String(text.prefix(160)) + "…" : text
        }
    }

    /// BoringSSL's reason (`WRONG_VERSION_NUMBER`, `CERTIFICATE_VERIFY_FAILED`) without the
    /// source path of the machine that compiled it.
    static func tlsReason(_ text: String) -> String {
        if let range = text.range(of: #"OPENSSL_internal:([A-Z0-9_]+)"#, options: .regularExpression) {
            return String(text[range].dropFirst("OPENSSL_internal:".count))
        }
        if text.contains("unableToValidateCertificate") || text.contains("CERTIFICATE_VERIFY_FAILED") { return "certificate not trusted" }
        return withoutPaths(text)
    }

    /// Drops ` at /path/file.ext:LINE` and bare absolute source paths from a description.
    static func withoutPaths(_ text: String) -> String {
        text.replacingOccurrences(of: #"\s*(at\s+)?/[^\s:\]\)]+\.(swift|cc|c|h|cpp)(:\d+)?"#, with: "", options: .regularExpression)
    }
}
