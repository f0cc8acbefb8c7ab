// swift-tools-version:6.0
import PackageDescription

/// Release builds: AVX2 + FMA (portable across x86-64 machines of the last decade) and cross-module
/// optimisation so the numeric kernels in `Tensor` inline into their callers.
let fast: [SwiftSetting] = [
    .unsafeFlags(["-target-cpu", "haswell", "-cross-module-optimization"], .when(configuration: .release)),
    .unsafeFlags(["-enable-testing"], .when(configuration: .release)),
]

let package = Package(
    name: "Surgeon",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "surgeon", targets: ["surgeon"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System libraries.
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .systemLibrary(name: "CProcess", path: "Sources/CProcess"),
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),

        // The pipeline, each target depending only on those before it.
        .target(name: "Tensor", dependencies: ["CBLAS"], swiftSettings: fast),
        .target(name: "Checkpoint", dependencies: ["Tensor"], swiftSettings: fast),
        .target(name: "Tokenizer", swiftSettings: fast),
        .target(name: "Model", dependencies: ["Tensor", "Checkpoint", "Tokenizer"], swiftSettings: fast),
        .target(name: "Cluster", dependencies: ["CMPI"], swiftSettings: fast),
        .target(name: "Pruning", dependencies: ["Tensor", "Checkpoint", "Model", "Cluster"], swiftSettings: fast),
        .target(name: "Jobs", dependencies: ["Pruning"], swiftSettings: fast),
        .target(name: "Experiments", dependencies: ["Pruning"], swiftSettings: fast),
        .target(name: "HTTP", dependencies: ["COpenSSL", "CZlib"], swiftSettings: fast),
        .target(name: "Service", dependencies: ["HTTP", "Jobs", "COpenSSL", "CZlib", "CProcess"], swiftSettings: fast),
        .executableTarget(
            name: "surgeon",
            dependencies: ["Service", "Pruning", "Experiments", "Model", "Cluster", "CProcess", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: fast),

        // Tests.
        .testTarget(name: "TensorTests", dependencies: ["Tensor"], swiftSettings: fast),
        .testTarget(name: "CheckpointTests", dependencies: ["Checkpoint"], resources: [.copy("Fixtures")], swiftSettings: fast),
        .testTarget(name: "TokenizerTests", dependencies: ["Tokenizer", "Checkpoint", "Model"], resources: [.copy("Fixtures")], swiftSettings: fast),
        .testTarget(name: "ModelTests", dependencies: ["Model"], resources: [.copy("Fixtures")], swiftSettings: fast),
        .testTarget(name: "PruningTests", dependencies: ["Pruning"], resources: [.copy("Fixtures")], swiftSettings: fast),
        .testTarget(name: "ClusterTests", dependencies: ["Cluster", "Pruning", "Checkpoint", "Model"], swiftSettings: fast),
        .testTarget(name: "ExperimentsTests", dependencies: ["Experiments"], swiftSettings: fast),
        .testTarget(name: "JobsTests", dependencies: ["Jobs"], swiftSettings: fast),
        .testTarget(name: "HTTPTests", dependencies: ["HTTP"], swiftSettings: fast),
        .testTarget(name: "ServiceTests", dependencies: ["Service"], swiftSettings: fast),
    ],
    swiftLanguageModes: [.v6]
)
