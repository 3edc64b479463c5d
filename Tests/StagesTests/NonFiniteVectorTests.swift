import Foundation
import Testing
@testable import Stages

/// NaN and infinity in a vector file would poison every cosine they take part in (a diverged
/// training run exported as is); reading refuses them with the file, the line or row, and the word.
@Suite("vector files with NaN or infinity are refused")
struct NonFiniteVectorTests {
    /// Every spelling strtof / Swift's Float parser read as non-finite, plus decimal overflow.
    static let spellings = ["nan", "NaN", "NAN", "-nan", "+nan", "nan(0x7fc00000)", "inf", "-inf", "+inf", "Inf",
                            "INF", "infinity", "-Infinity", "INFINITY", "1e39", "-3.5e40", "99999999999999999999999999999999999999999"]

    func expectRefused(_ path: String, line: Int? = nil, offset: Int? = nil, word: String, _ fragment: String,
                       binary: Bool? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let v = try Word2VecFormat.read(path, binary: binary)
            Issue.record("accepted \(v.vectors)", sourceLocation: sourceLocation)
        } catch let e as Word2VecFormatError {
            #expect(e.kind == .notANumber, "\(e)", sourceLocation: sourceLocation)
            #expect(e.description.hasPrefix(path), "\(e)", sourceLocation: sourceLocation)
            #expect(e.description.contains("word `\(word)`"), "\(e)", sourceLocation: sourceLocation)
            #expect(e.description.contains(fragment), "\(e)", sourceLocation: sourceLocation)
            if let line { #expect(e.line == line && e.description.hasPrefix("\(path):\(line): "), "\(e)", sourceLocation: sourceLocation) }
            if let offset { #expect(e.byteOffset == offset, "\(e)", sourceLocation: sourceLocation) }
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: spellings)
    func word2vecTextFlavours(_ bad: String) throws {
        let t = try TempDir(); defer { t.cleanup() }
        // word2vec.c / fastText (trailing space), gensim (none), CRLF, tab-separated GloVe-like rows.
        let files = [
            ("w2v.txt", "3 3\nthe 0.1 0.2 0.3 \nof 1 \(bad) 2 \nand 1 2 3 \n"),
            ("gensim.txt", "3 3\nthe 0.1 0.2 0.3\nof 1 \(bad) 2\nand 1 2 3"),
            ("fasttext.vec", "3 3 \r\nthe 0.1 0.2 0.3 \r\nof 1 \(bad) 2 \r\nand 1 2 3 \r\n"),
            ("glove.txt", "3 3\nthe\t0.1\t0.2\t0.3\nof\t1\t\(bad)\t2\nand\t1\t2\t3\n"),
        ]
        for (name, text) in files {
            let p = try t.write(name, text)
            expectRefused(p, line: 3, word: "of", "number 2 of word `of`, `\(bad)`, is ")
            expectRefused(p, line: 3, word: "of", "not a finite float", binary: false)
        }
        // First row (used for binary/text detection) and last number of the last row.
        expectRefused(try t.write("first.txt", "2 2\nthe \(bad) 1\nof 1 2\n"), line: 2, word: "the", "number 1 of word `the`")
        expectRefused(try t.write("last.txt", "2 2\nthe 0 1\nof 1 \(bad)"), line: 3, word: "of", "number 2 of word `of`")
    }

    @Test func word2vecBinaryNonFiniteBitPatterns() throws {
        let t = try TempDir(); defer { t.cleanup() }
        let patterns: [(Float, String)] = [
            (.nan, "NaN"), (-.nan, "NaN"), (.signalingNaN, "NaN"), (Float(bitPattern: 0x7FC1_2345), "NaN"),
            (.infinity, "infinity"), (-.infinity, "-infinity"),
        ]
        for (x, name) in patterns {
            // Layout: "2 3\n" (0..<4), "a " (4..<6), 12 bytes, "\n" (18), "bb " (19..<22), floats at 22.
            let bytes = Array("2 3\n".utf8) + Array("a ".utf8) + le(1) + le(2) + le(3) + [10]
                + Array("bb ".utf8) + le(4) + le(5) + le(x) + [10]
            let p = try t.write("v.bin", bytes)
            for binary in [nil, true] as [Bool?] {
                expectRefused(p, offset: 30, word: "bb", "row 1 (word `bb`): number 3 is \(name), not a finite float", binary: binary)
            }
        }
        // Finite extremes are still fine.
        let ok = try t.write("ok.bin", Array("1 3\nw ".utf8) + le(.greatestFiniteMagnitude) + le(-.leastNonzeroMagnitude) + le(-0.0) + [10])
        #expect(try Word2VecFormat.read(ok).vectors.map(\.bitPattern) == [Float.greatestFiniteMagnitude, -.leastNonzeroMagnitude, -0.0].map(\.bitPattern))
    }

    @Test func exportedThenReadBackIsRefusedToo() throws {
        // A diverged model exported as text writes `nan`; reading it back names the word.
        let t = try TempDir(); defer { t.cleanup() }
        let wv = try makeVectors([("king", [1, 2]), ("queen", [.nan, 1])])
        try Word2VecFormat.write(wv, to: t.file("d.txt"), binary: false)
        expectRefused(t.file("d.txt"), line: 3, word: "queen", "`nan`, is NaN")
        try Word2VecFormat.write(wv, to: t.file("d.bin"), binary: true)
        expectRefused(t.file("d.bin"), word: "queen", "row 1 (word `queen`): number 1 is NaN")
    }
}
