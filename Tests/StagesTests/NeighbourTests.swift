import Foundation
import Testing
@testable import Stages

@Suite struct NeighbourTests {
    @Test func normalizedKeepsZeroRows() throws {
        let wv = try makeVectors([("a", [3, 4]), ("z", [0, 0]), ("b", [0, -2])])
        let u = wv.normalized()
        #expect(u.isNormalized && !wv.isNormalized)
        #expect(Array(u.vector("a")!) == [0.6, 0.8])
        #expect(Array(u.vector("z")!) == [0, 0])
        #expect(Array(u.vector("b")!) == [0, -1])
        #expect(wv.vector("nope") == nil)
        #expect(wv.similarity("a", "b")! == -0.8)
    }

    @Test func nearestUsesCosineAndRestriction() throws {
        let wv = try royalVectors()
        let r = try wv.nearest(to: "king", k: 3)
        // cos(king, prince) = 2/(√2·√3) = 0.816; queen, man, boy... = 0.5
        #expect(r[0].word == "prince")
        #expect(abs(r[0].score - 0.8165) < 1e-3)
        #expect(!r.contains { $0.word == "king" })
        // Unnormalised query gives the same ranking; scale does not matter.
        let q = wv.nearest(to: [10, 0, 10, 0, 0], k: 2)
        #expect(q.map(\.word) == ["king", "prince"])
        #expect(abs(q[0].score - 1) < 1e-6)
        // Restriction to the first 7 rows removes prince/princess; ties go to the more frequent word.
        let r7 = wv.nearest(to: [1, 0, 1, 1, 0], k: 2, excluding: [2], restrictTo: 7)
        #expect(r7.map(\.word) == ["man", "boy"] || r7.map(\.word) == ["boy", "man"])
        #expect(r7.allSatisfy { $0.index < 7 && $0.index != 2 })
        #expect(wv.nearest(to: [1, 0, 0, 0, 0], k: 100).count == 9)
    }

    @Test func unknownWordSuggestions() throws {
        let wv = try makeVectors([("the", [1]), ("king", [1]), ("ring", [1]), ("kong", [1]),
                                  ("kings", [1]), ("knight", [1]), ("queen", [1])])
        #expect(wv.unknownWordSuggestions("kng") == ["king", "kong"])
        #expect(wv.unknownWordSuggestions("KING").first == "king")  // case-folded exact match first
        #expect(wv.unknownWordSuggestions("qeuen") == ["queen"])  // transposition
        #expect(wv.unknownWordSuggestions("kingz", limit: 2) == ["kings", "king"] || wv.unknownWordSuggestions("kingz", limit: 2) == ["king", "kings"])
        #expect(wv.unknownWordSuggestions("zzzzzz").isEmpty)
        #expect {
            try wv.nearest(to: "kng")
        } throws: { e in
            let e = e as! WordVectorsError
            return e.kind == .unknownWord && e.description == "unknown word `kng`; did you mean king, kong?"
        }
        #expect(throws: WordVectorsError.self) { try wv.analogy("king", "kng", "queen") }
    }

    @Test func initValidates() {
        #expect(throws: WordVectorsError.self) { try WordVectors(words: ["a", "a"], dimension: 1, vectors: [1, 2]) }
        #expect(throws: WordVectorsError.self) { try WordVectors(words: ["a"], dimension: 2, vectors: [1]) }
    }
}
