import Foundation

/// podman as a developer runs it to try an image locally, with storage of its own (vfs, under
/// a test's directory) and runc, so tests running at the same time never share an image store.
public struct Podman: Sendable {
    public let directory: String

    /// - Parameter directory: where its storage and temporary files go (made when missing).
    public init(in directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    private var globalFlags: [String] {
        ["--root", "\(directory)/root", "--runroot", "\(directory)/runroot", "--tmpdir", "\(directory)/tmp",
         "--storage-driver", "vfs", "--runtime", "runc", "--events-backend", "none"]
    }

    /// Runs `podman ARGUMENTS` with this storage.
    public func callAsFunction(_ arguments: [String]) throws -> ProcessResult {
        try run("podman", globalFlags + arguments)
    }

    /// `podman load -i ARCHIVE`; fails the test unless it exits 0.
    /// - Returns: what podman printed (`Loaded image: …`).
    @discardableResult
    public func load(_ archive: String) throws -> String {
        let result = try self(["load", "--quiet", "--input", archive])
        guard result.status == 0 else { throw TestFailure("podman load -i \(archive) exited \(result.status): \(result.stderr)") }
        return result.output
    }

    /// The full ID (the config digest) of a loaded image.
    public func imageID(_ image: String) throws -> String {
        let result = try self(["image", "inspect", "--format", "{{.Id}}", image])
        guard result.status == 0 else { throw TestFailure("podman image inspect \(image) exited \(result.status): \(result.stderr)") }
        return "sha256:" + result.output
    }

    /// Runs `command` in a container of `image` and returns its standard output.
    public func runContainer(_ image: String, _ command: [String]) throws -> String {
        let result = try self(["run", "--rm", "--network", "host", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", image] + command)
        guard result.status == 0 else { throw TestFailure("podman run \(image) \(command) exited \(result.status): \(result.stderr)") }
        return result.stdout
    }
}

extension PeerImages {
    /// A base that can run something: `/usr/bin/cat` of this machine with the shared libraries
    /// `ldd` names, packed by umoci into `DIR:TAG` (OCI-typed, this machine's architecture,
    /// `PATH=/usr/bin:/bin`). The repository's sample base has no programs at all.
    public static func makeRunnableBase(at directory: String, tag: String = "run", work: TemporaryDirectory) throws {
        try runChecked("umoci", ["init", "--layout", directory])
        try runChecked("umoci", ["new", "--image", "\(directory):\(tag)"])
        let bundle = work("bundle-\(tag)-\(UUID().uuidString)")
        try runChecked("umoci", ["unpack", "--rootless", "--image", "\(directory):\(tag)", bundle])
        let root = "\(bundle)/rootfs"
        let program = "/usr/bin/cat"
        // `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)` and `/lib64/ld-linux-x86-64.so.2 (0x…)`.
        let libraries = try runChecked("ldd", [program]).stdout.split(separator: "\n").compactMap { line in
            line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init).first { $0.hasPrefix("/") }
        }
        guard !libraries.isEmpty else { throw TestFailure("ldd named no libraries for \(program)") }
        let manager = FileManager.default
        for file in [program] + libraries {
            let target = root + file
            try manager.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            // The file's content, not a link into this machine's tree.
            try Data(contentsOf: URL(fileURLWithPath: file)).write(to: URL(fileURLWithPath: target))
            try manager.setAttributes([.posixPermissions: 0o755], ofItemAtPath: target)
        }
        try runChecked("umoci", ["repack", "--image", "\(directory):\(tag)", bundle])
        try runChecked("umoci", ["config", "--image", "\(directory):\(tag)", "--os", "linux", "--architecture", machineArchitecture,
                                 "--config.env", "PATH=/usr/bin:/bin"])
        try manager.removeItem(atPath: bundle)
    }

    /// This machine's architecture in OCI's words.
    public static var machineArchitecture: String {
        var info = utsname()
        uname(&info)
        let machine = withUnsafeBytes(of: info.machine) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        switch machine {
        case "x86_64": return "amd64"
        case "aarch64": return "arm64"
        default: return machine
        }
    }
}
