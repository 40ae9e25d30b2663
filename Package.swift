// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

// The engine's vector kernels are compiled for AVX2 + FMA (x86-64-v3: Intel Haswell, AMD Zen and
// later); without it Swift's SIMD types fall back to SSE2 and FMA becomes a library call.
#if arch(x86_64)
let engine: [SwiftSetting] = strict + [.unsafeFlags(["-Xcc", "-march=x86-64-v3"])]
#else
let engine: [SwiftSetting] = strict
#endif

let package = Package(
    name: "mlcommons-swift",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "mlcommons", targets: ["mlcommons"]),
        .library(name: "Inference", targets: ["Inference"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        // 4.x: its `CryptoExtras` product (PBKDF2 for the Security module) is `_CryptoExtras` in 3.x.
        .package(url: "https://github.com/apple/swift-crypto.git", "4.0.0"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.20.0"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.10.0"),
        // PostgreSQL wire protocol for the shared document store (issue 14): NIO-based like the rest of the
        // server, binds every value as a parameter, and pools connections itself.
        .package(url: "https://github.com/vapor/postgres-nio.git", "1.33.0"..<"1.34.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation.git", from: "0.9.19"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.0.0"),
        // Hummingbird's own lifecycle package: the server's stop is sequenced as a service group.
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.0.0"),
    ],
    targets: [
        // Ordered JSON values with a positional parser: the wire format of every module.
        .target(name: "OrderedJSON", swiftSettings: strict),
        // Document store: the protocol, the search DSL and the embedded SQLite implementation.
        .target(name: "Storage", dependencies: [
            "OrderedJSON",
            .product(name: "SQLiteNIO", package: "sqlite-nio"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),
        // OpenBLAS (Debian `libopenblas-dev`) for matrix products.
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        // A cache-prefetch hint for the engine's kernels.
        .target(name: "CPrefetch"),
        // bf16 and int8 matrix products with intrinsics, compiled for baseline x86-64: each vector path
        // carries its own `target` attribute and is chosen at run time from the CPU's features.
        .target(name: "CKernels", linkerSettings: [.linkedLibrary("m", .when(platforms: [.linux]))]),
        // Native inference engine (tokenizers, model readers, kernels). Depends on nothing above it.
        .target(name: "Inference", dependencies: [
            "OrderedJSON", "COpenBLAS", "CPrefetch", "CKernels",
            .product(name: "ZIPFoundation", package: "ZIPFoundation"),
        ], swiftSettings: engine),
        // Users, roles, API keys, password hashing and permission rules: pure decisions over the store.
        .target(name: "Security", dependencies: [
            "OrderedJSON", "Storage",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "CryptoExtras", package: "swift-crypto"),
        ], swiftSettings: strict),
        // Remote models behind HTTP connectors.
        .target(name: "Connectors", dependencies: [
            "OrderedJSON",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),
        // The domain: groups, models, tasks, settings, registration and deployment.
        .target(name: "MLCommonsCore", dependencies: [
            "OrderedJSON", "Storage", "Inference", "Connectors", "Security",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "ZIPFoundation", package: "ZIPFoundation"),
        ], swiftSettings: strict),
        // HTTP routes, request decoding, OpenSearch-style errors.
        .target(name: "MLCommonsServer", dependencies: [
            "OrderedJSON", "MLCommonsCore", "Storage", "Security",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ], swiftSettings: strict),
        .executableTarget(name: "mlcommons", dependencies: [
            "MLCommonsServer", "MLCommonsCore", "Inference", "OrderedJSON", "Security", "Storage",
            .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),
        .testTarget(name: "CoreTests", dependencies: [
            "MLCommonsCore", "Storage", "OrderedJSON", "Inference", "Security",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),
        // Helpers shared by the test targets (finding the real model files PyPI packages ship).
        .target(name: "TestSupport", path: "Tests/TestSupport", swiftSettings: strict),
        .testTarget(name: "InferenceTests", dependencies: [
            "Inference", "OrderedJSON", "TestSupport", .product(name: "ZIPFoundation", package: "ZIPFoundation"),
        ],
                    resources: [.copy("Fixtures")], swiftSettings: strict),
        // Fake model providers (OpenAI, Cohere, Bedrock shapes) on loopback, and botocore's SigV4.
        .target(name: "ProviderFakes", dependencies: [
            "OrderedJSON",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ], path: "Tests/ProviderFakes", swiftSettings: strict),
        .testTarget(name: "ConnectorsTests", dependencies: [
            "Connectors", "OrderedJSON", "ProviderFakes",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),
        .testTarget(name: "SecurityTests", dependencies: [
            "Security", "Storage", "OrderedJSON", .product(name: "Logging", package: "swift-log"),
        ],
                    swiftSettings: strict),
        // The store suites run against SQLite and a real PostgreSQL (TestSupport starts it).
        .testTarget(name: "StorageTests", dependencies: ["Storage", "OrderedJSON", "TestSupport",
                                                         .product(name: "Logging", package: "swift-log"),
                                                         .product(name: "SQLiteNIO", package: "sqlite-nio")], swiftSettings: strict),
        .testTarget(name: "ServerTests", dependencies: [
            "mlcommons", "MLCommonsServer", "MLCommonsCore", "OrderedJSON", "TestSupport", "ProviderFakes", "Security",
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "ZIPFoundation", package: "ZIPFoundation"),
        ], swiftSettings: strict),
    ]
)
