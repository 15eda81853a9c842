import COpenSSL

/// HMAC-SHA256 through OpenSSL.
public enum HMACSHA256 {
    /// The 32-byte HMAC-SHA256 of `message` under `key`.
    public static func authenticate(_ message: [UInt8], key: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let result = key.withUnsafeBufferPointer { keyBuffer in
            message.withUnsafeBufferPointer { messageBuffer in
                HMAC(EVP_sha256(), keyBuffer.baseAddress, Int32(keyBuffer.count), messageBuffer.baseAddress, messageBuffer.count, &out, &length)
            }
        }
        // HMAC only fails for an unusable digest, which EVP_sha256 never is.
        precondition(result != nil, "OpenSSL HMAC-SHA256 failed")
        return Array(out.prefix(Int(length)))
    }
}
