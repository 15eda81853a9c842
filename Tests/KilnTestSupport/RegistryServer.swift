import Foundation

/// A real CNCF distribution registry (`docker-registry` from Debian) on 127.0.0.1, started for
/// one test and stopped when released. Storage lives in a temp dir; every request is counted
/// from the registry's own access log.
public final class RegistryServer: @unchecked Sendable {
    public let port: Int
    public let directory: TemporaryDirectory
    /// `127.0.0.1:PORT`, the registry's name in references.
    public var host: String { "127.0.0.1:\(port)" }
    /// The CA certificate that signed the TLS certificate, when TLS is on.
    public let caFile: String?
    public let credentials: (user: String, password: String)?
    private let process: Process

    /// - Parameters:
    ///   - tls: serve HTTPS with a certificate for 127.0.0.1 from a throwaway CA.
    ///   - user: require htpasswd basic auth for this user and password.
    ///   - tokenIssuer: require bearer tokens from this issuer (`auth: token`): the registry
    ///     itself checks each token's signature, audience and access claims.
    ///   - tokenRealm: the realm the registry names instead of the issuer's own URL (a realm on
    ///     another host).
    public init(tls: Bool = false, user: (String, String)? = nil, tokenIssuer: TokenIssuer? = nil, tokenRealm: String? = nil) throws {
        directory = try TemporaryDirectory("kiln-registry")
        port = try freePort()
        var config = """
            version: 0.1
            log:
              level: warn
              accesslog:
                disabled: false
            storage:
              filesystem:
                rootdirectory: \(directory("data"))
              delete:
                enabled: true
            http:
              addr: 127.0.0.1:\(port)

            """
        if tls {
            try runChecked("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=kiln test CA",
                                       "-keyout", directory("ca.key"), "-out", directory("ca.crt")])
            try runChecked("openssl", ["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
                                       "-keyout", directory("server.key"), "-out", directory("server.csr")])
            try Data("subjectAltName=IP:127.0.0.1\n".utf8).write(to: URL(fileURLWithPath: directory("san.ext")))
            try runChecked("openssl", ["x509", "-req", "-in", directory("server.csr"), "-CA", directory("ca.crt"), "-CAkey", directory("ca.key"),
                                       "-CAcreateserial", "-days", "2", "-extfile", directory("san.ext"), "-out", directory("server.crt")])
            config += """
                  tls:
                    certificate: \(directory("server.crt"))
                    key: \(directory("server.key"))

                """
            // skopeo reads every file of a cert dir (*.key as client keys): give the CA its own.
            try FileManager.default.createDirectory(atPath: directory("certs"), withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: directory("ca.crt"), toPath: directory("certs/ca.crt"))
            caFile = directory("certs/ca.crt")
        } else {
            caFile = nil
        }
        if let (name, password) = user {
            let htpasswd = try runChecked("htpasswd", ["-Bbn", name, password]).stdout
            try Data(htpasswd.utf8).write(to: URL(fileURLWithPath: directory("htpasswd")))
            config += """
                auth:
                  htpasswd:
                    realm: kiln-test
                    path: \(directory("htpasswd"))

                """
            credentials = (name, password)
        } else if let tokenIssuer {
            config += """
                auth:
                  token:
                    realm: \(tokenRealm ?? tokenIssuer.realm)
                    service: \(tokenIssuer.service)
                    issuer: \(tokenIssuer.issuer)
                    rootcertbundle: \(tokenIssuer.certificateFile)

                """
            credentials = (tokenIssuer.user.name, tokenIssuer.user.password)
        } else {
            credentials = nil
        }
        try Data(config.utf8).write(to: URL(fileURLWithPath: directory("config.yml")))
        FileManager.default.createFile(atPath: directory("access.log"), contents: nil)
        process = Process()
        process.executableURL = URL(fileURLWithPath: try which("docker-registry"))
        process.arguments = ["serve", directory("config.yml")]
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: directory("access.log")))
        _ = fcntl(log.fileDescriptor, F_SETFD, FD_CLOEXEC)
        process.standardOutput = log
        process.standardError = log
        try process.run()
        try waitUntilListening(port: port, process: process)
    }

    deinit {
        // SIGKILL: a child may have inherited a mask that blocks SIGTERM.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// The access log's request lines, e.g. `PUT /v2/um/gateway/manifests/v1`.
    public func requests() -> [String] {
        let text = (try? String(contentsOfFile: directory("access.log"), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard let start = line.range(of: "\""), let end = line[start.upperBound...].range(of: " HTTP/") else { return nil }
            return String(line[start.upperBound..<end.lowerBound])
        }
    }

    /// Arguments that let skopeo talk to this registry: `copy`'s source (`--src-…`) or
    /// destination (`--dest-…`) flags, or, with `dest: nil`, `inspect`'s plain ones.
    public func skopeoFlags(dest: Bool?) -> [String] {
        let prefix = dest.map { $0 ? "--dest" : "--src" } ?? "-"
        var flags: [String] = []
        if let caFile { flags += ["\(prefix)-cert-dir", (caFile as NSString).deletingLastPathComponent] } else { flags += ["\(prefix)-tls-verify=false"] }
        if let credentials { flags += ["\(prefix)-creds", "\(credentials.user):\(credentials.password)"] }
        return flags
    }

    /// Pushes `DIR:TAG` of an OCI layout to `REPO:TAG` here with skopeo.
    public func push(layout: String, to repositoryAndTag: String) throws {
        try runChecked("skopeo", ["copy", "--quiet"] + skopeoFlags(dest: true) + ["oci:\(layout)", "docker://\(host)/\(repositoryAndTag)"])
    }
}

/// A port on 127.0.0.1 nobody listens on right now.
public func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket() failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    guard bound == 0 else { throw TestFailure("bind() failed") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Waits up to 10 s for something to accept connections on 127.0.0.1:port.
func waitUntilListening(port: Int, process: Process) throws {
    for _ in 0..<200 {
        guard process.isRunning else { throw TestFailure("the server exited during start-up (status \(process.terminationStatus))") }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        close(fd)
        if connected == 0 { return }
        usleep(50_000)
    }
    throw TestFailure("nothing listens on 127.0.0.1:\(port) after 10 s")
}
