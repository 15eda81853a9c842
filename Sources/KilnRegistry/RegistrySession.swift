import AsyncHTTPClient
import Foundation
import OCI
import KilnStore
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL

/// One registry as kiln talks to it, in the manner of go-containerregistry's transport layers:
/// the probe finds the base URL and challenge once (RegistrySession+Probe), every request goes
/// through one retry loop (+Retry) with the authorization the challenge asks for (+Bearer),
/// and redirects are followed by kiln so credentials never leave the registry's origin
/// (+Requests).
actor RegistrySession {
    let registry: String
    let transport: RegistryTransport
    var baseURL: String?
    var challenge: AuthChallenge?
    var credential: Credential??
    let tokens = TokenCache()
    /// The probe under way: callers that arrive while it runs (an actor lets them in at every
    /// `await`) wait for it instead of probing again.
    var probing: Task<String, Error>?
    /// Token fetches under way, by scope set: one request per scope set, however many wait.
    var fetching: [String: Task<(String, TimeInterval), Error>] = [:]

    init(registry: String, transport: RegistryTransport) {
        self.registry = registry
        self.transport = transport
    }

    var options: TransportOptions { transport.options }
    var http: HTTPClient { transport.http }

    /// A request body that can be sent again on a retry (never a stream).
    enum ReplayableBody: Sendable {
        case none
        case bytes([UInt8])
    }
}
