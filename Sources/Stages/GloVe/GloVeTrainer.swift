import Foundation
import Pipeline
import Synchronization

/// GloVe (Pennington, Socher & Manning 2014): weighted least squares on the log co-occurrence
/// counts, J = Σ f(Xᵢⱼ) (wᵢ·w̃ⱼ + bᵢ + b̃ⱼ − log Xᵢⱼ)², f(x) = min(1, (x/x_max)^α), trained with
/// AdaGrad over the non-zero entries in a shuffled order, Hogwild on several threads — as the
/// Stanford C tool does it (its `glove` after `shuffle`).
public struct GloVeSettings: Sendable, Equatable {
    public var dimension = 100
    public var xMax = 100.0
    public var alpha = 0.75
    public var epochs = 15
    public var learningRate = 0.05
    public var threads = 1
    public var seed: UInt64 = 1
    public init() {}
}

/// One non-zero co-occurrence in training order.
struct GloVeEntry: BitwiseCopyable {
    var row: UInt32
    var column: UInt32
    var count: Float
}

/// The model: word vectors W and context vectors W̃, each row `dimension` weights followed by the
/// bias, with their AdaGrad sums of squared gradients (starting at 1, as the C tool).
public final class GloVeModel: Sendable {
    public let dimension: Int
    public let words: EmbeddingMatrix
    public let contexts: EmbeddingMatrix
    let wordSquares: EmbeddingMatrix
    let contextSquares: EmbeddingMatrix
    public var size: Int { words.rows }

    /// Weights uniform in ±0.5/dimension (biases too), seeded; squared-gradient sums 1.
    public init(size: Int, dimension: Int, seed: UInt64) {
        self.dimension = dimension
        words = EmbeddingMatrix(rows: size, dimension: dimension + 1)
        contexts = EmbeddingMatrix(rows: size, dimension: dimension + 1)
        wordSquares = EmbeddingMatrix(rows: size, dimension: dimension + 1)
        contextSquares = EmbeddingMatrix(rows: size, dimension: dimension + 1)
        var rng = Word2VecRandom(seed: seed, worker: -2)
        let scale = 1 / Float(dimension)
        for m in [words, contexts] {
            m.withUnsafeMutableBufferPointer { p in for i in p.indices { p[i] = (rng.unitFloat() - 0.5) * scale } }
        }
        for m in [wordSquares, contextSquares] {
            m.withUnsafeMutableBufferPointer { p in for i in p.indices { p[i] = 1 } }
        }
    }

    /// The vectors to publish: W + W̃ (`sum`, the paper's choice and the C tool's `-model 2`) or
    /// W alone (`word`), without the biases, row-major `size × dimension`.
    public func vectors(sum: Bool) -> [Float] {
        let d = dimension
        var out = [Float](repeating: 0, count: size * d)
        words.withUnsafeBufferPointer { w in
            contexts.withUnsafeBufferPointer { c in
                for i in 0..<size {
                    for k in 0..<d { out[i * d + k] = sum ? w[i * (d + 1) + k] + c[i * (d + 1) + k] : w[i * (d + 1) + k] }
                }
            }
        }
        return out
    }
}

public enum GloVeKernel {
    /// One AdaGrad step on entry (i, j, x): returns this entry's cost ½ f(x) (wᵢ·w̃ⱼ + bᵢ + b̃ⱼ − log x)².
    /// Each pointer is the start of a row of `dimension + 1` floats (bias last). Non-finite
    /// steps are skipped (as the C tool does) and reported as a cost of 0.
    @inline(__always)
    public static func step(word w: UnsafeMutablePointer<Float>, context c: UnsafeMutablePointer<Float>,
                            wordSquares gw: UnsafeMutablePointer<Float>, contextSquares gc: UnsafeMutablePointer<Float>,
                            dimension d: Int, logCount: Float, weight: Float, learningRate eta: Float) -> Float {
        let diff = VectorMath.dot(UnsafePointer(w), UnsafePointer(c), d) + w[d] + c[d] - logCount
        let fdiff = weight * diff
        guard fdiff.isFinite else { return 0 }
        let cost = 0.5 * fdiff * diff
        let g = eta * fdiff
        let rw = UnsafeMutableRawPointer(w), rc = UnsafeMutableRawPointer(c)
        let rgw = UnsafeMutableRawPointer(gw), rgc = UnsafeMutableRawPointer(gc)
        let g8 = SIMD8<Float>(repeating: g)
        var k = 0
        while k &+ 8 <= d {
            let o = k &* 4
            let wv = rw.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            let cv = rc.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            let sw = rgw.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            let sc = rgc.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            let t1 = g8 * cv, t2 = g8 * wv
            rw.storeBytes(of: wv - t1 / sw.squareRoot(), toByteOffset: o, as: SIMD8<Float>.self)
            rc.storeBytes(of: cv - t2 / sc.squareRoot(), toByteOffset: o, as: SIMD8<Float>.self)
            rgw.storeBytes(of: sw + t1 * t1, toByteOffset: o, as: SIMD8<Float>.self)
            rgc.storeBytes(of: sc + t2 * t2, toByteOffset: o, as: SIMD8<Float>.self)
            k &+= 8
        }
        while k < d {
            let t1 = g * c[k], t2 = g * w[k]
            w[k] -= t1 / gw[k].squareRoot()
            c[k] -= t2 / gc[k].squareRoot()
            gw[k] += t1 * t1
            gc[k] += t2 * t2
            k &+= 1
        }
        w[d] -= g / gw[d].squareRoot()
        c[d] -= g / gc[d].squareRoot()
        gw[d] += g * g
        gc[d] += g * g
        return cost
    }

    /// f(x) = min(1, (x/x_max)^α).
    @inline(__always)
    public static func weight(_ x: Float, xMax: Float, alpha: Float) -> Float {
        x >= xMax ? 1 : powf(x / xMax, alpha)
    }
}

/// Progress of a GloVe run, for the stage's progress line.
public struct GloVeProgress: Sendable {
    public var fraction: Double
    public var epoch: Int
    public var entriesPerSecond: Double
    /// Mean cost per entry since the previous report.
    public var cost: Double
}

public struct GloVeResult: Sendable {
    public var seconds: Double
    /// Mean cost per entry of each epoch.
    public var epochCosts: [Double]
    /// (fraction of the run, mean cost per entry over the last 1% of it).
    public var costCurve: [(fraction: Double, cost: Double)]
    public var entries: Int
}

public enum GloVeError: Error, CustomStringConvertible {
    case invalid(String)
    case nonFinite(epoch: Int)
    public var description: String {
        switch self {
        case .invalid(let s): return s
        case .nonFinite(let e): return "GloVe diverged in epoch \(e) (non-finite cost); lower learning_rate"
        }
    }
}

/// Trains a `GloVeModel` on a co-occurrence matrix.
public enum GloVeTrainer {
    /// Builds the shuffled entry list from a CSR matrix (entries ≤ 0 are skipped: log is undefined).
    static func entries(_ m: CSRMatrix, seed: UInt64) -> UnsafeMutableBufferPointer<GloVeEntry> {
        var n = 0
        for x in m.values where x > 0 { n += 1 }
        let out = UnsafeMutableBufferPointer<GloVeEntry>.allocate(capacity: max(1, n))
        var e = 0
        for i in 0..<m.size {
            let lo = Int(m.rowStart[i]), hi = Int(m.rowStart[i + 1])
            for k in lo..<hi where m.values[k] > 0 {
                out[e] = GloVeEntry(row: UInt32(i), column: m.columns[k], count: m.values[k])
                e += 1
            }
        }
        // Fisher–Yates with the seeded generator (the high 64 bits of a 128-bit product pick the index).
        var rng = Word2VecRandom(seed: seed, worker: -3)
        var i = n - 1
        while i > 0 {
            let j = Int(UInt64(i + 1).multipliedFullWidth(by: rng.next()).high)
            out.swapAt(i, j)
            i -= 1
        }
        return UnsafeMutableBufferPointer(rebasing: out[0..<n])
    }

    public static func train(model: GloVeModel, matrix: CSRMatrix, settings s: GloVeSettings,
                             progress: (GloVeProgress) -> Void = { _ in },
                             isCancelled: @escaping @Sendable () -> Bool = { false }) throws -> GloVeResult {
        guard matrix.size == model.size, s.dimension == model.dimension else {
            throw GloVeError.invalid("the model is \(model.size) × \(model.dimension) but the matrix has \(matrix.size) rows")
        }
        let list = entries(matrix, seed: s.seed)
        defer { list.deallocate() }
        let n = list.count
        guard n > 0 else { throw GloVeError.invalid("the co-occurrence matrix has no positive entries") }
        let threads = max(1, min(s.threads, n))
        let job = GloVeJob(entries: n, epochs: s.epochs)
        let d = s.dimension
        let xMax = Float(s.xMax), alpha = Float(s.alpha), eta = Float(s.learningRate)
        let base = WorkerPointer(list.baseAddress!)
        let start = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        // The shuffled entries in chunks of 65,536, each taken by the first worker free (so the
        // workers finish an epoch together; one worker takes them in order).
        let chunks = ChunkQueue(count: n, chunk: 65_536)
        let pool = WorkerPool(workers: threads) { _, _ in
            model.words.withUnsafeMutablePointer { W in
                model.contexts.withUnsafeMutablePointer { C in
                    model.wordSquares.withUnsafeMutablePointer { GW in
                        model.contextSquares.withUnsafeMutablePointer { GC in
                            let stride = d + 1
                            while let chunk = chunks.claim() {
                                var pos = chunk.lowerBound
                                let stop = chunk.upperBound
                                var cost = 0.0
                                var chunkCost: Float = 0
                                var inChunk = 0
                                while pos < stop {
                                    let e = base[pos]
                                    let x = e.count
                                    let i = Int(e.row) &* stride, j = Int(e.column) &* stride
                                    chunkCost += GloVeKernel.step(word: W + i, context: C + j, wordSquares: GW + i,
                                                                  contextSquares: GC + j, dimension: d, logCount: logf(x),
                                                                  weight: GloVeKernel.weight(x, xMax: xMax, alpha: alpha),
                                                                  learningRate: eta)
                                    inChunk &+= 1
                                    if inChunk == 1024 { cost += Double(chunkCost); chunkCost = 0; inChunk = 0 }
                                    pos &+= 1
                                }
                                cost += Double(chunkCost)
                                if job.add(entries: chunk.count, cost: cost, cancelled: isCancelled()) { return }
                            }
                        }
                    }
                }
            }
        }
        defer { pool.shutdown() }
        var epochCosts: [Double] = []
        for epoch in 0..<s.epochs {
            job.beginEpoch()
            chunks.reset()
            pool.startRound(epoch)
            while pool.waitForRound(timeout: .now() + .milliseconds(200)) == .timedOut {
                progress(job.progress(epoch: epoch + 1, seconds: elapsed()))
            }
            if job.wasCancelled { throw CancelledError() }
            let c = job.epochCost
            guard c.isFinite else { throw GloVeError.nonFinite(epoch: epoch + 1) }
            epochCosts.append(c)
        }
        let seconds = elapsed()
        progress(job.progress(epoch: s.epochs, seconds: seconds))
        return GloVeResult(seconds: seconds, epochCosts: epochCosts, costCurve: job.curve, entries: n)
    }
}

/// The counters the GloVe workers share, behind one lock.
final class GloVeJob: Sendable {
    struct State {
        var done = 0
        var epochDone = 0
        var epochCost = 0.0
        var stop = false
        var cancelled = false
        var curve: [(fraction: Double, cost: Double)] = []
        var curveCost = 0.0
        var curveEntries = 0
        var lastReportDone = 0
        var lastReportCost = 0.0
        var totalCost = 0.0
    }
    private let state = Mutex(State())
    let entries: Int
    let total: Int
    private let curveStep: Int

    init(entries: Int, epochs: Int) {
        self.entries = entries
        total = entries * epochs
        curveStep = max(1, total / 100)
    }

    func beginEpoch() { state.withLock { $0.epochDone = 0; $0.epochCost = 0 } }

    /// Adds a worker's chunk; returns true when the workers should stop.
    func add(entries n: Int, cost: Double, cancelled: Bool) -> Bool {
        state.withLock { s in
            s.done += n
            s.epochDone += n
            s.epochCost += cost
            s.totalCost += cost
            s.curveCost += cost
            s.curveEntries += n
            if !cost.isFinite { s.stop = true }
            if cancelled { s.cancelled = true; s.stop = true }
            if s.curveEntries >= curveStep || s.done == total {
                s.curve.append((min(1, Double(s.done) / Double(total)), s.curveCost / Double(max(1, s.curveEntries))))
                s.curveCost = 0
                s.curveEntries = 0
            }
            return s.stop
        }
    }

    var wasCancelled: Bool { state.withLock { $0.cancelled } }
    /// Mean cost per entry of the epoch that just ended.
    var epochCost: Double { state.withLock { $0.epochCost / Double(max(1, $0.epochDone)) } }
    var curve: [(fraction: Double, cost: Double)] { state.withLock { $0.curve } }

    func progress(epoch: Int, seconds: Double) -> GloVeProgress {
        state.withLock { s in
            let dn = s.done - s.lastReportDone
            let cost = dn > 0 ? (s.totalCost - s.lastReportCost) / Double(dn) : 0
            s.lastReportDone = s.done
            s.lastReportCost = s.totalCost
            return GloVeProgress(fraction: Double(s.done) / Double(max(1, total)), epoch: epoch,
                                 entriesPerSecond: seconds > 0 ? Double(s.done) / seconds : 0, cost: cost)
        }
    }
}
