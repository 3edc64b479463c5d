import Foundation
import Testing
@testable import Stages

@Suite struct SimilarityTests {
    @Test func spearmanWithTies() {
        // Reference values computed with scipy 1.17.1:
        //   python3 -c "from scipy.stats import spearmanr; print(spearmanr([1,2,2,3,4,4,4,5],[2,1,3,3,5,4,6,6]).correlation)"
        //   → 0.9007775105401477
        let rho = SimilarityEvaluator.spearman([1, 2, 2, 3, 4, 4, 4, 5], [2, 1, 3, 3, 5, 4, 6, 6])!
        #expect(abs(rho - 0.9007775105401477) < 1e-12)
        //   spearmanr([0.1,0.5,0.5,0.9,0.2],[3.0,7.5,7.5,7.5,1.0]).correlation → 0.8029550685469662
        let rho2 = SimilarityEvaluator.spearman([0.1, 0.5, 0.5, 0.9, 0.2], [3.0, 7.5, 7.5, 7.5, 1.0])!
        #expect(abs(rho2 - 0.8029550685469662) < 1e-12)
        #expect(SimilarityEvaluator.averageRanks([10, 20, 20, 5]) == [2, 3.5, 3.5, 1])
        #expect(SimilarityEvaluator.spearman([1, 1, 1], [1, 2, 3]) == nil)
        #expect(SimilarityEvaluator.spearman([1], [1]) == nil)
    }

    @Test func evaluatorCountsOOVAndCorrelates() throws {
        let wv = try royalVectors()
        // Human scores ordered like the cosines: king/prince .816 > king/queen .5 > man/apple 0.
        let ds = try SimilarityDataset.parse("""
            # comment
            # Word 1\tWord 2\tHuman (mean)
            King\tprince\t9.0
            king queen 5
            man\tapple\t0.5
            man\tunicorn\t3
            dragon\tunicorn\t3

            """, source: "sim.tsv")
        #expect(ds.pairs.count == 5 && ds.pairs[0].w1 == "king" && ds.pairs[0].line == 3)
        let r = SimilarityEvaluator().evaluate(wv, on: ds)
        #expect(r.totalPairs == 5 && r.pairsUsed == 3 && r.pairsSkipped == 2)
        #expect(r.oovWords == ["dragon", "unicorn"])
        #expect(r.spearman == 1.0)
        #expect(abs(r.coverage - 0.6) < 1e-12)
        let r2 = SimilarityEvaluator(restrictVocabulary: 7).evaluate(wv, on: ds)
        #expect(r2.pairsUsed == 2 && r2.oovWords.contains("prince"))
        let back = try JSONDecoder().decode(SimilarityReport.self, from: JSONEncoder().encode(r))
        #expect(back == r)
    }

    @Test func parseErrorsNameTheLine() {
        #expect {
            try SimilarityDataset.parse("# c\na b 1\nWord 1\tWord 2\tHuman\n", source: "s.tsv")
        } throws: { e in
            let e = e as! DatasetError
            return e.line == 3 && e.description.hasPrefix("s.tsv:3:")
        }
        #expect {
            try SimilarityDataset.parse("a b 1\na\tb\tlots\n", source: "s.tsv")
        } throws: { e in
            (e as! DatasetError).line == 2 && "\(e)".contains("`lots` is not a number")
        }
        #expect(throws: DatasetError.self) { try SimilarityDataset.parse("# only comments\n") }
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: CLIPaths.repoRoot + "/data/eval/wordsim353.tsv")))
    func wordsimLoads() throws {
        let ds = try SimilarityDataset.load(CLIPaths.repoRoot + "/data/eval/wordsim353.tsv")
        #expect(ds.pairs.count == 353)
        #expect(ds.pairs[0] == SimilarityPair(w1: "love", w2: "sex", score: 6.77, line: 3))
    }
}
