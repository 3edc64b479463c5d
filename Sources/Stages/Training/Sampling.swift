import Foundation
import CTrainKernels

/// word2vec.c's linear congruential generator: `next = next × 25214903917 + 11 (mod 2⁶⁴)`.
///
/// The low bits of an LCG are weak (bit k has period 2^(k+1)), so every derived draw uses the
/// high bits of the state.
public struct Word2VecRandom: Sendable, Equatable {
    public var state: UInt64

    public init(state: UInt64) {
        self.state = state
    }

    /// A generator for worker `worker` of a run seeded with `seed`; different workers (and
    /// different seeds) start from well-separated states.
    public init(seed: UInt64, worker: Int) {
        state = Word2VecRandom.splitMix64(seed &+ Word2VecRandom.splitMix64(UInt64(truncatingIfNeeded: worker) &+ 0x9E37_79B9_7F4A_7C15))
    }

    @inline(__always)
    public mutating func next() -> UInt64 {
        state = state &* 25_214_903_917 &+ 11
        return state
    }

    /// The top 32 bits of the next state.
    @inline(__always)
    public mutating func nextUInt32() -> UInt32 {
        UInt32(truncatingIfNeeded: next() >> 32)
    }

    /// Uniform integer in 0..<n (n ≥ 1, n < 2³²), by multiply-shift of the top 32 bits.
    @inline(__always)
    public mutating func uniform(below n: Int) -> Int {
        Int(truncatingIfNeeded: (UInt64(nextUInt32()) &* UInt64(truncatingIfNeeded: n)) >> 32)
    }

    /// The top 24 bits of the next number: uniform in 0..<2²⁴ (`unitFloat()` is this × 2⁻²⁴, which
    /// `keepThreshold` relies on).
    @inline(__always)
    public mutating func next24() -> UInt32 {
        UInt32(truncatingIfNeeded: next() >> 40)
    }

    /// Uniform Float in [0, 1) with 24 bits of resolution.
    @inline(__always)
    public mutating func unitFloat() -> Float {
        Float(next24()) * 0x1p-24
    }

    public static func splitMix64(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Window shrinking as word2vec.c does it: the effective radius of each centre word is uniform in
/// 1...window.
@inline(__always)
public func drawWindowRadius(_ window: Int, _ rng: inout Word2VecRandom) -> Int {
    1 &+ rng.uniform(below: window)
}

/// word2vec.c-style subsampling decision for one occurrence: keep with probability
/// `keepProbability`, drawing only when it is below 1 (see `keepThreshold`; the trainer makes the
/// same decision without a branch on the draw).
@inline(__always)
public func keepOccurrence(_ keepProbability: Float, _ rng: inout Word2VecRandom) -> Bool {
    let threshold = keepThreshold(keepProbability)
    return threshold == .max || rng.next24() < threshold
}

/// Subsampling as one integer comparison, for the trainer's inner loop: an occurrence of a word
/// with keep probability `kp` is kept without a draw when `kp < 1` is false (`kp` ≥ 1, or NaN),
/// and otherwise when the draw's top 24 bits `u` (`unitFloat()` = u·2⁻²⁴) satisfy u·2⁻²⁴ < kp,
/// which is u < `keepThreshold(kp)`. `UInt32.max` stands for "keep, no draw" (u < 2²⁴ is then
/// always below it).
public func keepThreshold(_ kp: Float) -> UInt32 {
    if !(kp < 1) { return .max }
    if !(kp > 0) { return 0 }
    // u < kp·2²⁴ (exact in Double) ⟺ u < ⌈kp·2²⁴⌉ for an integer u; at most 2²⁴ here.
    return UInt32((Double(kp) * 16_777_216).rounded(.up))
}

/// Walker/Vose alias table: O(1) draws, with replacement, from a discrete distribution.
///
/// Each bucket packs `(alias << 32) | threshold` into one UInt64 so a draw touches one cache line.
/// A draw takes a bucket from one 32-bit uniform and keeps it if a second one is below the
/// bucket's threshold, otherwise returns its alias.
public struct AliasTable: Sendable {
    public let count: Int
    /// Normalised probabilities the table encodes.
    public let probabilities: [Double]
    let buckets: [UInt64]

    /// Distribution proportional to `weights` (non-negative, not all zero).
    public init(weights: [Double]) {
        let n = weights.count
        precondition(n > 0 && n < Int(UInt32.max), "AliasTable: need 1..<2^32 weights")
        let total = weights.reduce(0, +)
        precondition(total > 0 && total.isFinite && weights.allSatisfy { $0 >= 0 }, "AliasTable: invalid weights")
        count = n
        probabilities = weights.map { $0 / total }
        var scaled = probabilities.map { $0 * Double(n) }
        var alias = [UInt32](repeating: 0, count: n)
        var keep = [Double](repeating: 1, count: n)
        var small: [Int] = [], large: [Int] = []
        small.reserveCapacity(n); large.reserveCapacity(n)
        for i in 0..<n { if scaled[i] < 1 { small.append(i) } else { large.append(i) } }
        while let s = small.last, let l = large.last {
            small.removeLast()
            keep[s] = scaled[s]
            alias[s] = UInt32(l)
            scaled[l] = (scaled[l] + scaled[s]) - 1
            if scaled[l] < 1 {
                large.removeLast()
                small.append(l)
            }
        }
        // Leftovers (rounding) keep themselves with probability 1.
        for i in large { keep[i] = 1; alias[i] = UInt32(i) }
        for i in small { keep[i] = 1; alias[i] = UInt32(i) }
        var b = [UInt64](repeating: 0, count: n)
        for i in 0..<n {
            let t = min(Double(UInt32.max), (keep[i] * 4_294_967_296.0).rounded())
            b[i] = (UInt64(alias[i]) << 32) | UInt64(UInt32(t))
        }
        buckets = b
    }

    /// word2vec.c's negative-sampling distribution: counts^exponent.
    public init(counts: [UInt64], exponent: Double) {
        self.init(weights: counts.map { pow(Double($0), exponent) })
    }

    public func sample(_ rng: inout Word2VecRandom) -> Int {
        buckets.withUnsafeBufferPointer { AliasSampler(buckets: $0.baseAddress!, count: count).sample(&rng) }
    }

    /// Calls `body` with a pointer-based sampler (valid only inside `body`).
    public func withSampler<R>(_ body: (AliasSampler) throws -> R) rethrows -> R {
        try buckets.withUnsafeBufferPointer { try body(AliasSampler(buckets: $0.baseAddress!, count: count)) }
    }
}

/// Pointer view of an `AliasTable` for hot loops.
public struct AliasSampler {
    public let buckets: UnsafePointer<UInt64>
    public let count: Int

    @inline(__always)
    public func sample(_ rng: inout Word2VecRandom) -> Int {
        let (i, u) = draw(&rng)
        return resolve(bucket: i, threshold: u)
    }

    /// The two random numbers of one `sample`, in its order (a bucket, then a threshold), without
    /// reading the table: `resolve` turns them into the word, so a loop can draw many, prefetch
    /// their buckets and resolve them after, when the table's cache misses have overlapped.
    @inline(__always)
    public func draw(_ rng: inout Word2VecRandom) -> (bucket: Int, threshold: UInt32) {
        let i = rng.uniform(below: count)
        return (i, rng.nextUInt32())
    }

    /// The word a `draw` stands for: the bucket's own word below its threshold, else its alias.
    @inline(__always)
    public func resolve(bucket i: Int, threshold u: UInt32) -> Int {
        let b = buckets[i]
        return u < UInt32(truncatingIfNeeded: b) ? i : Int(truncatingIfNeeded: b >> 32)
    }

    /// Starts loading bucket `i` (a hint; no effect on results).
    @inline(__always)
    public func prefetch(bucket i: Int) {
        w2v_prefetch_line(buckets + i)
    }
}
