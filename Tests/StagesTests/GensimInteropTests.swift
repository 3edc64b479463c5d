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

    /// GloVe text: gensim (`no_header=True`) loads our glove-text export; and on glove.c's two
    /// layouts (without header, ending in `<unk>`; `-write-header 1`, whose `<unk>` row the header
    /// does not count) we read the same words and vectors gensim does.
    @Test(.enabled(if: gensimAvailable || required, "gensim is not installed (CI installs it)"))
    func gloveTextMatchesGensim() throws {
        let dir = NSTemporaryDirectory() + "w2v-gensim-glove-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var rng = SystemRandomNumberGenerator()
        let words = ["1", "the", "king", "café", "東京"] + (0..<100).map { "w\($0)" }
        let dim = 9
        let values = (0..<(words.count * dim)).map { _ in Float.random(in: -2...2, using: &rng) }
        try Word2VecFormat.writeGloVe(try WordVectors(words: words, dimension: dim, vectors: values), to: dir + "/ours.txt")
        // glove.c's layouts: ` %lf` per number, `<unk>` last.
        var rows = ""
        for (i, w) in words.enumerated() {
            rows += w + values[(i * dim)..<((i + 1) * dim)].map { " " + String(format: "%f", Double($0)) }.joined() + "\n"
        }
        rows += "<unk>" + String(repeating: " 0.125000", count: dim) + "\n"
        try rows.write(toFile: dir + "/glove.txt", atomically: true, encoding: .utf8)
        try ("\(words.count) \(dim)\n" + rows).write(toFile: dir + "/header.txt", atomically: true, encoding: .utf8)
        let (status, output) = try python("""
        import numpy as np
        from gensim.models import KeyedVectors
        o = KeyedVectors.load_word2vec_format('\(dir)/ours.txt', no_header=True)
        print(len(o.index_to_key), o.vector_size)
        np.asarray(o.vectors, dtype='<f4').tofile('\(dir)/ours.f32')
        for name, header in [('glove', False), ('header', True)]:
            k = KeyedVectors.load_word2vec_format('\(dir)/' + name + '.txt', no_header=not header)
            open('\(dir)/' + name + '.words', 'w', encoding='utf-8').write('\\n'.join(k.index_to_key))
            np.asarray(k.vectors, dtype='<f4').tofile('\(dir)/' + name + '.f32')
        """)
        #expect(status == 0, "\(output)")
        #expect(output.split(separator: "\n").first == "\(words.count) \(dim)")
        func floats(_ name: String) throws -> [Float] {
            let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name))
            return data.withUnsafeBytes { raw in (0..<(data.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) } }
        }
        #expect(try floats("ours.f32") == values)
        for name in ["glove", "header"] {
            let ours = try Word2VecFormat.read(dir + "/" + name + ".txt")
            let theirs = try String(contentsOfFile: dir + "/" + name + ".words", encoding: .utf8).split(separator: "\n").map(String.init)
            #expect(ours.words == theirs, "\(name)")
            #expect(ours.vectors == (try floats(name + ".f32")), "\(name)")
        }
        #expect(try Word2VecFormat.read(dir + "/glove.txt").words.last == "<unk>")
        #expect(try Word2VecFormat.read(dir + "/header.txt").words == words)
    }
}
