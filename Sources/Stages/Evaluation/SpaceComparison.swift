import Foundation
import Pipeline

/// How similar two embedding spaces are (not only how good), and how close skip-gram comes to
/// the matrix it implicitly factorises.
public enum SpaceComparison {
    /// The mean share of common words in the top-`k` neighbour lists (cosine) of the `queries`
    /// most frequent words, over the vocabulary both spaces have (in `a`'s order, which for our
    /// embeddings is most frequent first). 1 = the same neighbours, 0 = none in common.
    public static func neighbourOverlap(_ a: WordVectors, _ b: WordVectors, queries: Int = 1000, k: Int = 10,
                                        threads: Int = 1) -> (overlap: Double, words: Int) {
        neighbourOverlaps([a, b], queries: queries, k: k, threads: threads)[0][1]
    }

    /// `neighbourOverlap` for every pair of `spaces` (a symmetric matrix, 1 on the diagonal).
    /// Each space's neighbour lists are computed once when all spaces have the same words in
    /// the same order (one vocabulary, as in an experiment comparing methods), else per pair.
    public static func neighbourOverlaps(_ spaces: [WordVectors], queries: Int = 1000, k: Int = 10,
                                         threads: Int = 1) -> [[(overlap: Double, words: Int)]] {
        let n = spaces.count
        var out = [[(overlap: Double, words: Int)]](repeating: [(overlap: Double, words: Int)](repeating: (1, 0), count: n), count: n)
        guard n >= 2 else { return out }
        let shared = spaces.dropFirst().allSatisfy { $0.words == spaces[0].words }
        var cached: [[[Int]]] = []
        if shared {
            let rows = Array(0..<spaces[0].count)
            let q = min(queries, rows.count)
            if q > 0, rows.count > k {
                cached = spaces.map { neighbours($0, rows: rows, queries: q, k: k, threads: threads) }
            }
        }
        for i in 0..<n {
            for j in (i + 1)..<n {
                let r: (overlap: Double, words: Int)
                if shared {
                    r = cached.isEmpty ? (0, 0) : overlap(cached[i], cached[j], k: k)
                } else {
                    var rowsA: [Int] = [], rowsB: [Int] = []
                    for (x, w) in spaces[i].words.enumerated() { if let y = spaces[j].index[w] { rowsA.append(x); rowsB.append(y) } }
                    let q = min(queries, rowsA.count)
                    if q > 0, rowsA.count > k {
                        r = overlap(neighbours(spaces[i], rows: rowsA, queries: q, k: k, threads: threads),
                                    neighbours(spaces[j], rows: rowsB, queries: q, k: k, threads: threads), k: k)
                    } else {
                        r = (0, 0)
                    }
                }
                out[i][j] = r
                out[j][i] = r
            }
        }
        return out
    }

    static func overlap(_ a: [[Int]], _ b: [[Int]], k: Int) -> (overlap: Double, words: Int) {
        var common = 0
        for i in 0..<a.count { common += Set(a[i]).intersection(b[i]).count }
        return (Double(common) / Double(max(1, a.count * k)), a.count)
    }

    /// The top-`k` neighbours (positions in `rows`) of the first `queries` of `rows`, among `rows`.
    static func neighbours(_ v: WordVectors, rows: [Int], queries: Int, k: Int, threads: Int) -> [[Int]] {
        let d = v.dimension
        var unit = [Float](repeating: 0, count: rows.count * d)
        for (r, i) in rows.enumerated() {
            let x = v.vector(at: i)
            var norm: Float = 0
            for e in x { norm += e * e }
            let s = norm > 0 ? 1 / norm.squareRoot() : 0
            for (t, e) in x.enumerated() { unit[r * d + t] = e * s }
        }
        let panel = EvalKernels.Panel(vectors: unit, rows: rows.count, dim: d)
        var out: [[Int]] = []
        out.reserveCapacity(queries)
        var start = 0
        while start < queries {
            let count = min(64, queries - start)
            let sims = EvalKernels.similarities(queries: Array(unit[(start * d)..<((start + count) * d)]), count: count,
                                                panel: panel, threads: threads)
            for qi in 0..<count {
                var top = TopK(k: k)
                let base = qi * panel.paddedRows
                for r in 0..<rows.count where r != start + qi { top.offer(sims[base + r], r) }
                out.append(top.items.map(\.index))
            }
            start += count
        }
        return out
    }

    /// Levy & Goldberg (2014): skip-gram with K negatives drawn from unigram^cds implicitly
    /// factorises M = PMI_cds − log K, so w·c should track M on pairs seen together. Returns
    /// the Pearson and Spearman correlations of wᵢ·c̃ⱼ with Mᵢⱼ over `samples` non-zero entries
    /// of the co-occurrence matrix with a (weighted) count of at least `minimumCount`, drawn
    /// uniformly (seeded), or over all of them when there are no more than `samples`.
    public static func levyGoldberg(input: MappedArray<Float>, output: MappedArray<Float>, dimension d: Int,
                                    matrix x: CSRMatrix, negatives: Int, cds: Double, samples: Int = 10_000,
                                    minimumCount: Float = 0, seed: UInt64 = 1) -> (pearson: Double, spearman: Double, pairs: Int)? {
        let n = x.size
        let nnz = Int(x.rowStart[n])
        guard nnz > 0, input.count == n * d, output.count == n * d else { return nil }
        let pmi = SmoothedPMI(x, cds: cds)
        var rng = Word2VecRandom(seed: seed, worker: -5)
        var dots: [Double] = [], pmis: [Double] = []
        // Entries at or above `minimumCount`: all of them when there are few, else drawn uniformly.
        var eligible = 0
        for v in x.values where v >= minimumCount && v > 0 { eligible += 1 }
        guard eligible > 0 else { return nil }
        var picks: [Int] = []
        if eligible <= samples {
            for e in 0..<nnz where x.values[e] >= minimumCount && x.values[e] > 0 { picks.append(e) }
        } else {
            while picks.count < samples {
                let e = Int(UInt64(nnz).multipliedFullWidth(by: rng.next()).high)
                if x.values[e] >= minimumCount && x.values[e] > 0 { picks.append(e) }
            }
        }
        for e in picks {
            // The row of entry e: the last row starting at or before it.
            var lo = 0, hi = n
            while hi - lo > 1 { let mid = (lo + hi) / 2; if Int(x.rowStart[mid]) <= e { lo = mid } else { hi = mid } }
            let i = lo, j = Int(x.columns[e])
            let v = Double(x.values[e])
            let m = pmi.value(i, j, count: v, minus: log(Double(negatives)))
            guard v > 0, m.isFinite else { continue }
            pmis.append(m)
            var dot: Float = 0
            for t in 0..<d { dot += input[i * d + t] * output[j * d + t] }
            dots.append(Double(dot))
        }
        guard let p = SimilarityEvaluator.pearson(dots, pmis), let s = SimilarityEvaluator.spearman(dots, pmis) else { return nil }
        return (p, s, dots.count)
    }
}
