// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "w2v-pipe",
    // Linux only (Debian 12 tested): the store and stages use Glibc calls, and nothing here is
    // built or tested on macOS, so the package claims no Apple platform.
    products: [
        .executable(name: "w2v-pipe", targets: ["w2v-pipe"]),
        .library(name: "Pipeline", targets: ["Pipeline"]),
        .library(name: "Stages", targets: ["Stages"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"5.0.0"),
    ],
    targets: [
        // libzip, found through pkg-config (Debian: libzip-dev). Only Stages/Unzip imports it.
        .systemLibrary(
            name: "CLibzip",
            pkgConfig: "libzip",
            providers: [.apt(["libzip-dev"]), .brew(["libzip"])]
        ),
        // OpenBLAS (CBLAS) and LAPACKE, found through pkg-config (Debian: libopenblas-dev,
        // liblapacke-dev). Only the dense parts of ppmi-svd use them.
        .systemLibrary(
            name: "CLinearAlgebra",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]
        ),
        // The training kernels' inner loops (SGNS pair and batch, CBOW), in C: one binary carries an
        // AVX2+FMA build and a portable one and picks at run time (see include/train_kernels.h).
        .target(name: "CTrainKernels"),
        // The store's one call Glibc does not offer Swift (sync_file_range, a GNU extension).
        .target(name: "CStoreSupport"),
        // The generic engine: experiment spec, graph, store, staleness, progress. Knows nothing of word2vec.
        .target(
            name: "Pipeline",
            dependencies: ["CStoreSupport", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // The word2vec stages and kernels.
        .target(
            name: "Stages",
            dependencies: ["Pipeline", "CLibzip", "CLinearAlgebra", "CTrainKernels"]
        ),
        .executableTarget(
            name: "w2v-pipe",
            dependencies: [
                "Pipeline", "Stages",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline"]),
        .testTarget(name: "StagesTests", dependencies: ["Stages", "Pipeline", "CLibzip", "CLinearAlgebra", "CTrainKernels"]),
        // End-to-end: runs the real binary (built first through this dependency).
        .testTarget(name: "CLITests", dependencies: ["Pipeline", "w2v-pipe"], exclude: ["data-only.json"]),
    ],
    swiftLanguageModes: [.v6]
)
