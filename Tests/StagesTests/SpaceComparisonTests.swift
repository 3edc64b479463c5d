import Foundation
import Pipeline
import Testing
@testable import Stages

@Suite("comparing spaces")
struct SpaceComparisonTests {
    func randomSpace(_ n: Int, _ d: Int, seed: UInt64, words: [String]? = nil) throws -> WordVectors {
        var rng = Word2VecRandom(seed: seed, worker: 0)
        return try WordVectors(words: words ?? (0..<n).map { "w\($0)" }, dimension: d,
                               vectors: (0..<(n * d)).map { _ in rng.unitFloat() - 0.5 })
    }

    @Test func overlapIsOneForTheSameSpaceRotatedAndLowForUnrelatedOnes() throws {
        let a = try randomSpace(300, 8, seed: 1)
        #expect(SpaceComparison.neighbourOverlap(a, a, queries: 100, k: 10).overlap == 1)
        // Rotating the plane of the first two axes keeps every cosine.
        var rotated = a.vectors
        let c: Float = 0.6, s: Float = 0.8
        for i in 0..<300 {
            let x = rotated[i * 8], y = rotated[i * 8 + 1]
            rotated[i * 8] = c * x - s * y
            rotated[i * 8 + 1] = s * x + c * y
        }
        let r = try WordVectors(words: a.words, dimension: 8, vectors: rotated)
        #expect(SpaceComparison.neighbourOverlap(a, r, queries: 100, k: 10).overlap > 0.97)
        // An unrelated space shares about k/n of the neighbours by chance.
        let b = try randomSpace(300, 8, seed: 2)
        let unrelated = SpaceComparison.neighbourOverlap(a, b, queries: 100, k: 10)
        #expect(unrelated.overlap < 0.15 && unrelated.words == 100)
    }

    @Test func overlapUsesTheSharedVocabularyInTheFirstSpacesOrder() throws {
        let a = try randomSpace(50, 4, seed: 3)
        // b has the same vectors for words w0…w39 in another order, and ten words of its own.
        let order = Array((0..<40).reversed())
        var vectors: [Float] = order.flatMap { Array(a.vector(at: $0)) }
        vectors += (0..<40).map { Float($0 % 7) }
        let b = try WordVectors(words: order.map { "w\($0)" } + (0..<10).map { "x\($0)" }, dimension: 4, vectors: vectors)
        let r = SpaceComparison.neighbourOverlap(a, b, queries: 1000, k: 5)
        #expect(r.words == 40 && r.overlap == 1)
    }

    @Test func theMatrixOfOverlapsAgreesWithThePairwiseOnes() throws {
        let spaces = try (1...3).map { try randomSpace(120, 6, seed: UInt64($0)) }
        let matrix = SpaceComparison.neighbourOverlaps(spaces, queries: 50, k: 5)
        for i in 0..<3 {
            #expect(matrix[i][i].overlap == 1)
            for j in 0..<3 where i != j {
                #expect(matrix[i][j].overlap == matrix[j][i].overlap)
                // A copy of space j with one extra word takes the per-pair path over the shared words.
                let wider = try WordVectors(words: spaces[j].words + ["extra"], dimension: 6, vectors: spaces[j].vectors + [1, 0, 0, 0, 0, 0])
                #expect(matrix[i][j].overlap == SpaceComparison.neighbourOverlap(spaces[i], wider, queries: 50, k: 5).overlap)
            }
        }
    }

    @Test func levyGoldbergCorrelationIsOneWhenTheDotProductsArePMI() throws {
        // X from a small symmetric matrix; W = the rows of M = PMI_0.75 − log 2, C = identity.
        let x = DenseCSR([[0, 4, 1, 0], [4, 0, 2, 3], [1, 2, 0, 5], [0, 3, 5, 0]])
        let k = 2, cds = 0.75
        let n = 4
        let sums = (0..<n).map { i in Double((Int(x.rowStart[i])..<Int(x.rowStart[i + 1])).reduce(Float(0)) { $0 + x.values[$1] }) }
        let z = sums.reduce(0) { $0 + pow($1, cds) }
        var w = [Float](repeating: 0, count: n * n), c = [Float](repeating: 0, count: n * n)
        for i in 0..<n {
            c[i * n + i] = 1
            for e in Int(x.rowStart[i])..<Int(x.rowStart[i + 1]) {
                let j = Int(x.columns[e])
                w[i * n + j] = Float(log(Double(x.values[e]) * z / (sums[i] * pow(sums[j], cds))) - log(Double(k)))
            }
        }
        let r = x.with { m in
            SpaceComparison.levyGoldberg(input: MappedArray(w), output: MappedArray(c), dimension: n, matrix: m,
                                         negatives: k, cds: cds, samples: 200)
        }
        #expect(r != nil)
        #expect(abs(r!.pearson - 1) < 1e-5 && abs(r!.spearman - 1) < 1e-9)
        #expect(r!.pairs == 10)  // every non-zero entry once
    }
}
