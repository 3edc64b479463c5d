import Foundation

/// Internal numeric kernels shared by nearest-neighbour search and the evaluators.
enum EvalKernels {

    /// Dot product of two length-`n` float arrays.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD16<Float>()
        var i = 0
        while i + 16 <= n {
            let x = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD16<Float>.self)
            let y = UnsafeRawPointer(b + i).loadUnaligned(as: SIMD16<Float>.self)
            acc += x * y
            i += 16
        }
        var s = acc.sum()
        while i < n { s += a[i] * b[i]; i += 1 }
        return s
    }

    static func threadCount(_ requested: Int?) -> Int {
        max(1, requested ?? ProcessInfo.processInfo.activeProcessorCount)
    }

    /// Vocabulary rows packed as panels of 16 rows, transposed so that for every
    /// dimension the 16 row values are contiguous: data[(block*dim + d)*16 + lane].
    /// Rows past `rows` (padding) are zero.
    struct Panel {
        let rows: Int
        let dim: Int
        let blocks: Int
        let data: [Float]

        init(vectors: [Float], rows: Int, dim: Int) {
            self.rows = rows
            self.dim = dim
            self.blocks = (rows + 15) / 16
            var data = [Float](repeating: 0, count: blocks * dim * 16)
            vectors.withUnsafeBufferPointer { v in
                data.withUnsafeMutableBufferPointer { p in
                    for r in 0..<rows {
                        let b = r >> 4, l = r & 15
                        let base = b * dim * 16 + l
                        let src = r * dim
                        for d in 0..<dim { p[base + d * 16] = v[src + d] }
                    }
                }
            }
            self.data = data
        }

        var paddedRows: Int { blocks * 16 }
    }

    /// Dot products of `count` query vectors (row-major, count × dim) with every
    /// panel row. Result is count × panel.paddedRows, row-major (one row per query).
    static func similarities(queries: [Float], count: Int, panel: Panel, threads: Int) -> [Float] {
        let dim = panel.dim
        let stride = panel.paddedRows
        precondition(queries.count == count * dim)
        var out = [Float](repeating: 0, count: count * stride)
        if count == 0 || panel.blocks == 0 { return out }
        let chunks = min(panel.blocks, max(1, threads * 8))
        queries.withUnsafeBufferPointer { qbuf in
            panel.data.withUnsafeBufferPointer { pbuf in
                out.withUnsafeMutableBufferPointer { obuf in
                    guard let qa = qbuf.baseAddress, let pa = pbuf.baseAddress, let oa = obuf.baseAddress else { return }
                    let q = WorkerPointer(qa), p = WorkerPointer(pa), o = WorkerPointer(oa)
                    // Each chunk writes only its own blocks' columns of `out`.
                    Parallel.forEach(chunks, threads: threads) { chunk in
                        let lo = panel.blocks * chunk / chunks
                        let hi = panel.blocks * (chunk + 1) / chunks
                        for b in lo..<hi {
                            let pb = UnsafeRawPointer(p + b * dim * 16)
                            let ob = UnsafeMutableRawPointer(o + b * 16)
                            var qi = 0
                            while qi + 4 <= count {
                                let q0 = q + qi * dim, q1 = q0 + dim, q2 = q1 + dim, q3 = q2 + dim
                                var a0 = SIMD16<Float>(), a1 = SIMD16<Float>()
                                var a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
                                for d in 0..<dim {
                                    let v = pb.loadUnaligned(fromByteOffset: d * 64, as: SIMD16<Float>.self)
                                    a0 += v * q0[d]
                                    a1 += v * q1[d]
                                    a2 += v * q2[d]
                                    a3 += v * q3[d]
                                }
                                ob.storeBytes(of: a0, toByteOffset: (qi) * stride * 4, as: SIMD16<Float>.self)
                                ob.storeBytes(of: a1, toByteOffset: (qi + 1) * stride * 4, as: SIMD16<Float>.self)
                                ob.storeBytes(of: a2, toByteOffset: (qi + 2) * stride * 4, as: SIMD16<Float>.self)
                                ob.storeBytes(of: a3, toByteOffset: (qi + 3) * stride * 4, as: SIMD16<Float>.self)
                                qi += 4
                            }
                            while qi < count {
                                let q0 = q + qi * dim
                                var a0 = SIMD16<Float>()
                                for d in 0..<dim {
                                    a0 += pb.loadUnaligned(fromByteOffset: d * 64, as: SIMD16<Float>.self) * q0[d]
                                }
                                ob.storeBytes(of: a0, toByteOffset: qi * stride * 4, as: SIMD16<Float>.self)
                                qi += 1
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Best 3CosAdd and 3CosMul answers for one question, given the similarity rows
    /// of a, b, c against the (padded) restricted vocabulary. `n` is the number of
    /// real rows; indices a, b, c are excluded. Returns -1 when there is no candidate.
    /// Ties go to the lower index (the more frequent word).
    ///
    /// Vector loop only tests whether a block of 16 candidates can beat the running
    /// best (rarely true after the first blocks); such blocks are rescanned exactly.
    @inline(__always)
    static func bestAnswers(sa: UnsafePointer<Float>, sb: UnsafePointer<Float>, sc: UnsafePointer<Float>,
                            n: Int, blocks: Int, excluding ia: Int, _ ib: Int, _ ic: Int,
                            epsilon: Float) -> (add: Int, mul: Int) {
        var thrAdd = -Float.infinity, thrMul = -Float.infinity
        var bestAdd = -1, bestMul = -1
        let one = SIMD16<Float>(repeating: 1)
        let twoEps = SIMD16<Float>(repeating: 1 + 2 * epsilon)
        // 3CosMul = ((b+1)/2)((c+1)/2)/((a+1)/2 + ε) = (b+1)(c+1) / (2(a + 1 + 2ε)); the
        // filter compares numerator against threshold × denominator with a little slack
        // (never misses a candidate), the exact value is computed in the rescan.
        let slack: Float = 1 - 1e-5
        let pa = UnsafeRawPointer(sa), pb = UnsafeRawPointer(sb), pc = UnsafeRawPointer(sc)
        for blk in 0..<blocks {
            let off = blk * 64
            let va = pa.loadUnaligned(fromByteOffset: off, as: SIMD16<Float>.self)
            let vb = pb.loadUnaligned(fromByteOffset: off, as: SIMD16<Float>.self)
            let vc = pc.loadUnaligned(fromByteOffset: off, as: SIMD16<Float>.self)
            let add = vb - va + vc
            let num = (vb + one) * (vc + one)
            let den = (va + twoEps) * 2
            let tAdd = SIMD16<Float>(repeating: thrAdd)
            let tMul = SIMD16<Float>(repeating: thrMul > 0 ? thrMul * slack : thrMul)
            let m = (add .> tAdd) .| (num .>= tMul * den)
            if any(m) {
                let base = blk * 16
                for l in 0..<16 {
                    let j = base + l
                    if j >= n || j == ia || j == ib || j == ic { continue }
                    let x = sb[j] - sa[j] + sc[j]
                    if x > thrAdd { thrAdd = x; bestAdd = j }
                    let y = ((sb[j] + 1) * 0.5) * ((sc[j] + 1) * 0.5) / ((sa[j] + 1) * 0.5 + epsilon)
                    if y > thrMul { thrMul = y; bestMul = j }
                }
            }
        }
        return (bestAdd, bestMul)
    }

}

/// Keeps the k best (score, index) pairs; ties go to the lower index.
struct TopK {
    let k: Int
    private(set) var items: [(score: Float, index: Int)] = []

    init(k: Int) { self.k = k; items.reserveCapacity(k + 1) }

    @inline(__always)
    mutating func offer(_ score: Float, _ index: Int) {
        guard k > 0, !score.isNaN else { return }
        if items.count == k, let last = items.last, !(score > last.score) { return }
        var pos = items.count
        while pos > 0 && score > items[pos - 1].score { pos -= 1 }
        items.insert((score, index), at: pos)
        if items.count > k { items.removeLast() }
    }
}
