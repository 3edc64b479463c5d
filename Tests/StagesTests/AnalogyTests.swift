import Foundation
import Testing
@testable import Stages

@Suite struct AnalogyTests {
    @Test func addAndMulAnswerQueen() throws {
        let wv = try royalVectors()
        for method in AnalogyMethod.allCases {
            let r = try wv.analogy("man", "king", "woman", k: 3, method: method)
            #expect(r.first?.word == "queen", "\(method)")
            #expect(!r.contains { ["man", "king", "woman"].contains($0.word) })
        }
        // 3CosAdd score is the cosine with the normalised b − a + c:
        // q = (−0.2929, 1, 0.7071, 0, 0), |q| = √1.5858 = 1.2593; queen·q = 1.2071 / 1.2593 = 0.9586.
        let top = try wv.analogy("man", "king", "woman", k: 1).first!
        #expect(abs(top.score - 0.9586) < 1e-3)
    }

    /// a, b, c are orthonormal; by construction
    ///   x: cos(x,a)=0,    cos(x,b)=0.9, cos(x,c)=−0.3 → add 0.60, mul 0.95·0.35/0.501 = 0.664
    ///   y: cos(y,a)=0.45, cos(y,b)=0.5, cos(y,c)=0.5  → add 0.55, mul 0.75·0.75/0.726 = 0.775
    /// so 3CosAdd answers x and 3CosMul answers y.
    func divergentVectors() throws -> WordVectors {
        try makeVectors([
            ("a", [1, 0, 0, 0, 0]),
            ("b", [0, 1, 0, 0, 0]),
            ("c", [0, 0, 1, 0, 0]),
            ("x", [0, 0.9, -0.3, Float(0.1).squareRoot(), 0]),
            ("y", [0.45, 0.5, 0.5, 0, Float(0.2975).squareRoot()]),
        ])
    }

    @Test func addAndMulDisagreeOnConstructedCase() throws {
        let wv = try divergentVectors()
        let add = try wv.analogy("a", "b", "c", k: 2, method: .add)
        let mul = try wv.analogy("a", "b", "c", k: 2, method: .mul)
        #expect(add.map(\.word) == ["x", "y"])
        #expect(mul.map(\.word) == ["y", "x"])
        #expect(abs(mul[0].score - 0.75 * 0.75 / 0.726) < 1e-4)
        #expect(abs(mul[1].score - 0.95 * 0.35 / 0.501) < 1e-4)

        // The evaluator agrees, question by question.
        let ds = try AnalogyDataset.parse(": s\na b c x\na b c y\n")
        let rep = AnalogyEvaluator().evaluate(wv, on: ds)
        #expect(rep.overall.answered == 2)
        #expect(rep.overall.correctAdd == 1)
        #expect(rep.overall.correctMul == 1)
        let onlyX = AnalogyEvaluator().evaluate(wv, on: try AnalogyDataset.parse(": s\na b c x\n"))
        #expect(onlyX.overall.correctAdd == 1 && onlyX.overall.correctMul == 0)
    }

    static let royalQuestions = """
        : family
        man king woman queen
        Man Boy Woman Girl
        man king woman unicorn
        : gram-royal
        king prince queen princess
        boy prince girl princess
        man woman king queen

        """

    @Test func restrictionAndCoverage() throws {
        let wv = try royalVectors()
        let ds = try AnalogyDataset.parse(Self.royalQuestions, source: "royal.txt")
        #expect(ds.lowercased)
        #expect(ds.sections[0].questions[1] == AnalogyQuestion(a: "man", b: "boy", c: "woman", d: "girl", line: 3))

        // First 7 rows only: prince (7) and princess (8) are beyond the restriction.
        let r7 = AnalogyEvaluator(restrictVocabulary: 7).evaluate(wv, on: ds)
        #expect(r7.restrictedTo == 7)
        #expect(r7.sections.map(\.name) == ["family", "gram-royal"])
        #expect(r7.sections[0].score.total == 3 && r7.sections[0].score.answered == 2 && r7.sections[0].score.skipped == 1)
        #expect(r7.sections[0].score.correctAdd == 2 && r7.sections[0].score.correctMul == 2)
        #expect(r7.sections[1].score.total == 3 && r7.sections[1].score.answered == 1)
        #expect(r7.sections[1].score.correctAdd == 1 && r7.sections[1].score.correctMul == 1)
        #expect(r7.semantic.total == 3 && r7.syntactic.total == 3)
        #expect(r7.overall == AnalogyScore(total: 6, answered: 3, correctAdd: 3, correctMul: 3))
        #expect(r7.overall.coverage == 0.5)
        #expect(r7.overall.accuracyAdd == 1.0)

        // Whole vocabulary: only the OOV `unicorn` question is skipped.
        let all = AnalogyEvaluator(restrictVocabulary: nil).evaluate(wv, on: ds)
        #expect(all.restrictedTo == 9)
        #expect(all.overall.answered == 5 && all.overall.skipped == 1)
        #expect(all.overall.correctAdd == 5)
        #expect(all.syntactic.answered == 3 && all.semantic.answered == 2)

        // Restriction larger than the vocabulary is clamped; Codable round trip.
        let big = AnalogyEvaluator(restrictVocabulary: 30_000, threads: 1).evaluate(wv, on: ds)
        #expect(big.restrictedTo == 9)
        #expect(big.overall == all.overall)
        let json = try JSONEncoder().encode(big)
        let back = try JSONDecoder().decode(AnalogyReport.self, from: json)
        #expect(back == big)
    }

    @Test func evaluatorMatchesPerQuestionSearch() throws {
        // Random vectors: the blocked evaluator must agree with WordVectors.analogy
        // (a straightforward scan) on every question, with tiny batches to exercise batching.
        var g = SystemRandomNumberGenerator()
        let n = 300, d = 19
        let words = (0..<n).map { "w\($0)" }
        let vecs = (0..<(n * d)).map { _ in Float.random(in: -1...1, using: &g) }
        let wv = try WordVectors(words: words, dimension: d, vectors: vecs)
        var lines = [": semantic"]
        var qs: [(String, String, String)] = []
        for _ in 0..<60 {
            let a = Int.random(in: 0..<250), b = Int.random(in: 0..<250), c = Int.random(in: 0..<250)
            qs.append(("w\(a)", "w\(b)", "w\(c)"))
        }
        for method in AnalogyMethod.allCases {
            var expectedCorrect = 0
            lines = [": semantic"]
            for (a, b, c) in qs {
                let ans = try wv.analogy(a, b, c, k: 1, method: method, restrictTo: 250).first!.word
                // Alternate right and wrong expected answers.
                let d = lines.count % 2 == 0 ? ans : "w299"
                if d == ans && Int(d.dropFirst())! < 250 && Set([a, b, c]).count == 3 { expectedCorrect += 1 }
                if Set([a, b, c]).count == 3 { lines.append("\(a) \(b) \(c) \(d)") }
            }
            let ds = try AnalogyDataset.parse(lines.joined(separator: "\n"))
            let ev = AnalogyEvaluator(restrictVocabulary: 250, maxSimilarityMatrixBytes: 256 * 4 * 7)
            let rep = ev.evaluate(wv, on: ds)
            let got = method == .add ? rep.overall.correctAdd : rep.overall.correctMul
            #expect(got == expectedCorrect, "\(method)")
            #expect(rep.overall.total == lines.count - 1)
            #expect(rep.overall.answered == lines.filter { !$0.hasSuffix(" w299") }.count - 1)
        }
    }

    @Test func datasetParseErrorsNameTheLine() throws {
        #expect {
            try AnalogyDataset.parse(": s\na b c d\na b c\n", source: "q.txt")
        } throws: { e in
            let e = e as! DatasetError
            return e.kind == .malformedLine && e.line == 3 && e.description.hasPrefix("q.txt:3: expected 4 words")
        }
        #expect {
            try AnalogyDataset.parse("a b c d\n", source: "q.txt")
        } throws: { e in
            (e as! DatasetError).line == 1 && "\(e)".contains("before any `: section`")
        }
        #expect {
            try AnalogyDataset.parse(": s\r\na b c d\r\n:\r\n", source: "q.txt")
        } throws: { e in (e as! DatasetError).line == 3 }
        #expect(throws: DatasetError.self) { try AnalogyDataset.load("/nonexistent/q.txt") }
        // CRLF and keeping case.
        let ds = try AnalogyDataset.parse(": s\r\nA B C D\r\n", lowercase: false)
        #expect(ds.sections[0].questions[0].d == "D" && !ds.lowercased)
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: CLIPaths.repoRoot + "/data/eval/questions-words.txt")))
    func googleQuestionsLoad() throws {
        let ds = try AnalogyDataset.load(CLIPaths.repoRoot + "/data/eval/questions-words.txt")
        #expect(ds.questionCount == 19544)
        #expect(ds.sections.count == 14)
        #expect(ds.sections.filter(\.isSyntactic).count == 9)
        #expect(ds.sections[0].questions[0] == AnalogyQuestion(a: "athens", b: "greece", c: "baghdad", d: "iraq", line: 2))
    }
}
