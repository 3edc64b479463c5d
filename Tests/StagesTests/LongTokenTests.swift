import Foundation
import Testing
@testable import Stages

@Suite("tokenize: tokens longer than Tokenizer.maxTokenBytes are dropped and counted")
struct LongTokenTests {
    func tokenize(_ bytes: [UInt8], mode: TokenizationMode, threads: Int = 1) throws -> (words: [String], counts: [UInt64], ids: [UInt32], dropped: Int) {
        var bytes = bytes
        return try bytes.withUnsafeMutableBytes { raw in
            let r = try Tokenizer(mode: mode).tokenize(UnsafeRawBufferPointer(raw), threads: threads)
            defer { r.deallocate() }
            return (r.words, r.counts, r.idChunks.flatMap { Array($0) }, r.droppedLongTokenCount)
        }
    }

    @Test(arguments: [TokenizationMode.text8, .normalize], [1, 4])
    func aFiveMegabyteRunIsDroppedAndCounted(mode: TokenizationMode, threads: Int) throws {
        let giant = [UInt8](repeating: UInt8(ascii: "a"), count: 5 << 20)
        let text = Array(" the cat sat ".utf8) + giant + Array(" on the mat\n".utf8)
        let r = try tokenize(text, mode: mode, threads: threads)
        #expect(r.words == ["the", "cat", "sat", "on", "mat"])
        #expect(r.counts == [2, 1, 1, 1, 1])
        #expect(r.ids == [0, 1, 2, 3, 0, 4])
        #expect(r.dropped == 1)
    }

    @Test func theLimitIsInclusiveAndEachLongRunCountsOnce() throws {
        let max = Tokenizer.maxTokenBytes
        #expect(max == 1_000)
        let keep = String(repeating: "b", count: max), drop = String(repeating: "c", count: max + 1)
        for mode in [TokenizationMode.text8, .normalize] {
            let r = try tokenize(Array("x \(keep) \(drop) y \(drop)\(drop)\n\(drop)".utf8), mode: mode)
            #expect(r.words == ["x", keep, "y"])
            #expect(r.dropped == 3) // the run of 2002 bytes is one token
        }
        // Normalize mode: digits end a run of letters, so a long run of letters and digits is many short tokens.
        let mixed = String(repeating: "ab1", count: 2000)
        let n = try tokenize(Array(mixed.utf8), mode: .normalize)
        #expect(n.dropped == 0)
        #expect(n.words == ["ab", "one"])
        // Upper case folds to the same bytes: the limit is on the token, not on the source spelling.
        let upper = try tokenize(Array(("Z" + String(repeating: "Q", count: max - 1) + " ok").utf8), mode: .normalize)
        #expect(upper.words == ["z" + String(repeating: "q", count: max - 1), "ok"])
        #expect(upper.dropped == 0)
    }

    @Test func manyLongTokensAcrossThreadsAreAllCounted() throws {
        // Over 1 MB, so the text is split into pieces; the pieces start and end at separators.
        var text: [UInt8] = []
        for i in 0..<600 {
            text += Array(" w\(i % 7) ".utf8)
            text += [UInt8](repeating: UInt8(ascii: "z"), count: 1_500 + i)
        }
        let one = try tokenize(text, mode: .text8, threads: 1)
        let four = try tokenize(text, mode: .text8, threads: 4)
        #expect(one.dropped == 600 && four.dropped == 600)
        #expect(one.words == four.words && one.ids == four.ids)
        #expect(one.ids.count == 600)
    }
}
