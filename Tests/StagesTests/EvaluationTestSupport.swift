import Foundation
@testable import Stages

/// A fresh temporary directory, removed by the caller with `cleanup`.
struct TempDir {
    let path: String
    init() throws {
        path = NSTemporaryDirectory() + "evaltests-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func file(_ name: String) -> String { path + "/" + name }
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let p = file(name)
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }
    func write(_ name: String, _ text: String) throws -> String {
        try write(name, Array(text.utf8))
    }
    func read(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: file(name))))
    }
    func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

func makeVectors(_ rows: [(String, [Float])]) throws -> WordVectors {
    try WordVectors(words: rows.map { $0.0 }, dimension: rows[0].1.count, vectors: rows.flatMap { $0.1 })
}

func le(_ x: Float) -> [UInt8] {
    let b = x.bitPattern.littleEndian
    return [UInt8(b & 0xff), UInt8((b >> 8) & 0xff), UInt8((b >> 16) & 0xff), UInt8(b >> 24)]
}

/// Royal family in 5 dimensions: [male, female, royal, young, fruit].
/// Answers are known by construction (checked by hand in the comments of the tests).
func royalVectors() throws -> WordVectors {
    try makeVectors([
        ("man", [1, 0, 0, 0, 0]),
        ("woman", [0, 1, 0, 0, 0]),
        ("king", [1, 0, 1, 0, 0]),
        ("queen", [0, 1, 1, 0, 0]),
        ("boy", [1, 0, 0, 1, 0]),
        ("girl", [0, 1, 0, 1, 0]),
        ("apple", [0, 0, 0, 0, 1]),
        ("prince", [1, 0, 1, 1, 0]),
        ("princess", [0, 1, 1, 1, 0]),
    ])
}

/// Paths inside the repository, for tests that read shipped data.
enum CLIPaths {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
}
