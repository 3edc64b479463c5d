import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A dense `rows × dimension` matrix of `Float`, row-major, in one 64-byte aligned raw buffer.
///
/// ## Hogwild and `@unchecked Sendable`
/// Training follows word2vec.c's Hogwild scheme (Recht et al. 2011): all worker threads read and
/// write the shared embedding tables **without any synchronisation**. Two threads may update the
/// same row at the same time and one update may partly overwrite another. This is a deliberate,
/// accepted data race: updates are sparse, lost updates are rare and harmless for SGD convergence,
/// and locking would cost far more than it saves. The matrix is therefore marked
/// `@unchecked Sendable`; this is the only place where training shares memory without a lock.
/// Outside of a training run, use the matrix from one thread at a time.
public final class EmbeddingMatrix: @unchecked Sendable {
    public let rows: Int
    public let dimension: Int
    /// Start of the `rows × dimension` floats. Never handed out except inside a `with…` call.
    private let pointer: UnsafeMutablePointer<Float>
    /// Floats from one row's start to the next inside `withTrainingRows`: `dimension` rounded up to
    /// whole 64-byte cache lines for a matrix made `forTraining` (when that adds at most 1/8:
    /// 100 → 112, 300 → 304, 50 stays 50), else `dimension`.
    public let trainingStride: Int
    /// True inside `withTrainingRows`, while the rows are spread.
    private var spread = false

    public var count: Int { rows * dimension }

    /// A zero-filled matrix. `forTraining` reserves room to spread the rows to `trainingStride`
    /// (see `withTrainingRows`); the layout outside that call is the same either way.
    public init(rows: Int, dimension: Int, forTraining: Bool = false) {
        precondition(rows >= 0 && dimension >= 1, "EmbeddingMatrix: invalid shape \(rows)×\(dimension)")
        self.rows = rows
        self.dimension = dimension
        trainingStride = forTraining ? EmbeddingMatrix.lineStride(dimension: dimension) : dimension
        let n = max(1, rows * trainingStride)
        let bytes = n * MemoryLayout<Float>.stride
        var raw: UnsafeMutableRawPointer?
        #if os(Linux)
        // 2 MiB aligned and advised for transparent huge pages (W2V_PIPE_HUGEPAGES=0 turns it off):
        // a training step touches a dozen random rows of two tables of tens of MB, and with 4 KB
        // pages most of those touches also miss the TLB. In interleaved A/B runs on a 2-vCPU VM
        // (2026-12-03, en-corpus, 1 epoch, 2 threads) CBOW gained about 7%; skip-gram was within
        // the noise.
        if bytes >= EmbeddingMatrix.hugePageThreshold, EmbeddingMatrix.hugePagesWanted {
            let huge = 2 << 20
            let rounded = (bytes + huge - 1) / huge * huge
            var p: UnsafeMutableRawPointer?
            if posix_memalign(&p, huge, rounded) == 0, let p {
                _ = madvise(p, rounded, 14 /* MADV_HUGEPAGE */)
                raw = p
            }
        }
        #endif
        if raw == nil {
            var p: UnsafeMutableRawPointer?
            if posix_memalign(&p, 64, bytes) != 0 || p == nil { fatalError("EmbeddingMatrix: out of memory (\(bytes) bytes)") }
            raw = p
        }
        pointer = raw!.bindMemory(to: Float.self, capacity: n)
        pointer.initialize(repeating: 0, count: n)
    }

    /// Tables of at least this many bytes are allocated for transparent huge pages (Linux).
    public static let hugePageThreshold = 4 << 20

    /// Huge pages unless the environment says W2V_PIPE_HUGEPAGES=0 (they never change a value).
    static let hugePagesWanted: Bool = {
        guard let v = getenv("W2V_PIPE_HUGEPAGES") else { return true }
        return String(cString: v) != "0"
    }()

    /// `dimension` rounded up to whole 64-byte lines (16 floats) if that adds at most 1/8, else
    /// `dimension` (a dimension of a few floats is not worth doubling).
    public static func lineStride(dimension: Int) -> Int {
        let rounded = (dimension + 15) / 16 * 16
        return (rounded - dimension) * 8 <= dimension ? rounded : dimension
    }

    /// Runs `body` with the rows spread `trainingStride` floats apart (the gap zero), so that with
    /// a stride of whole cache lines every row starts on a line and no vector load or store of a
    /// training kernel straddles two lines (with 400-byte rows, three rows in four did: the
    /// skip-gram kernel ran ~15% slower on them). `body` gets the first float and the stride. The
    /// values are not changed; the rows are packed back to `rows × dimension` when `body`
    /// returns or throws. Two passes over the table. Inside `body`, `rowArray`, `dot`, `axpy` and
    /// `allFinite` follow the spread rows; the whole-table views (`withUnsafeBufferPointer`,
    /// `withUnsafeMutableBufferPointer`, `toArray`) are packed-layout only and not for use there.
    public func withTrainingRows<R>(_ body: (UnsafeMutablePointer<Float>, Int) throws -> R) rethrows -> R {
        let d = dimension, s = trainingStride
        guard s != d, rows > 0, !spread else { return try withExtendedLifetime(self) { try body(pointer, spread ? s : d) } }
        // Last row first: each row moves up, past rows not yet moved only when already moved.
        for r in stride(from: rows - 1, through: 0, by: -1) {
            memmove(pointer + r * s, pointer + r * d, d * MemoryLayout<Float>.stride)
            (pointer + r * s + d).update(repeating: 0, count: s - d)
        }
        spread = true
        defer {
            for r in 0..<rows { memmove(pointer + r * d, pointer + r * s, d * MemoryLayout<Float>.stride) }
            spread = false
        }
        return try withExtendedLifetime(self) { try body(pointer, s) }
    }

    /// A copy of `source` (e.g. a stored model's table, to resume training: made `forTraining`); throws
    /// `TrainingError.invalidConfiguration` unless it holds exactly `rows × dimension` floats.
    public convenience init<C: Collection<Float>>(rows: Int, dimension: Int, copying source: C) throws {
        guard rows >= 0, dimension >= 1, source.count == rows * dimension else {
            throw TrainingError.invalidConfiguration("\(source.count) values for a \(rows) × \(dimension) table")
        }
        self.init(rows: rows, dimension: dimension, forTraining: true)
        _ = UnsafeMutableBufferPointer(start: pointer, count: rows * dimension).initialize(from: source)
    }

    /// A copy of `values`, which must hold exactly `rows × dimension` floats (for tests and tools
    /// that build tables in code).
    public convenience init(rows: Int, dimension: Int, values: [Float]) {
        precondition(values.count == rows * dimension, "EmbeddingMatrix: \(values.count) values for \(rows)×\(dimension)")
        self.init(rows: rows, dimension: dimension)
        _ = UnsafeMutableBufferPointer(start: pointer, count: rows * dimension).initialize(from: values)
    }

    deinit {
        free(UnsafeMutableRawPointer(pointer))
    }

    /// Pointer to the first float of row `i`.
    @inline(__always)
    private func row(_ i: Int) -> UnsafeMutablePointer<Float> {
        pointer + i * (spread ? trainingStride : dimension)
    }

    /// Dot product of row `i` with `dimension` floats at `x`.
    @inline(__always)
    public func dot(row i: Int, with x: UnsafePointer<Float>) -> Float {
        VectorMath.dot(UnsafePointer(row(i)), x, dimension)
    }

    /// Dot product of rows `i` and `j`.
    @inline(__always)
    public func dot(row i: Int, row j: Int) -> Float {
        VectorMath.dot(UnsafePointer(row(i)), UnsafePointer(row(j)), dimension)
    }

    /// row(i) += a · x
    @inline(__always)
    public func axpy(_ a: Float, _ x: UnsafePointer<Float>, intoRow i: Int) {
        VectorMath.axpy(a, x, row(i), dimension)
    }

    /// The floats, row-major, valid only inside `body`.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try withExtendedLifetime(self) { try body(UnsafeBufferPointer(start: pointer, count: count)) }
    }

    /// The floats, row-major, writable, valid only inside `body`.
    public func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        try withExtendedLifetime(self) { try body(UnsafeMutableBufferPointer(start: pointer, count: count)) }
    }

    /// The first float (row `i` starts `i × dimension` floats later), valid only inside `body`;
    /// for the training kernels.
    @inline(__always)
    public func withUnsafeMutablePointer<R>(_ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
        try withExtendedLifetime(self) { try body(pointer) }
    }

    /// A copy of all values, row-major.
    public func toArray() -> [Float] {
        Array(UnsafeBufferPointer(start: pointer, count: count))
    }

    /// A copy of row `i`.
    public func rowArray(_ i: Int) -> [Float] {
        Array(UnsafeBufferPointer(start: row(i), count: dimension))
    }

    /// True when no value is NaN or infinite.
    public func allFinite() -> Bool {
        let n = spread ? rows * trainingStride : count   // spread: the gaps are zero, finite
        var i = 0
        // A sum of |x| * 0 is NaN iff some x is NaN or infinite.
        var acc = SIMD16<Float>()
        while i + 16 <= n {
            let v = UnsafeRawPointer(pointer + i).loadUnaligned(as: SIMD16<Float>.self)
            acc += v * 0
            i += 16
        }
        var s = acc.sum()
        while i < n { s += pointer[i] * 0; i += 1 }
        return s == 0
    }
}

/// Pointer-level SIMD kernels shared by the training loops.
public enum VectorMath {
    /// Σ a[i]·b[i] over n floats.
    @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>()
        var i = 0
        while i + 32 <= n {
            acc0 += ra.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self)
                * rb.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self)
            acc1 += ra.loadUnaligned(fromByteOffset: (i &+ 16) &* 4, as: SIMD16<Float>.self)
                * rb.loadUnaligned(fromByteOffset: (i &+ 16) &* 4, as: SIMD16<Float>.self)
            i &+= 32
        }
        if i + 16 <= n {
            acc0 += ra.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self)
                * rb.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self)
            i &+= 16
        }
        var acc4 = SIMD4<Float>()
        while i + 4 <= n {
            acc4 += ra.loadUnaligned(fromByteOffset: i &* 4, as: SIMD4<Float>.self)
                * rb.loadUnaligned(fromByteOffset: i &* 4, as: SIMD4<Float>.self)
            i &+= 4
        }
        var s = (acc0 + acc1).sum() + acc4.sum()
        while i < n { s += a[i] * b[i]; i &+= 1 }
        return s
    }

    /// y += a · x over n floats.
    @inline(__always)
    public static func axpy(_ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        let rx = UnsafeRawPointer(x), ry = UnsafeMutableRawPointer(y)
        let a16 = SIMD16<Float>(repeating: a)
        var i = 0
        while i + 16 <= n {
            let v = ry.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self)
                + a16 * rx.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self)
            ry.storeBytes(of: v, toByteOffset: i &* 4, as: SIMD16<Float>.self)
            i &+= 16
        }
        let a4 = SIMD4<Float>(repeating: a)
        while i + 4 <= n {
            let v = ry.loadUnaligned(fromByteOffset: i &* 4, as: SIMD4<Float>.self)
                + a4 * rx.loadUnaligned(fromByteOffset: i &* 4, as: SIMD4<Float>.self)
            ry.storeBytes(of: v, toByteOffset: i &* 4, as: SIMD4<Float>.self)
            i &+= 4
        }
        while i < n { y[i] += a * x[i]; i &+= 1 }
    }
}
