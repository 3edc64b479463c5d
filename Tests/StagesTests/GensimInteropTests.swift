import Foundation
import Testing
@testable import Stages

/// gensim itself loads what we export (binary and text), with the same vectors; and we load
/// what gensim writes. CI installs gensim (.ci/run); elsewhere the test is skipped without it.
@Suite("gensim interoperability")
struct GensimInteropTests {
    static let gensimAvailable: Bool = {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import gensim"]
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }()
    static let required = ProcessInfo.processInfo.environment["CI"] == "true"

    func python(_ script: String) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test(.enabled(if: gensimAvailable || required, "gensim is not installed (CI installs it)"))
    func gensimLoadsOurFilesAndWeLoadGensims() throws {
        let dir = NSTemporaryDirectory() + "w2v-gensim-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var rng = SystemRandomNumberGenerator()
        let words = ["the", "king", "queen", "paris", "café", "x"] + (0..<200).map { "w\($0)" }
        let dim = 17
        let values = (0..<(words.count * dim)).map { _ in Float.random(in: -2...2, using: &rng) }
        let vectors = try WordVectors(words: words, dimension: dim, vectors: values)
        try Word2VecFormat.write(vectors, to: dir + "/v.bin", binary: true)
        try Word2VecFormat.write(vectors, to: dir + "/v.txt", binary: false)
        try Word2VecFormat.write(vectors, to: dir + "/ref.txt", binary: false)
        let (status, output) = try python("""
        import numpy as np
        from gensim.models import KeyedVectors
        b = KeyedVectors.load_word2vec_format('\(dir)/v.bin', binary=True)
        t = KeyedVectors.load_word2vec_format('\(dir)/v.txt', binary=False)
        assert b.index_to_key == t.index_to_key, 'word order differs'
        print(len(b.index_to_key), b.vector_size)
        print(float(np.abs(b.vectors - t.vectors).max()))
        b.save_word2vec_format('\(dir)/gensim.bin', binary=True)
        b.save_word2vec_format('\(dir)/gensim.txt', binary=False)
        np.save('\(dir)/b.npy', b.vectors)
        """)
        #expect(status == 0, "\(output)")
        let lines = output.split(separator: "\n")
        #expect(lines.first == "\(words.count) \(dim)")
        #expect(Double(lines.dropFirst().first ?? "1") == 0)
        // gensim's vectors, read back by numpy, equal ours bit for bit: compare via gensim's own files.
        let fromGensim = try Word2VecFormat.read(dir + "/gensim.bin")
        #expect(fromGensim.words == words)
        #expect(fromGensim.vectors == values)
        let fromGensimText = try Word2VecFormat.read(dir + "/gensim.txt")
        #expect(fromGensimText.words == words)
        let maxDiff = zip(fromGensimText.vectors, values).map { abs($0 - $1) }.max() ?? 1
        #expect(maxDiff < 1e-5)
    }
}
