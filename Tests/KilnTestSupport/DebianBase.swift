import Foundation

/// A real Debian 12 base made from Debian's packages: `mmdebstrap --variant=minbase bookworm`
/// (through `scripts/debian-root.sh`, which caches the root under the build directory, so one
/// test run builds it once), turned into an OCI image by umoci.
public enum DebianBase {
    /// The packages added to minbase: nginx, to serve a baked page.
    public static let includes = "nginx-light"

    /// Writes the base as `LAYOUT:TAG` (one layer, the whole root; Cmd `/bin/sh`).
    public static func makeLayout(at layout: String, tag: String = "bookworm") throws {
        let root = try runChecked("\(repositoryRoot)/scripts/debian-root.sh", ["bookworm", "minbase", includes]).output
        try runChecked("umoci", ["init", "--layout", layout])
        try runChecked("umoci", ["new", "--image", "\(layout):\(tag)"])
        try runChecked("umoci", ["raw", "add-layer", "--image", "\(layout):\(tag)", root])
        try runChecked("umoci", ["config", "--image", "\(layout):\(tag)", "--config.cmd", "/bin/sh", "--os", "linux", "--architecture", "amd64"])
    }
}

/// podman with its own storage in a temporary directory: the overlay driver (the one that shows
/// a layer's directory entries over the base's exactly as a production runtime does; vfs copies
/// each layer onto the one below and hides those bugs) and runc (crun and the default ulimits
/// fail on these machines).
public final class OverlayPodman: @unchecked Sendable {
    public let directory: TemporaryDirectory
    private let environment: [String: String]

    public init() throws {
        _ = try which("podman")
        _ = try which("runc")
        directory = try TemporaryDirectory()
        try """
            [storage]
            driver = "overlay"
            graphroot = "\(directory("graph"))"
            runroot = "\(directory("run"))"

            """.write(toFile: directory("storage.conf"), atomically: true, encoding: .utf8)
        var environment = ProcessInfo.processInfo.environment
        environment["CONTAINERS_STORAGE_CONF"] = directory("storage.conf")
        self.environment = environment
    }

    deinit {
        // Containers are run with --rm (or removed by the test); images hold no mount.
        _ = try? self(["rmi", "--all", "--force"])
    }

    /// Runs podman with this storage.
    @discardableResult
    public func callAsFunction(_ arguments: [String]) throws -> ProcessResult {
        try KilnTestSupport.run("podman", ["--runtime", "runc", "--cgroup-manager", "cgroupfs", "--events-backend", "file"] + arguments, environment: environment)
    }

    /// Pulls an image from a plain-HTTP registry on loopback.
    public func pull(_ reference: String) throws {
        let result = try self(["pull", "--quiet", "--tls-verify=false", reference])
        guard result.status == 0 else { throw TestFailure("podman pull \(reference): \(result.stderr)") }
    }

    /// `podman run --rm` on the host network with the limits these machines need.
    public func run(_ image: String, _ command: [String]) throws -> ProcessResult {
        try self(["run", "--rm"] + Self.runFlags + [image] + command)
    }

    /// Runs a server container for at most `seconds` on another thread (its own Cmd), while the
    /// caller talks to it; `wait()` on the result joins it. Not `run -d`: the container's
    /// monitor would inherit and hold the test's pipes.
    public func serve(_ image: String, seconds: Int) -> () -> ProcessResult? {
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox()
        Thread.detachNewThread {
            box.value = try? self(["run", "--rm", "--timeout", String(seconds)] + Self.runFlags + [image])
            done.signal()
        }
        return {
            done.wait()
            return box.value
        }
    }

    private final class ResultBox: @unchecked Sendable { var value: ProcessResult? }

    private static let runFlags = ["--network", "host", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
}
