import Foundation

/// Numerically stable log σ(x) = min(x, 0) − log(1 + e^−|x|). Never computes log(σ(x)).
@inline(__always)
public func stableLogSigmoid(_ x: Double) -> Double {
    if x.isNaN { return x }
    return min(x, 0) - log1p(exp(-abs(x)))
}

@inline(__always)
public func stableLogSigmoid(_ x: Float) -> Float {
    if x.isNaN { return x }
    return min(x, 0) - log1p(exp(-abs(x)))
}

/// Tabulated σ(x) and log σ(x) with linear interpolation on [−10, 10].
///
/// Outside the range σ is clamped to exactly 0 / 1 (as word2vec.c's MAX_EXP clamp, so the gradient
/// vanishes for a confidently-correct prediction) and log σ falls back to `stableLogSigmoid`.
/// NaN input gives σ = 0 and log σ = NaN; nothing traps.
public struct SigmoidTable: Sendable {
    public static let range: Float = 10
    public static let size = 4096
    let sig: [Float]
    let logSig: [Float]

    public init() {
        let n = SigmoidTable.size
        var s = [Float](repeating: 0, count: n + 2)
        var l = [Float](repeating: 0, count: n + 2)
        for i in 0...(n + 1) {
            let x = (Double(i) / Double(n) * 2 - 1) * Double(SigmoidTable.range)
            s[i] = Float(1 / (1 + exp(-x)))
            l[i] = Float(stableLogSigmoid(x))
        }
        sig = s
        logSig = l
    }

    public func sigmoid(_ x: Float) -> Float {
        withView { $0.sigmoid(x) }
    }

    public func logSigmoid(_ x: Float) -> Float {
        withView { $0.logSigmoid(x) }
    }

    /// Calls `body` with a pointer-based view (valid only inside `body`).
    public func withView<R>(_ body: (SigmoidView) throws -> R) rethrows -> R {
        try sig.withUnsafeBufferPointer { s in
            try logSig.withUnsafeBufferPointer { l in
                try body(SigmoidView(sig: s.baseAddress!, logSig: l.baseAddress!))
            }
        }
    }
}

/// Pointer view of a `SigmoidTable` for hot loops.
public struct SigmoidView {
    public let sig: UnsafePointer<Float>
    public let logSig: UnsafePointer<Float>

    static let scale = Float(SigmoidTable.size) / (2 * SigmoidTable.range)

    @inline(__always)
    public func sigmoid(_ x: Float) -> Float {
        if x >= SigmoidTable.range { return 1 }
        if !(x > -SigmoidTable.range) { return 0 }
        let t = (x + SigmoidTable.range) * SigmoidView.scale
        let i = Int(t)
        let f = t - Float(i)
        let a = sig[i], b = sig[i &+ 1]
        return a + f * (b - a)
    }

    @inline(__always)
    public func logSigmoid(_ x: Float) -> Float {
        if !(x > -SigmoidTable.range && x < SigmoidTable.range) { return stableLogSigmoid(x) }
        let t = (x + SigmoidTable.range) * SigmoidView.scale
        let i = Int(t)
        let f = t - Float(i)
        let a = logSig[i], b = logSig[i &+ 1]
        return a + f * (b - a)
    }
}
