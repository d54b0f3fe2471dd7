// swift-tools-version:6.0
// RMB for Swift: a wire-compatible implementation of the Reliable Message Bus.
//
// Dependencies point one way:
//   C libraries (system targets)  →  RMBCrypto (one small wrapper per C library + sr25519)
//   →  RMBProtocol (wire types)   →  RMBIdentity (keys, signing, e2e, JWT)
//   →  TwinDirectory              →  (Store, Redundancy)  →  RMBEngine  →  (RMBPeer, RMBDirectPeer)
//   →  thin executables; RMBRelay beside them
import PackageDescription

let package = Package(
    name: "rmb-swift",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "rmb", targets: ["rmb"]),
        .executable(name: "rmb-peer", targets: ["rmb-peer"]),
        .library(name: "RMBProtocol", targets: ["RMBProtocol"]),
        .library(name: "RMBIdentity", targets: ["RMBIdentity"]),
        .library(name: "TwinDirectory", targets: ["TwinDirectory"]),
        .library(name: "RMBRelay", targets: ["RMBRelay"]),
        .library(name: "RMBClient", targets: ["RMBClient"]),
        .library(name: "RMBDirectPeer", targets: ["RMBDirectPeer"]),
        .library(name: "RMBTesting", targets: ["RMBTesting"]),
        .executable(name: "rmb-relay", targets: ["rmb-relay"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        // Relay: HTTP + WebSocket server, federation client, metrics, lifecycle.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        // WebSocketTransport uses its WebSocketHandler through an SPI: pinned to a minor version.
        .package(url: "https://github.com/hummingbird-project/swift-websocket", .upToNextMinor(from: "1.6.2")),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        // Tests only: a private certificate authority made in process (TLS tests).
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
    ],
    targets: [
        // MARK: C libraries (Debian: libsodium-dev libsecp256k1-dev libssl-dev liblmdb-dev libhiredis-dev)
        .systemLibrary(name: "CSodium", pkgConfig: "libsodium", providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(name: "CSecp256k1", pkgConfig: "libsecp256k1", providers: [.apt(["libsecp256k1-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CLMDB", pkgConfig: "lmdb", providers: [.apt(["liblmdb-dev"])]),
        .systemLibrary(name: "CHiredis", providers: [.apt(["libhiredis-dev"])]),

        // MARK: Bottom layer: cryptographic primitives
        .target(name: "RMBCrypto", dependencies: ["CSodium", "CSecp256k1", "COpenSSL"]),

        // MARK: Storage and Redis access (one small wrapper per C library)
        .target(name: "LMDB", dependencies: ["CLMDB"]),
        .target(
            name: "RedisClient",
            dependencies: [
                "CHiredis",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),

        // MARK: Wire protocol and identity
        .target(
            name: "RMBProtocol",
            dependencies: ["RMBCrypto", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            exclude: ["Generated/README.md"]
        ),
        .target(name: "RMBIdentity", dependencies: ["RMBCrypto", "RMBProtocol"]),
        .target(
            name: "Store",
            dependencies: ["LMDB", "RMBCrypto", "RMBProtocol", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "TwinDirectory",
            dependencies: [
                "RMBIdentity",
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // MARK: TLS settings shared by every client connection (trust roots, close)
        .target(
            name: "TLSSupport",
            dependencies: [
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ]
        ),
        // Client WebSockets (relay sessions, tfchain), IP-address hosts over TLS included.
        .target(
            name: "WebSocketTransport",
            dependencies: [
                "TLSSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "WSClient", package: "swift-websocket"),
                .product(name: "WSCore", package: "swift-websocket"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),

        // MARK: tfchain (Substrate) access: SCALE, metadata, extrinsics; JSON-RPC; twin records
        .target(name: "Substrate", dependencies: ["RMBCrypto"]),
        .target(
            name: "SubstrateRPC",
            dependencies: [
                "TLSSupport", "WebSocketTransport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .target(
            name: "TFChain",
            dependencies: [
                "Substrate", "SubstrateRPC", "RMBProtocol", "RMBIdentity", "TwinDirectory", "ProcessLifecycle",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // MARK: Applications
        // The call and serve API every front-end shares (RMBCaller, RMBRouter, middleware, call
        // errors): no transport in it. RMBClient and RMBDirectPeer re-export it.
        .target(
            name: "RMBCalls",
            dependencies: ["RMBProtocol", "ProcessLifecycle", .product(name: "Logging", package: "swift-log")]
        ),
        // Call and serve through a running rmb-peer (Redis JSON API).
        .target(
            name: "RMBClient",
            dependencies: [
                "RMBCalls", "RMBProtocol", "RedisClient", "ProcessLifecycle",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // Examples (built with everything else, so CI keeps them compiling).
        .executableTarget(name: "rmb-example-caller", dependencies: ["RMBClient"], path: "Examples/Caller"),
        .executableTarget(
            name: "rmb-example-service",
            dependencies: ["RMBClient", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")],
            path: "Examples/Service"
        ),
        .executableTarget(
            name: "rmb-example-direct-peer",
            dependencies: ["RMBDirectPeer", "RMBIdentity", "TwinDirectory",
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")],
            path: "Examples/DirectPeer"
        ),

        // MARK: Peer
        .target(
            name: "Redundancy",
            dependencies: [
                "RMBProtocol", "TwinDirectory", "TLSSupport", "WebSocketTransport", "ProcessLifecycle",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // The one peer engine (relay sessions, store, postman, downstream, resender): no Redis,
        // no CLI, no HTTP server. rmb-peer and RMBDirectPeer are its two front-ends.
        .target(
            name: "RMBEngine",
            dependencies: [
                "RMBProtocol", "RMBIdentity", "TwinDirectory", "Redundancy", "Store", "ProcessLifecycle",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // rmb-peer: the engine's Redis front-end (JSON API), its CLI and metrics endpoint.
        .target(
            name: "RMBPeer",
            dependencies: [
                "RMBEngine", "RMBProtocol", "RMBIdentity", "TwinDirectory", "TFChain", "Redundancy", "RedisClient", "Store", "TLSSupport",
                "ProcessLifecycle",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ]
        ),
        // The peer engine in process, with RMBClient's call and router API: no rmb-peer, no Redis.
        .target(
            name: "RMBDirectPeer",
            dependencies: [
                "RMBEngine", "RMBCalls", "RMBProtocol", "RMBIdentity", "TwinDirectory", "Redundancy", "Store",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // An RMB network in one process for testing handlers and calls (relay, directory, twins).
        .target(
            name: "RMBTesting",
            dependencies: [
                "LocalProcesses", "RMBDirectPeer", "RMBCalls", "RMBIdentity", "RMBRelay", "TwinDirectory",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "rmb-peer", dependencies: [
            "RMBPeer", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
        ]),

        // MARK: Tools
        .target(
            name: "RMBCLI",
            dependencies: [
                "RMBCrypto", "RMBProtocol", "RMBIdentity", "TwinDirectory", "TFChain", "Store", "RedisClient", "RMBClient", "RMBDirectPeer", "TLSSupport",
                "LocalProcesses",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .executableTarget(name: "rmb", dependencies: [
            "RMBCLI", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
        ]),

        // MARK: Relay
        // One process' start and stop, shared by rmb-relay and rmb-peer.
        .target(
            name: "ProcessLifecycle",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "RMBRelay",
            dependencies: [
                "RMBProtocol", "RMBIdentity", "TwinDirectory", "TFChain", "RedisClient", "TLSSupport", "ProcessLifecycle",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "rmb-relay", dependencies: ["RMBRelay", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")]),

        // MARK: Tests
        // Child processes for tests (a clean signal state) and a throwaway redis-server: the test
        // support's and RMBTesting's.
        .target(name: "LocalProcesses"),
        .target(
            name: "RMBTestSupport",
            dependencies: [
                "LocalProcesses",
                "Store",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            path: "Tests/RMBTestSupport"
        ),
        .testTarget(name: "RMBTestSupportTests", dependencies: ["RMBTestSupport"]),
        .testTarget(name: "RMBCryptoTests", dependencies: ["RMBCrypto", "RMBTestSupport"]),
        .testTarget(name: "LMDBTests", dependencies: ["LMDB", "RMBTestSupport"]),
        .testTarget(name: "RedisClientTests", dependencies: ["RedisClient", "RMBTestSupport"]),
        .testTarget(name: "RMBProtocolTests", dependencies: ["RMBProtocol", "RMBTestSupport"]),
        .testTarget(name: "RMBIdentityTests", dependencies: ["RMBIdentity", "RMBProtocol", "RMBCrypto", "RMBTestSupport"]),
        .testTarget(name: "TwinDirectoryTests", dependencies: ["TwinDirectory", "RMBTestSupport"]),
        .target(
            name: "SubstrateTestSupport",
            dependencies: [
                "RMBTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            path: "Tests/SubstrateTestSupport"
        ),
        .testTarget(name: "SubstrateTests", dependencies: ["Substrate", "RMBCrypto", "RMBTestSupport"]),
        .testTarget(name: "SubstrateRPCTests", dependencies: ["SubstrateRPC", "SubstrateTestSupport", "RMBTestSupport", "TLSSupport"]),
        .testTarget(
            name: "TFChainTests",
            dependencies: [
                "TFChain", "Substrate", "SubstrateRPC", "SubstrateTestSupport", "RMBTestSupport", "RMBCrypto", "RMBProtocol",
                "RMBIdentity", "TwinDirectory",
            ]
        ),
        .testTarget(name: "StoreTests", dependencies: ["Store", "LMDB", "RMBTestSupport"]),
        .testTarget(name: "RMBCLITests", dependencies: ["RMBCLI", "RMBProtocol", "RedisClient", "RMBTestSupport", "SubstrateTestSupport", "TFChain", "RMBIdentity", "TwinDirectory"]),
        .testTarget(name: "RMBClientTests", dependencies: ["RMBClient", "RMBProtocol", "RedisClient", "RMBTestSupport"]),
        .testTarget(
            name: "RMBDirectPeerTests",
            dependencies: ["RMBDirectPeer", "RMBClient", "RMBIdentity", "TwinDirectory", "RMBTesting", "RMBTestSupport",
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]
        ),
        .testTarget(
            name: "RMBPeerTests",
            dependencies: [
                "RMBPeer", "RMBEngine", "RMBTestSupport", "SubstrateTestSupport", "ProcessLifecycle",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            ]
        ),
        .testTarget(
            name: "RMBRelayTests",
            dependencies: [
                "RMBRelay", "RMBProtocol", "RMBIdentity", "RedisClient", "RMBTestSupport", "SubstrateTestSupport", "SubstrateRPC", "TFChain",
                "LocalProcesses", "ProcessLifecycle",
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
    ]
)
