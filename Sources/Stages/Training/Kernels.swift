import Foundation
import CTrainKernels

/// The instruction set the training kernels run with.
public enum KernelISA: String, Sendable, CaseIterable, Codable {
    /// Portable C (SSE2 on x86-64, NEON on arm64): always available.
    case generic
    /// AVX2 with fused multiply-add (x86-64 CPUs since about 2013/2015).
    case avx2
    /// AVX-512 (avx512f, with AVX2 and FMA): 16 floats per instruction (Intel since Skylake-SP,
    /// AMD since Zen 4).
    case avx512

    var code: Int32 {
        switch self {
        case .generic: Int32(W2V_ISA_GENERIC)
        case .avx2: Int32(W2V_ISA_AVX2)
        case .avx512: Int32(W2V_ISA_AVX512)
        }
    }

    /// Whether this CPU runs it (each level includes the ones before it).
    public var isSupported: Bool { code <= w2v_best_isa() }

    /// The best this CPU runs, unless the environment variable `W2V_PIPE_KERNEL_ISA` names a
    /// supported one (`generic` or `avx2` to compare the narrower builds, e.g. in a benchmark).
    public static let selected: KernelISA = {
        if let name = ProcessInfo.processInfo.environment["W2V_PIPE_KERNEL_ISA"],
           let isa = KernelISA(rawValue: name.lowercased()), isa.isSupported {
            return isa
        }
        return KernelISA.allCases.last(where: \.isSupported) ?? .generic
    }()
}

/// The single-update kernels of SGNS and CBOW, on raw row-major tables.
///
/// Each function performs exactly one word2vec.c-style SGD step with learning rate `alpha` and
/// returns the loss of that step *before* the update:
/// `−log σ(h·out[t₀]) − Σ_{k≥1} log σ(−h·out[t_k])`, where `t₀ = targets[0]` is the positive target
/// and `targets[1..<targetCount]` are the negatives. The loops themselves are C (`CTrainKernels`),
/// built three times (portable, AVX2+FMA, AVX-512); `isa` picks one (results differ only by rounding:
/// FMA, and the order of a dot product's partial sums).
public enum Kernels {
    /// A row pointer as the C kernels take it.
    public typealias Row = UnsafeMutablePointer<Float>?

    /// One skip-gram negative-sampling update for the pair (`inputRow`, targets), where
    /// `targetRows[0]` is the positive target's output row and the rest the negatives'.
    ///
    /// As word2vec.c: for each target, `g = (label − σ(f))·alpha`; the input-row gradient is
    /// accumulated in `neu1e` (from the output row *before* its update), the output row gets
    /// `g · input`, and finally `input += neu1e`. All scores are computed before any update
    /// (independent loads, so the cache misses overlap): identical to word2vec.c's interleaved
    /// order unless a target repeats.
    /// - Parameter neu1e: scratch of `dimension` floats.
    @inline(__always)
    public static func sgnsPair(inputRow: UnsafeMutablePointer<Float>, targetRows: UnsafePointer<Row>, targetCount: Int,
                                dimension: Int, alpha: Float, neu1e: UnsafeMutablePointer<Float>,
                                sigmoid: SigmoidView, isa: KernelISA = .selected) -> Float {
        w2v_sgns_pair(isa.code, inputRow, targetRows, Int64(targetCount), Int64(dimension), alpha, neu1e,
                      sigmoid.sig, sigmoid.logSig)
    }

    /// One CBOW negative-sampling update: the hidden vector is the sum (or, if `mean`, the mean) of
    /// the context input rows; it predicts `targetRows[0]`. As word2vec.c, the full error `neu1e` is
    /// added to every context input row (also in the mean case, where the exact gradient would be
    /// `neu1e / contextCount`).
    /// - Parameters:
    ///   - hidden: scratch of `dimension` floats.
    ///   - next: rows the next update will need, prefetched among this one's dot products (a hint).
    @inline(__always)
    public static func cbow(contextRows: UnsafePointer<Row>, contextCount: Int,
                            targetRows: UnsafePointer<Row>, targetCount: Int, dimension: Int,
                            alpha: Float, mean: Bool,
                            hidden: UnsafeMutablePointer<Float>,
                            sigmoid: SigmoidView, isa: KernelISA = .selected,
                            next: UnsafePointer<PrefetchList>? = nil) -> Float {
        w2v_cbow(isa.code, contextRows, Int64(contextCount), targetRows, Int64(targetCount), Int64(dimension),
                 alpha, mean ? 1 : 0, hidden, sigmoid.sig, sigmoid.logSig, next)
    }

    /// Rows for a kernel to prefetch while it scores its own targets (`w2v_prefetch_list`): one
    /// before each of its first dot products, so the requests are spread among its loads instead
    /// of going out in one burst before it.
    public typealias PrefetchList = w2v_prefetch_list

    /// Batched skip-gram update for one centre word (HogBatch, Ji et al. 2016): every context row
    /// is paired with the same targets (`targetRows[0]` = the centre word's output row, the rest
    /// shared negatives). First all `contextCount × targetCount` scores are computed and turned
    /// into `G[c,k] = (label − σ)·alpha`; then, one SIMD chunk of the dimension at a time and from
    /// the rows as they were on entry, `out[k] += Σ_c G[c,k]·in[c]` and `in[c] += Σ_k G[c,k]·out[k]`:
    /// each output row is written once per centre word, not once per pair, and the targets'
    /// chunks stay in registers. Returns the summed loss of all pairs.
    /// - Parameters:
    ///   - scores: scratch of `batchScoresSize(contexts: contextCount, targets: targetCount)` floats.
    ///   - contextScratch: scratch of `contextCount × batchScratchPerContext` floats.
    ///   - next: rows the next update will need, prefetched among this one's dot products (a hint).
    @inline(__always)
    public static func sgnsBatch(contextRows: UnsafePointer<Row>, contextCount: Int,
                                 targetRows: UnsafePointer<Row>, targetCount: Int, dimension: Int,
                                 alpha: Float, scores: UnsafeMutablePointer<Float>,
                                 contextScratch: UnsafeMutablePointer<Float>,
                                 sigmoid: SigmoidView, isa: KernelISA = .selected,
                                 next: UnsafePointer<PrefetchList>? = nil) -> Float {
        w2v_sgns_batch(isa.code, contextRows, Int64(contextCount), targetRows, Int64(targetCount), Int64(dimension),
                       alpha, scores, contextScratch, sigmoid.sig, sigmoid.logSig, next)
    }

    /// Context scratch per context that `sgnsBatch` needs.
    public static var batchScratchPerContext: Int { Int(w2v_batch_ebuf_per_context()) }

    /// Scores scratch that `sgnsBatch` needs for `contexts` contexts and `targets` targets.
    public static func batchScoresSize(contexts: Int, targets: Int) -> Int {
        Int(w2v_batch_scores_size(Int64(contexts), Int64(targets)))
    }

    /// Merges a worker's staged rows (`count` floats): `shared += local − base`, then `local` and
    /// `base` both take the new shared values (see `TrainingConfiguration.hotRows`). The three
    /// must not overlap. Every `isa` gives the same bits (no operation is fused or reordered).
    @inline(__always)
    public static func mergeStaged(shared: UnsafeMutablePointer<Float>, local: UnsafeMutablePointer<Float>,
                                   base: UnsafeMutablePointer<Float>, count: Int, isa: KernelISA = .selected) {
        w2v_merge_staged(isa.code, shared, local, base, Int64(count))
    }

    /// Starts loading a row for writing (a hint; no effect on results; a prefetch never faults,
    /// so a nil row is harmless).
    @inline(__always)
    static func prefetch(_ row: Row, dimension: Int) {
        w2v_prefetch(row, Int64(dimension &* 4))
    }
}

extension Kernels {
    /// Row pointers of `rows` in `table` (for the wrappers below).
    static func withRows<R>(_ table: UnsafeMutablePointer<Float>, _ rows: [Int], dimension: Int,
                            _ body: (UnsafePointer<Row>) -> R) -> R {
        let p = UnsafeMutablePointer<Row>.allocate(capacity: max(1, rows.count))
        defer { p.deallocate() }
        for (i, r) in rows.enumerated() { (p + i).initialize(to: table + r * dimension) }
        return body(UnsafePointer(p))
    }

    /// A prefetch list of `rows` of `table` for the wrappers below (nil when empty).
    static func withPrefetchList<R>(_ table: UnsafeMutablePointer<Float>, _ rows: [Int], dimension: Int,
                                    _ body: (UnsafePointer<PrefetchList>?) -> R) -> R {
        guard !rows.isEmpty else { return body(nil) }
        return withRows(table, rows, dimension: dimension) { p in
            var list = PrefetchList(rows: p, count: Int64(rows.count), bytes: Int64(dimension * 4))
            return withUnsafePointer(to: &list) { body($0) }
        }
    }

    /// Convenience wrapper of `sgnsPair` on matrices (allocates scratch; for tests and tools).
    public static func sgnsUpdate(input: EmbeddingMatrix, output: EmbeddingMatrix, inputRow: Int,
                                  targets: [Int], alpha: Float, sigmoid: SigmoidTable = SigmoidTable(),
                                  isa: KernelISA = .selected) -> Float {
        precondition(input.dimension == output.dimension)
        let dim = input.dimension
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: dim)
        defer { scratch.deallocate() }
        return sigmoid.withView { s in
            input.withUnsafeMutablePointer { inPtr in
                output.withUnsafeMutablePointer { outPtr in
                    withRows(outPtr, targets, dimension: dim) { t in
                        sgnsPair(inputRow: inPtr + inputRow * dim, targetRows: t, targetCount: targets.count,
                                 dimension: dim, alpha: alpha, neu1e: scratch, sigmoid: s, isa: isa)
                    }
                }
            }
        }
    }

    /// Convenience wrapper of `cbow` on matrices (allocates scratch; for tests and tools);
    /// `prefetching`: output rows passed as the next update's rows (a hint).
    public static func cbowUpdate(input: EmbeddingMatrix, output: EmbeddingMatrix, contextRows: [Int],
                                  targets: [Int], alpha: Float, mean: Bool,
                                  sigmoid: SigmoidTable = SigmoidTable(), isa: KernelISA = .selected,
                                  prefetching: [Int] = []) -> Float {
        precondition(input.dimension == output.dimension)
        let dim = input.dimension
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: dim)
        defer { scratch.deallocate() }
        return sigmoid.withView { s in
            input.withUnsafeMutablePointer { inPtr in
                output.withUnsafeMutablePointer { outPtr in
                    withRows(inPtr, contextRows, dimension: dim) { c in
                        withRows(outPtr, targets, dimension: dim) { t in
                            withPrefetchList(outPtr, prefetching, dimension: dim) { next in
                                cbow(contextRows: c, contextCount: contextRows.count, targetRows: t, targetCount: targets.count,
                                     dimension: dim, alpha: alpha, mean: mean, hidden: scratch,
                                     sigmoid: s, isa: isa, next: next)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Convenience wrapper of `sgnsBatch` on matrices (allocates scratch; for tests and tools);
    /// `prefetching`: output rows passed as the next update's rows (a hint).
    public static func sgnsBatchUpdate(input: EmbeddingMatrix, output: EmbeddingMatrix, contextRows: [Int],
                                       targets: [Int], alpha: Float,
                                       sigmoid: SigmoidTable = SigmoidTable(), isa: KernelISA = .selected,
                                       prefetching: [Int] = []) -> Float {
        let dim = input.dimension
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: batchScoresSize(contexts: contextRows.count, targets: targets.count))
        let contextScratch = UnsafeMutablePointer<Float>.allocate(capacity: max(1, batchScratchPerContext * contextRows.count))
        defer { scores.deallocate(); contextScratch.deallocate() }
        return sigmoid.withView { s in
            input.withUnsafeMutablePointer { inPtr in
                output.withUnsafeMutablePointer { outPtr in
                    withRows(inPtr, contextRows, dimension: dim) { c in
                        withRows(outPtr, targets, dimension: dim) { t in
                            withPrefetchList(outPtr, prefetching, dimension: dim) { next in
                                sgnsBatch(contextRows: c, contextCount: contextRows.count, targetRows: t,
                                          targetCount: targets.count, dimension: dim, alpha: alpha, scores: scores,
                                          contextScratch: contextScratch, sigmoid: s, isa: isa, next: next)
                            }
                        }
                    }
                }
            }
        }
    }
}
