import Foundation
import Testing
@testable import Stages

@Suite("tokenize, build-vocab, subsample")
struct TokenizerTests {
    func tokenize(_ text: String, mode: TokenizationMode, threads: Int = 1) throws -> (words: [String], counts: [UInt64], ids: [UInt32]) {
        var bytes = Array(text.utf8)
        return try bytes.withUnsafeMutableBytes { raw in
            let r = try Tokenizer(mode: mode).tokenize(UnsafeRawBufferPointer(raw), threads: threads)
            defer { r.deallocate() }
            return (r.words, r.counts, r.idChunks.flatMap { Array($0) })
        }
    }

    @Test func text8FastPath() throws {
        let r = try tokenize(" the cat sat on the mat the end", mode: .text8)
        #expect(r.words == ["the", "cat", "sat", "on", "mat", "end"])
        #expect(r.counts == [3, 1, 1, 1, 1, 1])
        #expect(r.ids == [0, 1, 2, 3, 0, 4, 0, 5])
    }

    @Test func normalizeMakesText8() throws {
        let r = try tokenize("Hello, World! It's 42 — déjà-vu\nNEW line", mode: .normalize)
        #expect(r.words == ["hello", "world", "it", "s", "four", "two", "d", "j", "vu", "new", "line"])
        #expect(r.ids.count == 11)
    }

    @Test func threadCountDoesNotChangeTheResult() throws {
        // Over 1 MB so the tokenizer really splits.
        var words: [String] = []
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<250_000 { words.append("w\(Int.random(in: 0..<5000, using: &rng))") }
        let text = " " + words.joined(separator: " ")
        let one = try tokenize(text, mode: .text8, threads: 1)
        let four = try tokenize(text, mode: .text8, threads: 4)
        #expect(one.words == four.words)
        #expect(one.counts == four.counts)
        #expect(one.ids == four.ids)
        // And against an independent count.
        var expected: [String: UInt64] = [:]
        for w in words { expected[w, default: 0] += 1 }
        #expect(one.words.count == expected.count)
        for (i, w) in one.words.enumerated() { #expect(expected[w] == one.counts[i]) }
    }

    @Test func subsampleKeepProbabilityMatchesTheClosedForm() {
        let counts: [UInt64] = [1000, 100, 10, 1]
        let total = 1111.0
        let t = 1e-2
        let (keep, expected) = counts.withUnsafeBufferPointer { SubsampleTable.keepProbabilities(counts: $0, threshold: t) }
        var sum = 0.0
        for (i, c) in counts.enumerated() {
            let f = Double(c) / total
            let p = min(1, (t / f).squareRoot() + t / f)
            #expect(abs(Double(keep[i]) - p) < 1e-6)
            sum += p * Double(c)
        }
        #expect(abs(expected - sum) < 1e-6)
        #expect(keep[3] == 1)
        let (off, all) = counts.withUnsafeBufferPointer { SubsampleTable.keepProbabilities(counts: $0, threshold: 0) }
        #expect(off.allSatisfy { $0 == 1 })
        #expect(all == total)
    }
}
