// swift-tools-version: 6.2
import PackageDescription

let package = Package(
    name: "ensemble",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "ensemble", targets: ["Ensemble"]),
        .executable(name: "ensemble-profile", targets: ["ProfileService"]),
        .executable(name: "ensemble-inventory", targets: ["InventoryService"]),
        .executable(name: "ensemble-payment", targets: ["PaymentService"]),
        .executable(name: "ensemble-shipping", targets: ["ShippingService"]),
        .executable(name: "ensemble-orchestrator", targets: ["OrchestratorService"]),
        .executable(name: "ensemble-aggregator", targets: ["AggregatorService"]),
        .library(name: "Kafka", targets: ["Kafka"]),
        .library(name: "Messaging", targets: ["Messaging"]),
        .library(name: "Contracts", targets: ["Contracts"]),
        .library(name: "ServiceKit", targets: ["ServiceKit"]),
        .library(name: "Storage", targets: ["Storage"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.20.0"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.10.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.1.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/swift-otel/swift-w3c-trace-context", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.1.0"),
        // OTLP over HTTP only: the gRPC exporter would add gRPC to every build.
        .package(url: "https://github.com/swift-otel/swift-otel", from: "1.6.0", traits: ["OTLPHTTP"]),
        .package(url: "https://github.com/vapor/sql-kit", from: "3.30.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
        .package(url: "https://github.com/vapor/sqlite-kit", from: "4.5.0"),
        .package(url: "https://github.com/vapor/postgres-kit", from: "2.13.0"),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.7.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CRdKafka",
            path: "Shared/CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"]), .brew(["librdkafka"])]
        ),
        .systemLibrary(
            name: "CSQLite3",
            path: "Shared/CSQLite3",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"]), .brew(["sqlite"])]
        ),
        .target(
            name: "SQLiteDirect",
            dependencies: ["CSQLite3"],
            path: "Shared/SQLiteDirect"
        ),
        .target(
            name: "Kafka",
            dependencies: [
                "CRdKafka",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/Kafka"
        ),
        .target(
            name: "Messaging",
            dependencies: [
                "Kafka",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "W3CTraceContext", package: "swift-w3c-trace-context"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            path: "Shared/Messaging"
        ),
        .target(
            name: "MessagingTesting",
            dependencies: ["Kafka", "Messaging"],
            path: "Shared/MessagingTesting"
        ),
        .target(
            name: "StorageTesting",
            dependencies: ["Storage", .product(name: "Logging", package: "swift-log")],
            path: "Shared/StorageTesting"
        ),
        .target(
            name: "Storage",
            dependencies: [
                "SQLiteDirect",
                "Kafka",
                "Messaging",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "PostgresKit", package: "postgres-kit"),
            ],
            path: "Shared/Storage"
        ),
        .target(
            name: "Contracts",
            dependencies: ["Kafka", "Messaging"],
            path: "Shared/Contracts"
        ),
        .target(
            name: "ServiceKit",
            dependencies: [
                "Kafka",
                "Messaging",
                "Storage",
                "Contracts",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "OTel", package: "swift-otel"),
            ],
            path: "Shared/ServiceKit"
        ),
        .target(
            name: "DevTools",
            dependencies: [
                "ServiceKit",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tools/DevTools"
        ),
        .target(
            name: "ProfileCore",
            dependencies: [
                "Contracts", "Messaging", "ServiceKit", "Storage",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "SQLKit", package: "sql-kit"),
            ],
            path: "Services/Profile/ProfileCore"
        ),
        .executableTarget(
            name: "ProfileService",
            dependencies: ["ProfileCore", "ServiceKit"],
            path: "Services/Profile/Executable"
        ),
        .target(
            name: "InventoryCore",
            dependencies: [
                "Contracts", "Messaging", "ServiceKit", "Storage",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "SQLKit", package: "sql-kit"),
            ],
            path: "Services/Inventory/InventoryCore"
        ),
        .executableTarget(
            name: "InventoryService",
            dependencies: ["InventoryCore", "ServiceKit"],
            path: "Services/Inventory/Executable"
        ),
        .target(
            name: "PaymentCore",
            dependencies: [
                "Contracts", "Messaging", "ServiceKit", "Storage",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "SQLKit", package: "sql-kit"),
            ],
            path: "Services/Payment/PaymentCore"
        ),
        .executableTarget(
            name: "PaymentService",
            dependencies: ["PaymentCore", "ServiceKit"],
            path: "Services/Payment/Executable"
        ),
        .target(
            name: "ShippingCore",
            dependencies: [
                "Contracts", "Messaging", "ServiceKit", "Storage",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "SQLKit", package: "sql-kit"),
            ],
            path: "Services/Shipping/ShippingCore"
        ),
        .executableTarget(
            name: "ShippingService",
            dependencies: ["ShippingCore", "ServiceKit"],
            path: "Services/Shipping/Executable"
        ),
        .target(
            name: "OrchestratorCore",
            dependencies: [
                "Contracts", "Kafka", "Messaging", "ServiceKit", "Storage",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "SQLKit", package: "sql-kit"),
            ],
            path: "Services/Orchestrator/OrchestratorCore"
        ),
        .executableTarget(
            name: "OrchestratorService",
            dependencies: ["OrchestratorCore", "ServiceKit"],
            path: "Services/Orchestrator/Executable"
        ),
        .target(
            name: "AggregatorCore",
            dependencies: [
                "Contracts", "Kafka", "Messaging", "ServiceKit", "Storage",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "SQLKit", package: "sql-kit"),
            ],
            path: "Services/Aggregator/AggregatorCore"
        ),
        .executableTarget(
            name: "AggregatorService",
            dependencies: ["AggregatorCore", "ServiceKit"],
            path: "Services/Aggregator/Executable"
        ),
        .executableTarget(
            name: "Ensemble",
            dependencies: [
                "Kafka",
                "Messaging",
                "Contracts",
                "ServiceKit",
                "DevTools",
                "ProfileCore", "InventoryCore", "PaymentCore", "ShippingCore", "OrchestratorCore", "AggregatorCore", "Storage", "SQLiteDirect",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tools/Ensemble"
        ),
        .testTarget(
            name: "EnsembleToolTests",
            dependencies: [
                "Ensemble", "Contracts", "OrchestratorCore", "SQLiteDirect",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            path: "Tests/EnsembleToolTests"
        ),
        .testTarget(
            name: "KafkaTests",
            dependencies: ["Kafka"],
            path: "Tests/KafkaTests"
        ),
        .testTarget(
            name: "MessagingTests",
            dependencies: ["Messaging", "MessagingTesting", "Contracts"],
            path: "Tests/MessagingTests"
        ),
        .testTarget(
            name: "ServiceKitTests",
            dependencies: [
                "ServiceKit", "MessagingTesting",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            path: "Tests/ServiceKitTests"
        ),
        .testTarget(
            name: "StorageTests",
            dependencies: ["StorageTesting", "Storage", "Messaging", "MessagingTesting", "Contracts"],
            path: "Tests/StorageTests"
        ),
        .testTarget(
            name: "OrchestratorTests",
            dependencies: ["StorageTesting", 
                "OrchestratorCore", "ServiceKit", "Storage", "Messaging", "MessagingTesting", "Contracts",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Yams", package: "Yams"),
            ],
            path: "Tests/OrchestratorTests"
        ),
        .testTarget(
            name: "AggregatorTests",
            dependencies: ["StorageTesting", 
                "AggregatorCore", "Contracts", "Messaging", "MessagingTesting", "ServiceKit", "Storage",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Yams", package: "Yams"),
            ],
            path: "Tests/AggregatorTests"
        ),
        .testTarget(
            name: "ParticipantTests",
            dependencies: [
                "StorageTesting", "ProfileCore", "InventoryCore", "PaymentCore", "ShippingCore", "ServiceKit", "Storage", "Messaging", "MessagingTesting", "Contracts",
                .product(name: "Yams", package: "Yams"),
            ],
            path: "Tests/ParticipantTests"
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["StorageTesting", "MessagingTesting", "SQLiteDirect",
                "Kafka", "Messaging", "Contracts", "ServiceKit", "DevTools", "Storage", "ProfileCore", "InventoryCore", "PaymentCore", "ShippingCore", "OrchestratorCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "SQLKit", package: "sql-kit"),
            ],
            path: "Tests/IntegrationTests"
        ),
    ]
)

// Release builds optimize across Ensemble's own modules: generic code from Messaging,
// Storage or SQLiteDirect is specialized where a service calls it instead of running
// through witness tables (Docs/performance.md, "cross-module optimization").
for target in package.targets where target.type == .regular || target.type == .executable {
    target.swiftSettings = (target.swiftSettings ?? []) + [
        .unsafeFlags(["-cross-module-optimization"], .when(configuration: .release)),
    ]
}
