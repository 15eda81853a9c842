// swift-tools-version:6.0
import PackageDescription

// Dependencies point one way:
//   KilnPlatform (Glibc or Darwin, the one platform shim), CArchive, COpenSSL (C bridges)
//   CSecretScan                      C bridge: vectorised byte classification for KilnSecrets (SSE2, NEON, plain C)
//   KilnCrypto  -> COpenSSL          SHA-256 (and later HMAC) through OpenSSL EVP
//   OCI         -> KilnCrypto        pure image model: digests, descriptors, manifests, JSON
//   KilnSecrets -> KilnCrypto, CSecretScan   secret rules over bytes and config values (no NIO: fuzzed)
//   KilnLayer   -> OCI, CArchive     overlay tree -> deterministic tar (+gzip/zstd)
//                                    and RootedPath, kiln's one link-following walk (KilnDockerfile's context, KilnStore's archives use it too)
//   KilnStore   -> OCI, KilnLayer    image sources/destinations, references, the OCI layout, image archives
//                                    (read and written through KilnLayer's libarchive tar reader and writer: one bridge)
//                                    also AuthChallenge, the registry's WWW-Authenticate parser: pure text, kept here
//                                    so the fuzz build stays NIO-free (KilnRegistry links AsyncHTTPClient)
//   KilnRecipe  -> KilnStore         what a bake is asked to do: config edits (ConfigEditError), platforms, locked base documents
//   KilnDockerfile -> KilnRecipe, KilnLayer   the Dockerfile subset: parser, variable expansion, .dockerignore, evaluation (no NIO: fuzzed)
//   KilnRegistry -> KilnStore        the registry over HTTP (AsyncHTTPClient): auth, retries, streaming
//   KilnAWS     -> KilnRegistry      ECR on top: SigV4, AWS credential chain, ECR API
//   KilnBake    -> KilnRegistry, KilnLayer, KilnRecipe, KilnSecrets   one ImageSession per run; resolve base -> scan -> build layer -> mutate -> write
//                                    (knows no ECR: the destination preparation step comes from KilnAWS via the CLI)
//   KilnSpec    -> KilnRecipe, KilnLayer   images/*.yaml and kiln.lock (no NIO: fuzzed)
//   KilnProject -> KilnSpec, KilnBake      lock, plan, build, verify
//   KilnDocker  -> KilnBake, KilnDockerfile   `kiln docker`: the Docker CLI subset the AWS CDK runs
//   kiln        -> KilnBake          thin CLI on swift-argument-parser
let package = Package(
    name: "kiln",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "kiln", targets: ["kiln"]),
        .library(name: "KilnBake", targets: ["KilnBake"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CArchive",
            pkgConfig: "libarchive",
            providers: [.apt(["libarchive-dev"])]
        ),
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        // Byte classification for the secret scanner: SSE2, NEON or plain C, the same marks.
        .target(name: "CSecretScan"),
        // The one platform shim: re-exports Glibc or Darwin; nothing else names either.
        .target(name: "KilnPlatform"),
        .target(name: "KilnCrypto", dependencies: ["COpenSSL"]),
        .target(name: "OCI", dependencies: ["KilnCrypto", "KilnPlatform"]),
        .target(name: "KilnLayer", dependencies: ["OCI", "KilnCrypto", "CArchive", "KilnPlatform"]),
        .target(name: "KilnStore", dependencies: ["OCI", "KilnCrypto", "KilnLayer", "KilnPlatform"]),
        // Finds secrets in what a bake adds (files, Env, Labels), fed as the layer's hashing
        // pass reads it. No transport, no regular expressions (fuzzed).
        .target(name: "KilnSecrets", dependencies: ["KilnCrypto", "KilnPlatform", "CSecretScan"]),
        // What a bake is asked to do, with no transport: config edits, platforms, a base's
        // locked documents. Specs and the lock parse into these without NIO (fast fuzz builds).
        .target(name: "KilnRecipe", dependencies: ["OCI", "KilnStore", "KilnLayer"]),
        // The Dockerfile subset that only adds files and edits the config: parsed and evaluated
        // into overlays and config edits for the bake. No transport (fuzzed).
        .target(name: "KilnDockerfile", dependencies: ["OCI", "KilnRecipe", "KilnLayer"]),
        .target(
            name: "KilnRegistry",
            dependencies: [
                "OCI", "KilnStore", "KilnCrypto", "KilnPlatform",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // ECR on top of the registry transport: SigV4, the AWS credential chain, ECR's API.
        .target(
            name: "KilnAWS",
            dependencies: [
                "KilnCrypto", "KilnRegistry", "KilnStore", "OCI",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ]
        ),
        .target(
            name: "KilnBake",
            dependencies: [
                "OCI", "KilnLayer", "KilnStore", "KilnRecipe", "KilnRegistry", "KilnPlatform", "KilnSecrets",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // images/NAME.yaml specs and kiln.lock: the declarative files.
        .target(
            name: "KilnSpec",
            dependencies: ["KilnRecipe", "KilnLayer", "KilnStore", "KilnDockerfile", "KilnSecrets", "OCI", .product(name: "Yams", package: "Yams")]
        ),
        // The spec-driven commands: lock, plan, build, verify.
        .target(
            name: "KilnProject",
            dependencies: ["KilnSpec", "KilnDockerfile", "KilnRecipe", "KilnBake", "KilnLayer", "KilnRegistry", "KilnStore", "KilnSecrets", "OCI"]
        ),
        .target(
            name: "KilnDocker",
            dependencies: ["KilnBake", "KilnDockerfile", "KilnRecipe", "KilnLayer", "KilnRegistry", "KilnStore", "KilnPlatform", "KilnSecrets", "OCI"]
        ),
        .executableTarget(
            name: "kiln",
            dependencies: [
                "KilnBake", "KilnRecipe", "KilnAWS", "KilnProject", "KilnSpec", "KilnStore", "KilnLayer", "KilnRegistry", "KilnDocker", "KilnSecrets", "OCI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Fuzz entry points for the parsers of untrusted text (scripts/fuzz.sh). Built plainly
        // it replays a corpus; with -sanitize=fuzzer -DFUZZING it is a libFuzzer binary.
        .target(name: "CFuzzDriver", path: "Fuzz/CDriver"),
        .executableTarget(
            name: "kiln-fuzz",
            dependencies: ["OCI", "KilnStore", "KilnLayer", "KilnSpec", "KilnDockerfile", "KilnSecrets", "CFuzzDriver"],
            path: "Fuzz/Sources"
        ),
        // The secret scanner alone on one core (Benchmarks/secret-scan-alone.sh).
        .executableTarget(name: "kiln-secret-scan-bench", dependencies: ["KilnSecrets", "KilnPlatform"], path: "Benchmarks/SecretScanBench"),
        // Helpers shared by the test targets: temp dirs, running peers, peer-built base images.
        .target(name: "KilnTestSupport", dependencies: ["OCI", "KilnCrypto"], path: "Tests/KilnTestSupport"),
        .testTarget(name: "OCITests", dependencies: ["OCI", "KilnCrypto"]),
        .testTarget(name: "KilnStoreTests", dependencies: ["KilnStore", "OCI", "KilnTestSupport"]),
        .testTarget(
            name: "KilnRegistryTests",
            dependencies: [
                "KilnRegistry", "KilnStore", "OCI",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "KilnSpecTests", dependencies: ["KilnSpec", "KilnRecipe", "KilnLayer", "KilnStore", "OCI", "KilnTestSupport"]),
        .testTarget(name: "KilnProjectTests", dependencies: ["KilnProject", "KilnTestSupport", "OCI", "kiln"]),
        .testTarget(name: "KilnDockerTests", dependencies: ["KilnDocker", "KilnStore", "OCI", "KilnTestSupport", "kiln"]),
        .testTarget(name: "KilnAWSTests", dependencies: ["KilnAWS", "KilnCrypto", "KilnTestSupport"]),
        .testTarget(name: "KilnDockerfileTests", dependencies: ["KilnDockerfile", "KilnRecipe", "KilnLayer", "OCI", "KilnTestSupport"]),
        .testTarget(name: "KilnLayerTests", dependencies: ["KilnLayer", "OCI", "KilnTestSupport"]),
        .testTarget(name: "KilnSecretsTests", dependencies: ["KilnSecrets", "KilnCrypto", "KilnTestSupport", "CSecretScan"]),
        .testTarget(
            name: "KilnBakeTests",
            dependencies: ["KilnBake", "KilnRecipe", "KilnStore", "KilnSecrets", "OCI", "KilnTestSupport", "kiln"]
        ),
    ]
)
