import CLinearAlgebra
import Foundation
import Pipeline
import Testing
@testable import Stages

@Suite("PPMI-SVD")
struct PPMISVDTests {
    /// The corpus "a b c" with a window of 1 and uniform weights: X_ab = X_ba = X_bc = X_cb = 1,
    /// row sums a 1, b 2, c 1.
    let abc = DenseCSR([[0, 1, 0], [1, 0, 1], [0, 1, 0]])

    func value(_ p: PPMIMatrix, _ x: DenseCSR, _ i: Int, _ j: Int) -> (Float, Float)? {
        for e in Int(x.rowStart[i])..<Int(x.rowStart[i + 1]) where Int(x.columns[e]) == j { return (p.m[e], p.mt[e]) }
        return nil
    }

    @Test func ppmiOfAThreeWordCorpusByHand() {
        abc.with { x in
            // No smoothing: PMI(w, c) = log(X_wc · D / (#w · #c)), D = 4.
            let plain = PPMIMatrix(x, shift: 1, cds: 1)
            #expect(abs(value(plain, abc, 0, 1)!.0 - Float(log(4.0 / 2))) < 1e-6)  // a,b: 1·4/(1·2)
            #expect(abs(value(plain, abc, 1, 0)!.0 - Float(log(4.0 / 2))) < 1e-6)
            #expect(abs(value(plain, abc, 1, 2)!.0 - Float(log(4.0 / 2))) < 1e-6)
            #expect(value(plain, abc, 0, 2) == nil)  // never together: not stored
            #expect(plain.positive == 4)
            // cds 0.75: P_α(c) = #c^0.75 / Σ #c'^0.75 with Σ = 1 + 2^0.75 + 1.
            let z = 2 + pow(2.0, 0.75)
            let smoothed = PPMIMatrix(x, shift: 1, cds: 0.75)
            let ab = log((1.0 / 4) / ((1.0 / 4) * (pow(2.0, 0.75) / z)))  // P(a,b)/(P(a) P_α(b))
            let ba = log((1.0 / 4) / ((2.0 / 4) * (1 / z)))
            #expect(abs(Double(value(smoothed, abc, 0, 1)!.0) - ab) < 1e-5)
            #expect(abs(Double(value(smoothed, abc, 1, 0)!.0) - ba) < 1e-5)
            // mt holds M transposed: the value of (b, a) at the entry (a, b).
            #expect(value(smoothed, abc, 0, 1)!.1 == value(smoothed, abc, 1, 0)!.0)
            // Shift log 2: every PMI of log 2 becomes 0 (not positive).
            let shifted = PPMIMatrix(x, shift: 2, cds: 1)
            #expect(shifted.positive == 0 && shifted.m.allSatisfy { $0 == 0 })
        }
    }

    /// A random sparse non-negative n × n matrix with a symmetric pattern and low-rank structure.
    func randomMatrix(_ n: Int, seed: UInt64) -> [[Float]] {
        var rng = Word2VecRandom(seed: seed, worker: 0)
        var a = [[Float]](repeating: [Float](repeating: 0, count: n), count: n)
        for i in 0..<n {
            for j in i..<n where rng.unitFloat() < 0.4 {
                let v = 1 + 20 * rng.unitFloat() * (((i % 3) == (j % 3)) ? 3 : 1)
                a[i][j] = v; a[j][i] = v
            }
        }
        return a
    }

    /// The exact singular values of a dense row-major matrix (LAPACK).
    func exactSingularValues(_ dense: [Float], _ n: Int) -> [Float] {
        var a = dense
        var s = [Float](repeating: 0, count: n)
        var u = [Float](repeating: 0, count: n * n), vt = u
        let info = LAPACKE_sgesdd(LAPACK_ROW_MAJOR, CChar(UInt8(ascii: "A")), Int32(n), Int32(n), &a, Int32(n), &s, &u, Int32(n), &vt, Int32(n))
        #expect(info == 0)
        return s
    }

    @Test func randomisedSVDMatchesTheExactDecomposition() throws {
        let n = 40, rank = 6
        let x = DenseCSR(randomMatrix(n, seed: 5))
        try x.with { pattern in
            let ppmi = PPMIMatrix(pattern, shift: 1, cds: 0.75)
            // Dense M from the PPMI values.
            var dense = [Float](repeating: 0, count: n * n)
            for i in 0..<n { for e in Int(x.rowStart[i])..<Int(x.rowStart[i + 1]) { dense[i * n + Int(x.columns[e])] = ppmi.m[e] } }
            let exact = exactSingularValues(dense, n)
            var s = PPMISettings()
            s.oversampling = 10; s.powerIterations = 4; s.seed = 9
            let (u, sigma) = try PPMISVD.leftSingular(pattern, ppmi, rank: rank, settings: s)
            for k in 0..<rank { #expect(abs(sigma[k] - exact[k]) <= 1e-3 * exact[0], "σ\(k): \(sigma[k]) vs \(exact[k])") }
            // U's columns are orthonormal and M Mᵀ u_k = σ_k² u_k.
            for a in 0..<rank {
                for b in 0..<rank {
                    var dot: Float = 0
                    for i in 0..<n { dot += u[i * rank + a] * u[i * rank + b] }
                    #expect(abs(dot - (a == b ? 1 : 0)) < 1e-3)
                }
            }
            for k in 0..<3 {
                // w = Mᵀ u_k, then M w, compared with σ² u_k.
                var w = [Float](repeating: 0, count: n)
                for i in 0..<n { for j in 0..<n { w[j] += dense[i * n + j] * u[i * rank + k] } }
                var err: Float = 0, norm: Float = 0
                for i in 0..<n {
                    var mw: Float = 0
                    for j in 0..<n { mw += dense[i * n + j] * w[j] }
                    let target = sigma[k] * sigma[k] * u[i * rank + k]
                    err += (mw - target) * (mw - target); norm += target * target
                }
                #expect((err / norm).squareRoot() < 1e-2, "singular vector \(k)")
            }
            // With the full sketch (l = n) the truncation error equals the exact tail: reconstruction
            // ‖M − U Uᵀ M‖_F² = Σ_{k ≥ rank} σ_k².
            s.oversampling = n
            let full = try PPMISVD.leftSingular(pattern, ppmi, rank: rank, settings: s)
            var residual: Double = 0
            var uum = [Float](repeating: 0, count: n * n)
            for i in 0..<n {
                for j in 0..<n {
                    var acc: Float = 0
                    for k in 0..<rank {
                        var ukm: Float = 0
                        for r in 0..<n { ukm += full.u[r * rank + k] * dense[r * n + j] }
                        acc += full.u[i * rank + k] * ukm
                    }
                    uum[i * n + j] = acc
                    residual += Double((dense[i * n + j] - acc) * (dense[i * n + j] - acc))
                }
            }
            let tail = exact[rank...].reduce(0.0) { $0 + Double($1) * Double($1) }
            #expect(abs(residual - tail) <= 1e-3 * tail + 1e-3)
        }
    }

    @Test func sameSeedSameVectorsAndEigWeighting() throws {
        let x = DenseCSR(randomMatrix(30, seed: 2))
        try x.with { pattern in
            var s = PPMISettings()
            s.dimension = 4; s.threads = 1
            let a = try PPMISVD.vectors(pattern, settings: s)
            let b = try PPMISVD.vectors(pattern, settings: s)
            #expect(a.vectors.map(\.bitPattern) == b.vectors.map(\.bitPattern))
            s.eig = 0
            let unweighted = try PPMISVD.vectors(pattern, settings: s)
            // eig 0.5 scales column k by σ_k^0.5.
            for k in 0..<4 {
                let ratio = a.vectors[k] / unweighted.vectors[k]
                #expect(abs(ratio - a.sigma[k].squareRoot()) < 1e-3 * a.sigma[k].squareRoot())
            }
            s.dimension = 31
            #expect(throws: PPMIError.self) { _ = try PPMISVD.vectors(pattern, settings: s) }
        }
    }
}
