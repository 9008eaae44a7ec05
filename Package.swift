// swift-tools-version:6.0
import PackageDescription

/// A system library found by pkg-config, installed from Debian by `Scripts/setup.sh`.
func systemLibrary(_ name: String, pkgConfig: String, apt: [String]) -> Target {
    .systemLibrary(name: name, path: "Sources/\(name)", pkgConfig: pkgConfig, providers: [.apt(apt)])
}

/// Members only from the modules a file imports: without this, the extensions of a module that only a
/// dependency imports (Foundation's `String.contains`, `range(of:)` …) can be picked over the standard
/// library's and FoundationEssentials', which links ICU (37 MB) into the release binary.
let ownImportsOnly: [SwiftSetting] = [.enableUpcomingFeature("MemberImportVisibility")]

let package = Package(
    name: "s3transcode",
    // Linux only (Debian 12 and alike): the system libraries come from apt, and nothing builds or
    // tests on macOS, where Synchronization's Mutex and Atomic would also need macOS 15.
    products: [
        .executable(name: "s3transcode", targets: ["s3transcode"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
    ],
    targets: [
        // Thin C layers: headers, typed wrappers for variadic or macro-only APIs, no logic.
        systemLibrary("CAVUtil", pkgConfig: "libavutil", apt: ["libavutil-dev"]),
        systemLibrary("CAVCodec", pkgConfig: "libavcodec", apt: ["libavcodec-dev", "libmp3lame-dev"]),
        systemLibrary("CAVFormat", pkgConfig: "libavformat", apt: ["libavformat-dev"]),
        systemLibrary("CSwResample", pkgConfig: "libswresample", apt: ["libswresample-dev"]),
        systemLibrary("CCurl", pkgConfig: "libcurl", apt: ["libcurl4-openssl-dev"]),
        systemLibrary("CZlib", pkgConfig: "zlib", apt: ["zlib1g-dev"]),
        systemLibrary("CExpat", pkgConfig: "expat", apt: ["libexpat1-dev"]),
        // SHA-256, MD5 and HMAC from the OpenSSL that curl links for TLS: one crypto library.
        systemLibrary("COpenSSL", pkgConfig: "libcrypto", apt: ["libssl-dev"]),

        // Decode anything libavformat reads, resample, encode MP3, mux into an output sink.
        .target(name: "Basics", swiftSettings: ownImportsOnly),
        .target(name: "AudioTranscode", dependencies: ["CAVUtil", "CAVCodec", "CAVFormat", "CSwResample", "Threads"]),
        // AWS Signature Version 4: canonical request, string to sign, signing key, presigning; the
        // package's digests (MessageDigest: SHA-256, MD5, HMAC).
        .target(name: "SigV4", dependencies: ["Basics", "COpenSSL"], swiftSettings: ownImportsOnly),
        // Dedicated OS threads and a condition variable on pthreads (Foundation's, without Foundation).
        .target(name: "Threads"),
        // HTTP on libcurl: blocking transfers on dedicated threads, connection reuse.
        // SigV4 for `Redact`, the one owner of what a logged URL may show.
        .target(name: "HTTPClient", dependencies: ["Basics", "CCurl", "SigV4"]),
        // Credentials chain, region and endpoint resolution, as the AWS SDKs do it.
        .target(name: "AWSConfig", dependencies: ["Basics", "SigV4", "HTTPClient"], swiftSettings: ownImportsOnly),
        // The S3 client, its errors and retries, and the streaming multipart uploader.
        .target(
            name: "S3",
            dependencies: ["Basics", "SigV4", "HTTPClient", "CZlib", "CExpat", "Threads"], swiftSettings: ownImportsOnly
        ),
        // The command line: transcode, batch, probe, cleanup, presign.
        .target(
            name: "S3TranscodeCommands",
            dependencies: [
                "AudioTranscode", "Basics", "S3", "AWSConfig", "SigV4", "HTTPClient", "Threads",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ], swiftSettings: ownImportsOnly),
        .executableTarget(name: "s3transcode", dependencies: ["S3TranscodeCommands"]),

        // Tests. Unit tests, local-server (moto) integration tests, command tests against the servers
        // and fault/signal tests are separate targets, so each runs on its own
        // (`swift test --filter CommandsFaultTests`).
        // fault-proxy.py: the fault-injecting HTTP proxy that Tests/CommandsFaultTests start;
        // store-proxy.py: the S3-compatible store personalities of StorePersonalityTests.
        // What the test targets share: the S3 test servers, the binary's runner and its fixtures, the proxies.
        .target(
            name: "TestSupport", dependencies: ["Basics", "S3", "HTTPClient", "SigV4"], path: "Tests/TestSupport",
            exclude: ["fault-proxy.py", "store-proxy.py"]),
        .testTarget(name: "AudioTranscodeTests", dependencies: ["AudioTranscode", "TestSupport"]),
        .testTarget(name: "BasicsTests", dependencies: ["Basics"]),
        .testTarget(name: "SigV4Tests", dependencies: ["Basics", "SigV4"]),
        // botocore-oracle.py: botocore's answers, the expected values of BotocoreParityTests.
        .testTarget(
            name: "AWSConfigTests",
            dependencies: ["AWSConfig", "Basics", "HTTPClient", "S3", "S3TranscodeCommands", "TestSupport"],
            exclude: ["botocore-oracle.py"]),
        .testTarget(name: "S3Tests", dependencies: ["Basics", "S3", "HTTPClient", "SigV4", "Threads", "TestSupport"]),
        .testTarget(
            name: "S3IntegrationTests",
            dependencies: ["S3", "AWSConfig", "Basics", "HTTPClient", "S3TranscodeCommands", "SigV4", "TestSupport"]),
        // The command layer without a server or the binary: parsing, plans, exit codes, help text.
        .testTarget(
            name: "CommandsUnitTests",
            dependencies: [
                "S3TranscodeCommands", "AudioTranscode", "Basics", "S3", "AWSConfig", "HTTPClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        // The binary under injected faults, signals and strace (each test starts its own proxies).
        .testTarget(name: "CommandsFaultTests", dependencies: ["Basics", "S3", "HTTPClient", "SigV4", "TestSupport"]),
        .testTarget(
            name: "CommandsTests",
            dependencies: [
                "S3TranscodeCommands", "AudioTranscode", "Basics", "S3", "HTTPClient", "SigV4", "TestSupport",
            ]),
    ],
    swiftLanguageModes: [.v6]
)
