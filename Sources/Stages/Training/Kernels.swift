import Foundation

/// The single-update kernels of SGNS and CBOW, on raw row-major tables.
///
/// Each function performs exactly one word2vec.c-style SGD step with learning rate `alpha` and
/// returns the loss of that step *before* the update:
/// `−log σ(h·out[t₀]) − Σ_{k≥1} log σ(−h·out[t_k])`, where `t₀ = targets[0]` is the positive target
/// and `targets[1..<targetCount]` are the negatives.
public enum Kernels {
    /// One skip-gram negative-sampling update for the pair (input row `inputRow`, targets).
    ///
    /// As word2vec.c: for each target, `g = (label − σ(f))·alpha`; the input-row gradient is
    /// accumulated in `neu1e` (from the output row *before* its update), the output row gets
    /// `g · input`, and finally `input += neu1e`.
    /// - Parameter neu1e: scratch of `dimension` floats.
    @inline(__always)
    public static func sgnsPair(input: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>,
                                dimension: Int, inputRow: Int,
                                targets: UnsafePointer<Int32>, targetCount: Int,
                                alpha: Float, neu1e: UnsafeMutablePointer<Float>,
                                sigmoid: SigmoidView) -> Float {
        let l1 = input + inputRow &* dimension
        neu1e.update(repeating: 0, count: dimension)
        let loss = applyTargets(h: l1, output: output, dimension: dimension, targets: targets,
                                targetCount: targetCount, alpha: alpha, neu1e: neu1e, sigmoid: sigmoid)
        VectorMath.axpy(1, UnsafePointer(neu1e), l1, dimension)
        return loss
    }

    /// One CBOW negative-sampling update: the hidden vector is the sum (or, if `mean`, the mean) of
    /// the context input rows; it predicts `targets[0]`. As word2vec.c, the full error `neu1e` is
    /// added to every context input row (also in the mean case, where the exact gradient would be
    /// `neu1e / contextCount`).
    /// - Parameters:
    ///   - hidden, neu1e: scratch of `dimension` floats each.
    @inline(__always)
    public static func cbow(input: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>,
                            dimension: Int,
                            contextRows: UnsafePointer<Int32>, contextCount: Int,
                            targets: UnsafePointer<Int32>, targetCount: Int,
                            alpha: Float, mean: Bool,
                            hidden: UnsafeMutablePointer<Float>, neu1e: UnsafeMutablePointer<Float>,
                            sigmoid: SigmoidView) -> Float {
        guard contextCount > 0 else { return 0 }
        hidden.update(from: input + Int(contextRows[0]) &* dimension, count: dimension)
        var c = 1
        while c < contextCount {
            VectorMath.axpy(1, input + Int(contextRows[c]) &* dimension, hidden, dimension)
            c &+= 1
        }
        if mean && contextCount > 1 {
            let s = 1 / Float(contextCount)
            for i in 0..<dimension { hidden[i] *= s }
        }
        neu1e.update(repeating: 0, count: dimension)
        let loss = applyTargets(h: hidden, output: output, dimension: dimension, targets: targets,
                                targetCount: targetCount, alpha: alpha, neu1e: neu1e, sigmoid: sigmoid)
        c = 0
        while c < contextCount {
            VectorMath.axpy(1, UnsafePointer(neu1e), input + Int(contextRows[c]) &* dimension, dimension)
            c &+= 1
        }
        return loss
    }

    /// Batched skip-gram update for one centre word (HogBatch, Ji et al. 2016): every context row
    /// in `contextRows` is paired with the same targets (`targets[0]` = the centre word, the rest
    /// shared negatives). First all `contextCount × targetCount` scores are computed from the
    /// current tables and turned into `G[c,k] = (label − σ)·alpha`; then, one SIMD chunk of the
    /// dimension at a time, `in[c] += Σ_k G[c,k]·out[t_k]` and `outGrad[k] += G[c,k]·in[c]` (old
    /// rows), and finally `out[t_k] += outGrad[k]`. Returns the summed loss of all pairs.
    /// - Parameters:
    ///   - scores: scratch of `contextCount × targetCount` floats.
    ///   - outGrad: scratch of `targetCount × dimension` floats.
    public static func sgnsBatch(input: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>,
                                 dimension: Int,
                                 contextRows: UnsafePointer<Int32>, contextCount: Int,
                                 targets: UnsafePointer<Int32>, targetCount: Int,
                                 alpha: Float,
                                 scores: UnsafeMutablePointer<Float>,
                                 outGrad: UnsafeMutablePointer<Float>,
                                 sigmoid: SigmoidView) -> Float {
        let dim = dimension
        var loss: Float = 0
        // Scores → G (in place).
        for c in 0..<contextCount {
            let ic = UnsafePointer(input + Int(contextRows[c]) &* dim)
            let gc = scores + c &* targetCount
            for k in 0..<targetCount {
                let f = VectorMath.dot(ic, output + Int(targets[k]) &* dim, dim)
                if k == 0 {
                    gc[0] = (1 - sigmoid.sigmoid(f)) * alpha
                    loss -= sigmoid.logSigmoid(f)
                } else {
                    gc[k] = -sigmoid.sigmoid(f) * alpha
                    loss -= sigmoid.logSigmoid(-f)
                }
            }
        }
        outGrad.update(repeating: 0, count: targetCount &* dim)
        let og = UnsafeMutableRawPointer(outGrad)
        let out = UnsafeMutableRawPointer(output)
        for c in 0..<contextCount {
            let icp = input + Int(contextRows[c]) &* dim
            let ic = UnsafeMutableRawPointer(icp)
            let gc = scores + c &* targetCount
            var i = 0
            while i &+ 16 <= dim {
                let off = i &* 4
                let x = ic.loadUnaligned(fromByteOffset: off, as: SIMD16<Float>.self)
                var e = SIMD16<Float>()
                for k in 0..<targetCount {
                    let g = SIMD16<Float>(repeating: gc[k])
                    let ooff = (Int(targets[k]) &* dim &+ i) &* 4
                    e += g * out.loadUnaligned(fromByteOffset: ooff, as: SIMD16<Float>.self)
                    let goff = (k &* dim &+ i) &* 4
                    og.storeBytes(of: og.loadUnaligned(fromByteOffset: goff, as: SIMD16<Float>.self) + g * x,
                                  toByteOffset: goff, as: SIMD16<Float>.self)
                }
                ic.storeBytes(of: x + e, toByteOffset: off, as: SIMD16<Float>.self)
                i &+= 16
            }
            while i &+ 4 <= dim {
                let off = i &* 4
                let x = ic.loadUnaligned(fromByteOffset: off, as: SIMD4<Float>.self)
                var e = SIMD4<Float>()
                for k in 0..<targetCount {
                    let g = SIMD4<Float>(repeating: gc[k])
                    let ooff = (Int(targets[k]) &* dim &+ i) &* 4
                    e += g * out.loadUnaligned(fromByteOffset: ooff, as: SIMD4<Float>.self)
                    let goff = (k &* dim &+ i) &* 4
                    og.storeBytes(of: og.loadUnaligned(fromByteOffset: goff, as: SIMD4<Float>.self) + g * x,
                                  toByteOffset: goff, as: SIMD4<Float>.self)
                }
                ic.storeBytes(of: x + e, toByteOffset: off, as: SIMD4<Float>.self)
                i &+= 4
            }
            while i < dim {
                let x = icp[i]
                var e: Float = 0
                for k in 0..<targetCount {
                    let g = gc[k]
                    e += g * output[Int(targets[k]) &* dim &+ i]
                    outGrad[k &* dim &+ i] += g * x
                }
                icp[i] = x + e
                i &+= 1
            }
        }
        for k in 0..<targetCount {
            VectorMath.axpy(1, UnsafePointer(outGrad + k &* dim), output + Int(targets[k]) &* dim, dim)
        }
        return loss
    }
}

extension Kernels {
    /// Negative-sampling step shared by SGNS and CBOW for hidden vector `h`: all scores
    /// `h·out[t]` are computed first (independent loads, so the cache misses of the negatives'
    /// rows overlap), then for each target `g = (label − σ(f))·alpha`, `neu1e += g·out[t]` and
    /// `out[t] += g·h`. Identical to word2vec.c's interleaved order unless a target repeats.
    @inline(__always)
    static func applyTargets(h: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>, dimension: Int,
                             targets: UnsafePointer<Int32>, targetCount: Int, alpha: Float,
                             neu1e: UnsafeMutablePointer<Float>, sigmoid: SigmoidView) -> Float {
        // Scores on the stack for the usual K ≤ 15.
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: targetCount) { f in
            let hp = UnsafePointer(h)
            var d = 0
            while d < targetCount {
                f[d] = VectorMath.dot(hp, output + Int(targets[d]) &* dimension, dimension)
                d &+= 1
            }
            var loss: Float = 0
            d = 0
            while d < targetCount {
                let x = f[d]
                let g: Float
                if d == 0 {
                    g = (1 - sigmoid.sigmoid(x)) * alpha
                    loss -= sigmoid.logSigmoid(x)
                } else {
                    g = -sigmoid.sigmoid(x) * alpha
                    loss -= sigmoid.logSigmoid(-x)
                }
                VectorMath.accumulateAndUpdate(g, out: output + Int(targets[d]) &* dimension, h: hp, acc: neu1e, dimension)
                d &+= 1
            }
            return loss
        }
    }

    /// Convenience wrapper of `sgnsPair` on matrices (allocates scratch; for tests and tools).
    public static func sgnsUpdate(input: EmbeddingMatrix, output: EmbeddingMatrix, inputRow: Int,
                                  targets: [Int], alpha: Float, sigmoid: SigmoidTable = SigmoidTable()) -> Float {
        precondition(input.dimension == output.dimension)
        let t = targets.map { Int32($0) }
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: input.dimension)
        defer { scratch.deallocate() }
        return sigmoid.withView { s in
            t.withUnsafeBufferPointer { tb in
                input.withUnsafeMutablePointer { inPtr in
                    output.withUnsafeMutablePointer { outPtr in
                        sgnsPair(input: inPtr, output: outPtr, dimension: input.dimension, inputRow: inputRow,
                                 targets: tb.baseAddress!, targetCount: tb.count, alpha: alpha, neu1e: scratch, sigmoid: s)
                    }
                }
            }
        }
    }

    /// Convenience wrapper of `cbow` on matrices (allocates scratch; for tests and tools).
    public static func cbowUpdate(input: EmbeddingMatrix, output: EmbeddingMatrix, contextRows: [Int],
                                  targets: [Int], alpha: Float, mean: Bool,
                                  sigmoid: SigmoidTable = SigmoidTable()) -> Float {
        precondition(input.dimension == output.dimension)
        let t = targets.map { Int32($0) }
        let c = contextRows.map { Int32($0) }
        let dim = input.dimension
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 * dim)
        defer { scratch.deallocate() }
        return sigmoid.withView { s in
            t.withUnsafeBufferPointer { tb in
                c.withUnsafeBufferPointer { cb in
                    input.withUnsafeMutablePointer { inPtr in
                        output.withUnsafeMutablePointer { outPtr in
                            cbow(input: inPtr, output: outPtr, dimension: dim,
                                 contextRows: cb.baseAddress!, contextCount: cb.count,
                                 targets: tb.baseAddress!, targetCount: tb.count, alpha: alpha, mean: mean,
                                 hidden: scratch, neu1e: scratch + dim, sigmoid: s)
                        }
                    }
                }
            }
        }
    }

    /// Convenience wrapper of `sgnsBatch` on matrices (allocates scratch; for tests and tools).
    public static func sgnsBatchUpdate(input: EmbeddingMatrix, output: EmbeddingMatrix, contextRows: [Int],
                                       targets: [Int], alpha: Float,
                                       sigmoid: SigmoidTable = SigmoidTable()) -> Float {
        let dim = input.dimension
        let t = targets.map { Int32($0) }
        let c = contextRows.map { Int32($0) }
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: max(1, c.count * t.count))
        let outGrad = UnsafeMutablePointer<Float>.allocate(capacity: max(1, t.count * dim))
        defer { scores.deallocate(); outGrad.deallocate() }
        return sigmoid.withView { s in
            t.withUnsafeBufferPointer { tb in
                c.withUnsafeBufferPointer { cb in
                    input.withUnsafeMutablePointer { inPtr in
                        output.withUnsafeMutablePointer { outPtr in
                            sgnsBatch(input: inPtr, output: outPtr, dimension: dim,
                                      contextRows: cb.baseAddress!, contextCount: cb.count,
                                      targets: tb.baseAddress!, targetCount: tb.count, alpha: alpha,
                                      scores: scores, outGrad: outGrad, sigmoid: s)
                        }
                    }
                }
            }
        }
    }
}
