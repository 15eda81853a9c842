import AsyncHTTPClient

extension HTTPClientResponse {
    /// Reads and drops what is left of the body (at most 64 KiB), so the connection can serve
    /// the next request; a body that fails or is larger just ends the connection.
    func drain() async {
        _ = try? await body.collect(upTo: 64 * 1024)
    }
}
