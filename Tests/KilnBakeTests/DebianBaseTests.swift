import Foundation
import KilnTestSupport
import Testing

/// The proof that a baked image runs exactly like the base plus the files: a real Debian 12 root
/// from Debian's packages (merged /usr: /bin -> usr/bin), pushed to the real registry, baked by
/// kiln, and run by podman on the overlay driver. The layer's tar headers are checked too, so the
/// proof does not rest on one runtime's applier.
@Suite(.serialized) struct DebianBaseTests {
    final class Setup: @unchecked Sendable {
        let dir: TemporaryDirectory
        let registry: RegistryServer
        let base: String
        let podman: OverlayPodman

        init() throws {
            dir = try TemporaryDirectory()
            registry = try RegistryServer()
            try DebianBase.makeLayout(at: dir("debian"))
            try registry.push(layout: "\(dir("debian")):bookworm", to: "debian:12")
            base = "\(registry.host)/debian:12"
            podman = try OverlayPodman()
        }

        /// Bakes onto the Debian base into this registry and returns the JSON result.
        func bake(_ arguments: [String], to repository: String, cache: String? = nil) throws -> BakeJSON {
            try BakeJSON(kiln(["bake", "--base", base, "--insecure", registry.host] + arguments + ["--output", "\(registry.host)/\(repository)", "--json"],
                              extraEnvironment: ["KILN_CACHE_DIR": cache ?? "", "XDG_CONFIG_HOME": dir("config")]))
        }

        /// The new layer's tar listing: `MODE UID/GID NAME` per entry.
        func layerListing(_ result: BakeJSON) throws -> [String] {
            let blob = dir("layer-\(UUID().uuidString)")
            try runChecked("curl", ["-sf", "-o", blob, "http://\(registry.host)/v2/\(result.reference.split(separator: "/")[1].split(separator: "@")[0])/blobs/\(result.layer.digest)"])
            return try runChecked("tar", ["--numeric-owner", "-tvzf", blob]).stdout.split(separator: "\n").map { line in
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                return "\(fields[0]) \(fields[1]) \(fields.last!)"
            }
        }
    }

    @Test func aBakedDebianImageRunsLikeTheBasePlusTheFiles() throws {
        let setup = try Setup()
        let dir = setup.dir
        try dir.write("files/healthcheck.sh", "#!/bin/sh\necho healthy from $0\n", mode: 0o755)
        try dir.write("files/seed", "seed\n")
        try dir.write("files/app.conf", "answer=42\n")
        try dir.write("files/keep.log", "")
        let cache = dir("cache")
        let arguments = [
            "--overlay", "\(dir("files/healthcheck.sh")):/bin/healthcheck.sh",
            "--overlay", "\(dir("files/seed")):/tmp/seed/seed",
            "--overlay", "\(dir("files/app.conf")):/etc/",
            "--overlay", "\(dir("files/keep.log")):/var/log/nginx/keep.log",
            "--overlay", "\(dir("files/seed")):/var/local/seed",
        ]
        let result = try setup.bake(arguments, to: "baked:files", cache: cache)

        // The layer itself: the file under usr/bin (no bin/ directory over the base's link),
        // the base's directories with their own attributes.
        let listing = try setup.layerListing(result)
        #expect(listing.contains("-rwxr-xr-x 0/0 usr/bin/healthcheck.sh"), "\(listing)")
        #expect(!listing.contains { $0.hasSuffix(" bin/") || $0.contains(" bin/healthcheck.sh") }, "\(listing)")
        #expect(listing.contains("drwxrwxrwt 0/0 tmp/"), "\(listing)")
        #expect(listing.contains("drwxrwsr-x 0/50 var/local/"), "\(listing)")
        #expect(listing.contains("drwxr-xr-x 0/4 var/log/nginx/"), "\(listing)")
        #expect(listing.contains("-rw-r--r-- 0/0 etc/app.conf"), "\(listing)")

        // A second bake of the same base reads no layer: the skeleton comes from the cache.
        let before = setup.registry.requests().count
        let again = try setup.bake(arguments, to: "baked:files", cache: cache)
        #expect(again.digest == result.digest)
        let rebake = Array(setup.registry.requests()[before...])
        // The config is the one blob fetched (a document); the layer is not.
        #expect(rebake.filter { $0.hasPrefix("GET") && $0.contains("/blobs/") }.count == 1 && rebake.count <= 8, "\(rebake)")

        // And at run time, under podman's overlay driver.
        try setup.podman.pull("\(setup.registry.host)/baked:files")
        let script = """
            set -e
            /bin/healthcheck.sh; /usr/bin/healthcheck.sh
            test -x /bin/sh && test -L /bin
            stat -c '%a %U:%G' /tmp /tmp/seed /var/log/nginx /var/local
            cat /etc/app.conf /tmp/seed/seed /var/local/seed
            su -s /bin/sh nobody -c 'echo written > /tmp/by-nobody && cat /tmp/by-nobody'
            """
        let run = try setup.podman.run("\(setup.registry.host)/baked:files", ["/bin/sh", "-c", script])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == """
            healthy from /bin/healthcheck.sh
            healthy from /usr/bin/healthcheck.sh
            1777 root:root
            755 root:root
            755 root:adm
            2775 root:staff
            answer=42
            seed
            seed
            written

            """, "\(run.stderr)")
    }

    @Test func nginxServesABakedConfigAndPageOwnedByNamesFromTheBase() throws {
        let setup = try Setup()
        let dir = setup.dir
        let port = try freePort()
        try dir.write("site/kiln.conf", "server { listen 127.0.0.1:\(port); root /var/www/kiln; }\n")
        try dir.write("page/index.html", "<h1>baked by kiln</h1>\n")
        let result = try setup.bake([
            "--overlay", "\(dir("site/kiln.conf")):/etc/nginx/conf.d/",
            "--overlay", "\(dir("page")):/var/www/kiln",
            "--remove", "/etc/nginx/sites-enabled/default",
            "--owner", "www-data:adm",
            "--cmd", #"["nginx","-g","daemon off;"]"#,
        ], to: "baked:nginx")
        let listing = try setup.layerListing(result)
        #expect(listing.contains("-rw-r--r-- 33/4 var/www/kiln/index.html"), "\(listing)")
        #expect(listing.contains("drwxr-xr-x 0/0 etc/nginx/conf.d/"), "the base's directory keeps root: \(listing)")
        #expect(listing.contains("-rw-r--r-- 0/0 etc/nginx/sites-enabled/.wh.default"), "\(listing)")

        let unknown = try kiln(["bake", "--base", setup.base, "--insecure", setup.registry.host, "--overlay", "\(dir("page")):/srv",
                                "--owner", "kong:adm", "--output", "oci:\(dir("never")):x"])
        #expect(unknown.status != 0 && unknown.stderr == "kiln: error: user 'kong' of owner 'kong:adm' is not in the base's /etc/passwd\n", "\(unknown.stderr)")

        try setup.podman.pull("\(setup.registry.host)/baked:nginx")
        let wait = setup.podman.serve("\(setup.registry.host)/baked:nginx", seconds: 10)
        var page = ""
        for _ in 0..<50 where page.isEmpty {
            page = (try? run("curl", ["-sf", "http://127.0.0.1:\(port)/"]).stdout) ?? ""
            if page.isEmpty { Thread.sleep(forTimeInterval: 0.1) }
        }
        let served = wait()
        #expect(page == "<h1>baked by kiln</h1>\n", "\(served?.stderr ?? "podman did not run")")
    }

    /// BuildKit's user lookup and mkdir against a real Debian: `--owner games` (and
    /// `COPY --chown=games`) is 5:60, games's passwd line, not 5:5; WORKDIR under `USER games`
    /// makes its directory games's, so games can write its working directory; a directory made
    /// below the setgid /var/local is 2755 in group staff, as the kernel gives Docker's mkdir.
    /// Checked in the layer's headers and at run time under podman.
    @Test func ownersWithoutAGroupWorkdirsAndSetgidParentsAsDockerMakesThem() throws {
        let setup = try Setup()
        let dir = setup.dir
        try dir.write("files/b.txt", "b\n")
        let owned = try setup.bake(["--overlay", "\(dir("files/b.txt")):/srv/games/", "--owner", "games"], to: "baked:owner")
        let ownedListing = try setup.layerListing(owned)
        #expect(ownedListing.contains("drwxr-xr-x 5/60 srv/games/"), "\(ownedListing)")
        #expect(ownedListing.contains("-rw-r--r-- 5/60 srv/games/b.txt"), "\(ownedListing)")
        let setgid = try setup.bake(["--overlay", "\(dir("files/b.txt")):/var/local/newsub/deeper/"], to: "baked:setgid")
        let setgidListing = try setup.layerListing(setgid)
        #expect(setgidListing.contains("drwxrwsr-x 0/50 var/local/"), "\(setgidListing)")
        #expect(setgidListing.contains("drwxr-sr-x 0/50 var/local/newsub/"), "\(setgidListing)")
        #expect(setgidListing.contains("drwxr-sr-x 0/50 var/local/newsub/deeper/"), "\(setgidListing)")
        #expect(setgidListing.contains("-rw-r--r-- 0/0 var/local/newsub/deeper/b.txt"), "\(setgidListing)")

        // The same through a Dockerfile, built by kiln docker and pushed.
        try dir.write("context/b.txt", "b\n")
        try dir.write("context/Dockerfile", """
            FROM \(setup.base)
            COPY --chown=games b.txt /opt/games/
            COPY b.txt /var/local/newsub/
            USER games
            WORKDIR /home/games/w
            COPY b.txt .

            """)
        try dir.write("kiln.yaml", "registries:\n  \(setup.registry.host):\n    insecure: true\n")
        let environment = ["KILN_CONFIG": dir("kiln.yaml"), "KILN_DOCKER_STORE": dir("store"), "HOME": dir("home"), "DOCKER_CONFIG": dir("docker")]
        let built = try kiln(["docker", "build", "-t", "\(setup.registry.host)/baked:workdir", dir("context")], extraEnvironment: environment)
        #expect(built.status == 0, "\(built.stderr)")
        let pushed = try kiln(["docker", "push", "\(setup.registry.host)/baked:workdir"], extraEnvironment: environment)
        #expect(pushed.status == 0, "\(pushed.stderr)")

        for image in ["baked:owner", "baked:setgid", "baked:workdir"] { try setup.podman.pull("\(setup.registry.host)/\(image)") }
        let owner = try setup.podman.run("\(setup.registry.host)/baked:owner", ["stat", "-c", "%a %U:%G %n", "/srv/games", "/srv/games/b.txt"])
        #expect(owner.stdout == "755 games:games /srv/games\n644 games:games /srv/games/b.txt\n", "\(owner.stderr)")
        let workdir = try setup.podman.run("\(setup.registry.host)/baked:workdir", ["/bin/sh", "-c", """
            set -e
            stat -c '%a %U:%G %n' /opt/games /opt/games/b.txt /var/local/newsub /var/local/newsub/b.txt /home/games /home/games/w /home/games/w/b.txt
            id -un; pwd; echo mine > own && cat own
            """])
        #expect(workdir.status == 0, "\(workdir.stderr)")
        #expect(workdir.stdout == """
            755 games:games /opt/games
            644 games:games /opt/games/b.txt
            2755 root:staff /var/local/newsub
            644 root:root /var/local/newsub/b.txt
            755 games:games /home/games
            755 games:games /home/games/w
            644 root:root /home/games/w/b.txt
            games
            /home/games/w
            mine

            """, "\(workdir.stderr)")
    }

    /// buildah as the referee where it agrees with BuildKit: the same Dockerfile built by buildah
    /// (pulling the same Debian base from the registry) and by kiln docker gives the same type, mode and owner for
    /// `--chown=USER` without a group and for WORKDIR under USER. Below the setgid /var/local
    /// buildah departs from Docker (0755 0:0, no chmod-free MkdirAll); kiln follows Docker there.
    @Test func buildahAgreesWhereItFollowsBuildKit() throws {
        let setup = try Setup()
        let dir = setup.dir
        try dir.write("context/b.txt", "b\n")
        let steps = """
            COPY --chown=games b.txt /opt/games/
            COPY b.txt /var/local/newsub/
            USER games
            WORKDIR /home/games/w
            COPY b.txt .

            """
        try dir.write("context/Dockerfile", "FROM \(setup.base)\n" + steps)
        let environment = ["KILN_DOCKER_STORE": dir("store"), "HOME": dir("home"), "DOCKER_CONFIG": dir("docker")]
        let built = try kiln(["docker", "build", "-t", "kiln-built", dir("context")], extraEnvironment: environment)
        #expect(built.status == 0, "\(built.stderr)")
        let blobs = try FileManager.default.contentsOfDirectory(atPath: dir("store/blobs/sha256")).map { dir("store/blobs/sha256/\($0)") }
        let kilnLayer = try #require(try blobs.first { try Data(contentsOf: URL(fileURLWithPath: $0)).prefix(2) == Data([0x1f, 0x8b]) })

        try dir.write("buildah/storage.conf", "[storage]\ndriver = \"vfs\"\ngraphroot = \"\(dir("buildah/graph"))\"\nrunroot = \"\(dir("buildah/run"))\"\n")
        var buildahEnvironment = ProcessInfo.processInfo.environment
        buildahEnvironment["CONTAINERS_STORAGE_CONF"] = dir("buildah/storage.conf")
        let bud = try run("buildah", ["bud", "--isolation", "chroot", "--tls-verify=false", "-t", "buildah-built", dir("context")], environment: buildahEnvironment)
        try #require(bud.status == 0, "\(bud.stderr)")
        _ = try runChecked("buildah", ["push", "buildah-built", "oci:\(dir("buildah-out")):built"], environment: buildahEnvironment)
        defer { _ = try? run("buildah", ["rmi", "--all", "--force"], environment: buildahEnvironment) }
        let layout = LayoutReader(dir("buildah-out"))
        let manifest = try layout.json(try #require(try layout.entry(tag: "built")["digest"] as? String))
        let buildahLayer = try #require(((manifest["layers"] as? [[String: Any]])?.last?["digest"] as? String).map { dir("buildah-out/blobs/sha256/\($0.dropFirst("sha256:".count))") })

        /// `MODE UID/GID` per path, names without `./` and a trailing `/`.
        func listing(_ blob: String) throws -> [String: String] {
            var entries: [String: String] = [:]
            for line in try runChecked("tar", ["--numeric-owner", "-tvf", blob]).stdout.split(separator: "\n") {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                var name = String(fields.last!)
                if name.hasPrefix("./") { name.removeFirst(2) }
                if name.hasSuffix("/") { name.removeLast() }
                entries[name] = "\(fields[0]) \(fields[1])"
            }
            return entries
        }
        let (kilnEntries, buildahEntries) = (try listing(kilnLayer), try listing(buildahLayer))
        for path in ["opt/games", "opt/games/b.txt", "home/games", "home/games/w", "home/games/w/b.txt", "var/local/newsub/b.txt"] {
            #expect(kilnEntries[path] != nil && kilnEntries[path] == buildahEntries[path], "\(path): kiln \(kilnEntries[path] ?? "-"), buildah \(buildahEntries[path] ?? "-")")
        }
        #expect(kilnEntries["home/games/w"] == "drwxr-xr-x 5/60")
        #expect(kilnEntries["var/local/newsub"] == "drwxr-sr-x 0/50", "Docker's mkdir below a setgid directory")
        #expect(buildahEntries["var/local/newsub"] == "drwxr-xr-x 0/0", "buildah's departure, documented in docs/internals.md")
    }
}
