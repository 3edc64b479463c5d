import CLinearAlgebra
import Foundation
import Pipeline

/// PPMI-SVD (Levy, Goldberg & Dagan 2015): the positive pointwise mutual information of a
/// word–context matrix, with context-distribution smoothing and an optional shift, factorised by
/// a truncated SVD; word vectors are U_d Σ_d^eig.
///
/// PMI(w, c) = log X_wc − log #w − cds · log #c + log Σ_c' #c'^cds, where #w and #c are the row
/// and column sums of X (equal here: the co-occurrence matrix is symmetric), and the shifted
/// PPMI is max(0, PMI − log neg). The matrix is not symmetric once cds ≠ 1, so both M and Mᵀ are
/// kept, as values on X's (symmetric) sparsity pattern.
public struct PPMISettings: Sendable, Equatable {
    public var dimension = 100
    /// k in the shift log k (1 = no shift).
    public var shift = 1.0
    /// Context-distribution smoothing exponent (1 = none).
    public var cds = 0.75
    /// Eigenvalue weighting: vectors U Σ^eig (0, 0.5 or 1 in the paper).
    public var eig = 0.5
    /// Randomised SVD (Halko, Martinsson & Tropp 2011): extra columns of the sketch and power
    /// iterations. More of either is closer to the exact SVD and slower.
    public var oversampling = 30
    public var powerIterations = 4
    public var threads = 1
    public var seed: UInt64 = 1
    public init() {}
}

public enum PPMIError: Error, CustomStringConvertible {
    case invalid(String)
    case lapack(String, Int32)
    public var description: String {
        switch self {
        case .invalid(let s): return s
        case .lapack(let f, let info): return "\(f) failed (info \(info)); the PPMI matrix may be degenerate (too few words or co-occurrences for this dim)"
        }
    }
}

/// PMI with context-distribution smoothing over a symmetric co-occurrence matrix X:
/// PMI(i, j) = log X_ij − log #i − cds · log #j + log Σ_c #c^cds (row sums = column sums).
public struct SmoothedPMI: Sendable {
    let logRow: [Double]
    let logSmoothedTotal: Double
    public let cds: Double

    public init(_ x: CSRMatrix, cds: Double) {
        let sums = x.rowSums()
        logRow = sums.map { $0 > 0 ? log($0) : -.infinity }
        logSmoothedTotal = log(sums.reduce(0) { $0 + ($1 > 0 ? pow($1, cds) : 0) })
        self.cds = cds
    }

    /// PMI of row word `i` with context `j` given their weighted count `x` (> 0), minus
    /// `shift` (log k); −∞ when a row is empty.
    @inline(__always)
    public func value(_ i: Int, _ j: Int, count x: Double, minus shift: Double = 0) -> Double {
        log(x) + logSmoothedTotal - shift - logRow[i] - cds * logRow[j]
    }
}

/// The shifted PPMI matrix on X's sparsity pattern: `m[e]` = M_ij and `mt[e]` = M_ji for the
/// entry e = (i, j) of X.
public struct PPMIMatrix {
    public let size: Int
    public var m: [Float]
    public var mt: [Float]
    public var positive: Int

    public init(_ x: CSRMatrix, shift: Double, cds: Double) {
        size = x.size
        let pmi = SmoothedPMI(x, cds: cds)
        let logShift = log(shift)
        var m = [Float](repeating: 0, count: x.values.count), mt = m
        var positive = 0
        for i in 0..<x.size {
            for e in Int(x.rowStart[i])..<Int(x.rowStart[i + 1]) {
                let v = Double(x.values[e])
                guard v > 0 else { continue }
                let j = Int(x.columns[e])
                let a = pmi.value(i, j, count: v, minus: logShift)
                let b = pmi.value(j, i, count: v, minus: logShift)
                if a > 0 { m[e] = Float(a); positive += 1 }
                if b > 0 { mt[e] = Float(b) }
            }
        }
        self.m = m
        self.mt = mt
        self.positive = positive
    }
}

public enum PPMISVD {
    /// Y = A · X for the sparse A (`values` on `pattern`) and dense row-major X (size × l).
    static func multiply(_ pattern: CSRMatrix, _ values: [Float], _ x: [Float], columns l: Int, threads: Int) -> [Float] {
        let n = pattern.size
        var y = [Float](repeating: 0, count: n * l)
        // Row blocks of about equal non-zeros, several per thread for balance.
        let blocks = max(1, min(n, threads * 8))
        let nnz = Int(pattern.rowStart[n])
        var cuts = [0]
        var r = 0
        for b in 1..<blocks {
            let target = UInt64(nnz * b / blocks)
            while r < n && pattern.rowStart[r] < target { r += 1 }
            cuts.append(max(cuts.last!, r))
        }
        cuts.append(n)
        let bounds = cuts
        let rs = WorkerPointer(pattern.rowStart.baseAddress!), cs = WorkerPointer(pattern.columns.baseAddress!)
        values.withUnsafeBufferPointer { vb in
            x.withUnsafeBufferPointer { xb in
                y.withUnsafeMutableBufferPointer { yb in
                    let v = WorkerPointer(vb.baseAddress!), xp = WorkerPointer(xb.baseAddress!), yp = WorkerPointer(yb.baseAddress!)
                    Parallel.forEach(blocks, threads: threads) { b in
                        for i in bounds[b]..<bounds[b + 1] {
                            let out = yp + i * l
                            for e in Int(rs[i])..<Int(rs[i + 1]) {
                                let a = v[e]
                                if a != 0 { VectorMath.axpy(a, UnsafePointer(xp + Int(cs[e]) * l), out, l) }
                            }
                        }
                    }
                }
            }
        }
        return y
    }

    /// Replaces the row-major n × l matrix `a` (n ≥ l) by an orthonormal basis of its columns.
    static func orthonormalize(_ a: inout [Float], rows n: Int, columns l: Int) throws {
        var tau = [Float](repeating: 0, count: l)
        let info1 = LAPACKE_sgeqrf(LAPACK_ROW_MAJOR, Int32(n), Int32(l), &a, Int32(l), &tau)
        guard info1 == 0 else { throw PPMIError.lapack("sgeqrf", info1) }
        let info2 = LAPACKE_sorgqr(LAPACK_ROW_MAJOR, Int32(n), Int32(l), Int32(l), &a, Int32(l), &tau)
        guard info2 == 0 else { throw PPMIError.lapack("sorgqr", info2) }
    }

    /// Standard normal draws (Box–Muller on the seeded generator).
    static func gaussian(_ count: Int, seed: UInt64) -> [Float] {
        var rng = Word2VecRandom(seed: seed, worker: -4)
        var out = [Float](repeating: 0, count: count)
        var i = 0
        while i < count {
            let u1 = max(Double(rng.next() >> 11) * 0x1p-53, 1e-300), u2 = Double(rng.next() >> 11) * 0x1p-53
            let r = (-2 * log(u1)).squareRoot()
            out[i] = Float(r * cos(2 * Double.pi * u2))
            if i + 1 < count { out[i + 1] = Float(r * sin(2 * Double.pi * u2)) }
            i += 2
        }
        return out
    }

    /// The top `rank` left singular vectors (row-major size × rank) and singular values of M,
    /// by randomised SVD. `report` gets the fraction done.
    public static func leftSingular(_ pattern: CSRMatrix, _ ppmi: PPMIMatrix, rank: Int, settings s: PPMISettings,
                                    report: (Double) -> Void = { _ in },
                                    checkCancelled: () throws -> Void = {}) throws -> (u: [Float], sigma: [Float]) {
        let n = pattern.size
        guard rank >= 1, rank <= n else { throw PPMIError.invalid("dim \(rank) must be between 1 and the vocabulary size \(n)") }
        guard pattern.nonZeroCount > 0, ppmi.m.count == pattern.nonZeroCount, ppmi.mt.count == pattern.nonZeroCount else {
            throw PPMIError.invalid("the PPMI matrix has no entries (or was built from another co-occurrence matrix)")
        }
        let l = min(n, rank + max(0, s.oversampling))
        let steps = Double(2 + 2 * s.powerIterations)
        var done = 0.0
        func tick() throws { done += 1; report(done / steps); try checkCancelled() }
        openblas_set_num_threads(Int32(max(1, s.threads)))
        var y = multiply(pattern, ppmi.m, gaussian(n * l, seed: s.seed), columns: l, threads: s.threads)
        try tick()
        for _ in 0..<max(0, s.powerIterations) {
            try orthonormalize(&y, rows: n, columns: l)
            var z = multiply(pattern, ppmi.mt, y, columns: l, threads: s.threads)
            try tick()
            try orthonormalize(&z, rows: n, columns: l)
            y = multiply(pattern, ppmi.m, z, columns: l, threads: s.threads)
            try tick()
        }
        try orthonormalize(&y, rows: n, columns: l)
        // Bᵀ = Mᵀ Q (n × l); Bᵀ = P Σ Wᵀ, so M ≈ Q Qᵀ M = Q B = (Q W) Σ Pᵀ.
        var bt = multiply(pattern, ppmi.mt, y, columns: l, threads: s.threads)
        var sigma = [Float](repeating: 0, count: l)
        var p = [Float](repeating: 0, count: n * l)
        var wt = [Float](repeating: 0, count: l * l)
        let info = LAPACKE_sgesdd(LAPACK_ROW_MAJOR, CChar(UInt8(ascii: "S")), Int32(n), Int32(l), &bt, Int32(l),
                                  &sigma, &p, Int32(l), &wt, Int32(l))
        guard info == 0 else { throw PPMIError.lapack("sgesdd", info) }
        try tick()
        // U = Q · W = Q · (Wᵀ)ᵀ, first `rank` columns.
        var u = [Float](repeating: 0, count: n * l)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(l), Int32(l), 1, y, Int32(l), wt, Int32(l), 0, &u, Int32(l))
        var out = [Float](repeating: 0, count: n * rank)
        for i in 0..<n { for k in 0..<rank { out[i * rank + k] = u[i * l + k] } }
        return (out, Array(sigma[0..<rank]))
    }

    /// Word vectors U_d Σ_d^eig.
    public static func vectors(_ pattern: CSRMatrix, settings s: PPMISettings,
                               report: (Double) -> Void = { _ in },
                               checkCancelled: () throws -> Void = {}) throws -> (vectors: [Float], sigma: [Float], positive: Int) {
        let ppmi = PPMIMatrix(pattern, shift: s.shift, cds: s.cds)
        guard ppmi.positive > 0 else { throw PPMIError.invalid("no positive PMI entries: the co-occurrence matrix is too small or too uniform") }
        var (u, sigma) = try leftSingular(pattern, ppmi, rank: s.dimension, settings: s, report: report, checkCancelled: checkCancelled)
        let d = s.dimension
        let scale = sigma.map { $0 > 0 ? Float(pow(Double($0), s.eig)) : 0 }
        for i in 0..<pattern.size { for k in 0..<d { u[i * d + k] *= scale[k] } }
        return (u, sigma, ppmi.positive)
    }
}
