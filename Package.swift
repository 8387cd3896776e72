// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "copilot",
    products: [
        .executable(name: "copilot", targets: ["copilot"]),
        .library(name: "CopilotCore", targets: ["CopilotCore"]),
        .library(name: "CopilotReference", targets: ["CopilotReference"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        // The gateway (CopilotGateway) only; CopilotCore and its tests build without them.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
    ],
    targets: [
        // C libraries from Debian's -dev packages, one system library target each.
        .systemLibrary(
            name: "CSndFile", pkgConfig: "sndfile",
            providers: [.apt(["libsndfile1-dev"])]),
        // MP3 is decoded with libmpg123 directly (quiet), not through libsndfile, which lets
        // libmpg123 print to the process's stderr.
        .systemLibrary(
            name: "CMPG123", pkgConfig: "libmpg123",
            providers: [.apt(["libmpg123-dev"])]),
        .systemLibrary(
            name: "CSampleRate", pkgConfig: "samplerate",
            providers: [.apt(["libsamplerate0-dev"])]),
        .systemLibrary(
            name: "CALSA", pkgConfig: "alsa",
            providers: [.apt(["libasound2-dev"])]),
        .systemLibrary(
            name: "COpenBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(
            name: "CSQLite", pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(
            name: "CHiredis", pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(
            name: "CZstd", pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(
            name: "CLZ4", pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(
            name: "CXXHash", pkgConfig: "libxxhash",
            providers: [.apt(["libxxhash-dev"])]),
        .systemLibrary(
            name: "CCrypto", pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]),
        // copilot's own C: the float16 logits kernel, compiled for AVX2/F16C by function
        // attribute and chosen at run time (Swift cannot target those per function).
        .target(name: "CHalfKernels"),

        .target(
            name: "CopilotCore",
            dependencies: [
                "CSndFile", "CMPG123", "CSampleRate", "CALSA", "COpenBLAS", "CZlib", "CHalfKernels",
                "CSQLite", "CHiredis", "CZstd", "CLZ4", "CCrypto", "CXXHash",
                .product(name: "TOMLKit", package: "TOMLKit"),
            ]),
        .target(
            name: "CopilotReference",
            dependencies: ["CopilotCore"]),
        // `copilot route serve`: the HTTP server and the upstream client around CopilotCore's
        // router (the router itself does no I/O).
        .target(
            name: "CopilotGateway",
            dependencies: [
                "CopilotCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
            ]),
        // `copilot bench`'s suites: every component's optimized code against its reference.
        .target(
            name: "CopilotBench",
            dependencies: ["CopilotCore", "CopilotReference"]),
        .executableTarget(
            name: "copilot",
            dependencies: [
                "CopilotCore", "CopilotReference", "CopilotGateway", "CopilotBench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            // The release binary links the Swift runtime and Foundation statically (the Makefile
            // passes --static-swift-stdlib) with lld's packed relative relocations: no symbol
            // binding across a dozen shared libraries at start-up and a 130 k-entry relocation
            // table read as a few kilobytes of bitmaps. An idle `route serve` is 37 MB resident
            // instead of 43, and runtime calls (retain, release) skip the PLT.
            linkerSettings: [
                .unsafeFlags(
                    ["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"],
                    .when(platforms: [.linux], configuration: .release)),
            ]),
        .target(
            name: "CopilotTestSupport",
            path: "Tests/CopilotTestSupport"),
        .testTarget(
            name: "CopilotCoreTests",
            dependencies: ["CopilotCore", "CopilotReference", "CopilotTestSupport"]),
        .testTarget(
            name: "CopilotGatewayTests",
            dependencies: [
                "CopilotGateway", "CopilotCore", "CopilotTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
            ]),
        .testTarget(
            name: "CLITests",
            dependencies: ["CopilotCore", "CopilotTestSupport"]),
    ]
)
