// swift-tools-version:6.0
// A package of someone else's that uses w2v-pipe as a library: it loads vectors exported by
// w2v-pipe (or gensim, or word2vec.c) with `Stages` and prints a word's nearest neighbours.
//
// By default it depends on the w2v-pipe checkout two folders up (a path dependency). CI sets
// W2V_PIPE_URL to a git URL with a version tag, so the dependency is resolved as a versioned
// package the way a user's would be — which SwiftPM refuses if w2v-pipe used unsafe flags.
import PackageDescription

let w2vPipe: Package.Dependency = Context.environment["W2V_PIPE_URL"].map { .package(url: $0, from: "0.1.0") }
    ?? .package(path: "../..")

let package = Package(
    name: "w2v-pipe-consumer",
    dependencies: [w2vPipe],
    targets: [
        .executableTarget(name: "nearest", dependencies: [.product(name: "Stages", package: "w2v-pipe")]),
    ]
)
