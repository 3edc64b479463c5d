import Foundation
import Pipeline
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Counts windowed co-occurrences of a token stream into a `cooccur` artifact, in parallel and
/// within a memory budget.
///
/// 1. Filtering. Each token is mapped to its vocabulary id; words outside the vocabulary are
///    removed, and with a subsample table each occurrence is kept with its probability, drawn
///    from a hash of (seed, token position), so the same tokens are kept whatever the thread
///    count. Distances count kept tokens (word2vec.c, GloVe's `cooccur`).
/// 2. Counting: one worker per thread, each over a contiguous slice of the stream, primed with
///    the kept tokens just before its slice so that every pair is counted exactly once. Each kept
///    token is paired with the up to `window` kept tokens before it. A pair of frequent words is
///    added to the worker's dense table (`DenseLayout`: GloVe's trick, laid out by the rarer
///    word for locality); any other pair becomes two records, (i, j, d) and (j, i, d), one
///    UInt64 each. The loop has no data-dependent branch (a dense pair adds to its cell and
///    writes records it does not keep; a sparse one adds to a sink cell), so the table's cache
///    misses overlap. A full record buffer is split by row range (`PartitionPlan`) into a chunk,
///    kept in memory while the budget allows and appended to the worker's scratch file otherwise.
/// 3. Merging, by tasks of consecutive row ranges, `threads` tasks at a time: the dense tables
///    are added up; a task gathers its rows' records from every chunk, radix-sorts them by
///    (row, column), sums them per pair and merges each row with the row's dense cells (two
///    disjoint sorted sequences), giving the row's columns and values. A range with more records
///    than a task holds is split by rows (a row alone, by summing it in V sums). Memory of merged
///    chunks is given back as the merge advances.
/// 4. Writing, in one sequential pass (see `CooccurrenceMatrix` for the layout): the header
///    before the merge, each task's columns as it completes (in row order), then the values
///    (held in memory up to M/8, the rest in a scratch file), the row starts and the count.
///
/// Sums are UInt64 counts of weight units (`WeightUnits`): exact, so the result does not depend
/// on the thread count, the budget or the order of the additions.
///
/// Memory (`memoryBytes` = M, T threads), at most M in all: the dense tables (M/4, at most 64 MB
/// per thread; untouched pages cost nothing), per thread a record buffer with its split scratch
/// (at most 4 MB) and a merge task's buffers (at most 24 MB: records, sort scratch, output),
/// staged output values (M/8), and chunks of records kept in memory in what is left. Scratch
/// files (in the store's `tmp/`, unlinked at creation) take what does not fit.
struct CooccurrenceCounter {
    /// Distances are packed in 7 bits of a record.
    static let maxWindow = 127
    /// Vocabulary ids are packed in at most 28 bits each (two per record, beside the distance).
    static let maxVocabularyBits = 28

    struct Configuration: Sendable {
        var window: Int
        var weighting: CooccurrenceWeighting
        var threads: Int
        var memoryBytes: Int
        var seed: UInt64
        var scratchDirectory: String
        /// Overrides of what the budget implies, for tests that force every path (spills, many
        /// chunks, split tasks): dense cells per worker, records per buffer, bytes of chunks kept
        /// in memory, records per merge task, row partitions, tokens a counting worker takes at a
        /// time (`chunkTokens`, 65,536 unless set).
        var denseCells: Int? = nil
        var bufferRecords: Int? = nil
        var retainBytes: Int? = nil
        var taskRecords: Int? = nil
        var partitions: Int? = nil
        var chunkTokens: Int? = nil
    }

    struct Statistics: Sendable {
        var header: CooccurrenceMatrix.Header
        var seconds: Double
        var countingSeconds: Double
        var mergeSeconds: Double
        /// Bytes of the buffers allocated at the peak (dense tables, record buffers, chunks in
        /// memory, merge tasks).
        var peakBufferBytes: Int
        var threads: Int
        var denseCells: Int
        var denseThreshold: Int
        /// Records of sparse pairs (two per co-occurrence outside the dense region).
        var records: Int
        var chunks: Int
        var spilledBytes: Int
        var partitions: Int
        var tasks: Int
        var splitTasks: Int
        var exactWeights: Bool
    }

    let tokens: UnsafeBufferPointer<UInt32>
    let remap: UnsafeBufferPointer<UInt32>
    let vocabularySize: Int
    let keepProbability: UnsafeBufferPointer<Float>?
    let configuration: Configuration

    /// Counts, then writes the artifact to `writer`. `progress(fraction, detail)` is called on
    /// the calling thread; `isCancelled` is polled by the workers (every 64k tokens) and between
    /// merge tasks.
    func run(writer: ArtifactWriter, progress: (Double, String) -> Void,
             isCancelled: @escaping @Sendable () -> Bool) throws -> Statistics {
        let started = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9 }
        let v = vocabularySize
        guard v > 0 else { throw CooccurrenceError.invalidInput("the vocabulary is empty") }
        let idBits = max(1, Int.bitWidth - (v - 1).leadingZeroBitCount)
        guard idBits <= Self.maxVocabularyBits else {
            throw CooccurrenceError.tooLarge("a vocabulary of \(v) words is more than cooccur handles (2^\(Self.maxVocabularyBits)); raise min_count or set max_vocab_size")
        }
        if let keep = keepProbability, keep.count != v {
            throw CooccurrenceError.mismatchedInputs("the subsample table has \(keep.count) words but the vocabulary \(v)")
        }
        for r in remap where r != Vocabulary.dropped && Int(r) >= v {
            throw CooccurrenceError.mismatchedInputs("the vocabulary maps a token word to id \(r), outside its \(v) words")
        }
        let cfg = configuration
        let w = cfg.window
        let units = try WeightUnits(weighting: cfg.weighting, window: w, maxTokens: tokens.count)
        let threads = max(1, min(cfg.threads, tokens.count))
        let budget = max(1 << 20, cfg.memoryBytes)
        // Work units sized for the caches whatever the budget: record buffers of at most 256k
        // records (2 MB) per worker, merge tasks of at most 1M records. The dense tables take a
        // quarter of the budget, up to 64 MB per worker (beyond that, more cells save few records
        // and miss the caches more), staged output values an eighth; chunks of records are kept
        // in memory in what is left.
        let bufferRecords = max(2 * w + 2, cfg.bufferRecords ?? min(1 << 18, max(4096, budget / 16 / threads / 16)))
        let taskRecords = max(2 * w + 2, cfg.taskRecords ?? min(1 << 20, max(4096, budget / 8 / threads / 24)))
        let dense = DenseLayout(vocabularySize: v, maxCells: max(0, cfg.denseCells ?? min(budget / 4 / threads, 64 << 20) / 8))
        let valuesLimit = budget / 8
        let fixedBytes = threads * ((dense.cells + 1) * 8 + bufferRecords * 16 + taskRecords * 24) + valuesLimit + v * 8
        let retainLimit = max(0, cfg.retainBytes ?? budget - fixedBytes)
        let plan = PartitionPlan(dense: dense, counts: rowWeights(), window: w, taskRecords: taskRecords,
                                 threads: threads, partitions: cfg.partitions)

        // Counting.
        let job = try CountingJob(tokens: tokens, remap: remap, keep: keepProbability, window: w, seed: cfg.seed, units: units,
                                  dense: dense, plan: plan, idBits: idBits, retainLimit: retainLimit,
                                  chunkTokens: max(1, cfg.chunkTokens ?? 65_536), isCancelled: isCancelled)
        var workers: [CountingWorker] = []
        for i in 0..<threads {
            workers.append(try CountingWorker(index: i, job: job, bufferRecords: bufferRecords, scratchDirectory: cfg.scratchDirectory))
        }
        let fixedCountingBytes = workers.reduce(0) { $0 + $1.allocatedBytes } + job.rowInfoBytes
        let counting = workers
        let pool = WorkerPool(workers: threads) { _, i in counting[i].run() }
        pool.startRound(0)
        let total = max(1, tokens.count)
        while pool.waitForRound(timeout: .now() + .milliseconds(200)) == .timedOut {
            let done = job.processed.load(ordering: .relaxed)
            let t = elapsed()
            progress(0.7 * Double(done) / Double(total),
                     "counting  \(Format.compact(t > 0 ? Double(done) / t : 0)) tokens/s  \(threads) thread(s)")
        }
        pool.shutdown()
        if isCancelled() { throw CancelledError() }
        for worker in workers { if let e = worker.error { throw e } }
        let countingSeconds = elapsed()
        var peak = fixedCountingBytes + job.retainedBytes.load(ordering: .relaxed)

        var chunks: [Chunk] = []
        var tokensUsed: UInt64 = 0, pairUnits: UInt64 = 0, records = 0, spilled = 0
        for worker in workers {
            chunks += worker.chunks
            tokensUsed += worker.tokensUsed
            pairUnits = pairUnits &+ worker.pairUnits
            records += worker.records
            spilled += worker.spilledBytes
            worker.releaseBuffers()
        }

        // One dense table: the others added into the first.
        guard let table = workers[0].table else { throw CooccurrenceError.internalInconsistency("no dense table") }
        if threads > 1, dense.cells > 0 {
            let target = WorkerPointer(table)
            let others = workers.dropFirst().compactMap { $0.table.map { WorkerPointer($0) } }
            let cells = dense.cells
            let pieces = threads * 8
            Parallel.forEach(pieces, threads: threads) { piece in
                let lo = cells * piece / pieces, hi = cells * (piece + 1) / pieces
                for other in others {
                    for k in lo..<hi { target[k] &+= other[k] }
                }
            }
            for worker in workers.dropFirst() { worker.releaseTable() }
        }
        if isCancelled() { throw CancelledError() }

        // Merging, by tasks of consecutive row partitions, a wave of `threads` tasks at a time.
        // The header is known now; each wave's columns go straight to the artifact, its values
        // to a staging area (memory up to M/8, then a scratch file).
        let totalWeight = units.weight(pairUnits) * 2
        let payload = try CooccurrenceMatrix.PayloadWriter(writer, size: v, window: w, weighting: cfg.weighting,
                                                           subsampled: keepProbability != nil, tokensUsed: tokensUsed,
                                                           totalWeight: totalWeight)
        let merge = MergeContext(dense: dense, table: UnsafePointer(table), units: units, idBits: idBits, plan: plan,
                                 chunks: chunks, taskRecords: taskRecords, vocabularySize: v)
        let tasks = merge.tasks()
        let values = StagedValues(memoryLimit: valuesLimit, scratchDirectory: cfg.scratchDirectory)
        var rowStart = [UInt64](repeating: 0, count: v + 1)
        var nnz = 0
        var splitTasks = 0
        let mergeFixed = dense.cells * 8 + job.retainedBytes.load(ordering: .relaxed) + job.rowInfoBytes
        let totalRecords = max(1, records)
        var mergedRecords = 0
        let slots = (0..<threads).map { _ in MergeSlot() }
        // Merged chunk memory goes back to the system every 1/16 of the records or so (not after
        // each task: each release costs the other cores a TLB flush).
        var released = 0, sinceRelease = 0
        for waveStart in stride(from: 0, to: tasks.count, by: threads) {
            if isCancelled() { throw CancelledError() }
            let wave = Array(tasks[waveStart..<min(tasks.count, waveStart + threads)])
            let results = WorkerResults<Result<Void, Error>>(count: wave.count)
            Parallel.forEach(wave.count, threads: threads) { i in
                results.store(i, Result { try merge.process(wave[i], slot: slots[i], isCancelled: isCancelled) })
            }
            var waveBytes = 0
            for (i, result) in results.collected().enumerated() {
                guard let result else { throw CooccurrenceError.internalInconsistency("a merge task returned nothing") }
                try result.get()
                let out = slots[i].output
                waveBytes += slots[i].bytes
                if out.split { splitTasks += 1 }
                let task = wave[i]
                for (k, n) in out.rowCounts.enumerated() {
                    nnz += n
                    rowStart[task.rows.lowerBound + k + 1] = UInt64(nnz)
                }
                try payload.appendColumns(UnsafeBufferPointer(start: out.columns, count: out.count))
                try values.append(UnsafeBufferPointer(start: out.values, count: out.count))
                mergedRecords += task.records
            }
            peak = max(peak, mergeFixed + waveBytes + values.memoryBytes)
            sinceRelease += wave.reduce(0) { $0 + $1.records }
            if let last = wave.last, sinceRelease * 16 >= totalRecords {
                for chunk in chunks { chunk.release(released..<last.partitions.upperBound) }
                released = last.partitions.upperBound
                sinceRelease = 0
            }
            progress(0.7 + 0.25 * Double(mergedRecords) / Double(totalRecords),
                     "merging  row \(Format.grouped(wave.last?.rows.upperBound ?? 0))/\(Format.grouped(v))  \(Format.compact(Double(nnz))) non-zeros")
        }
        workers[0].releaseTable()
        chunks.removeAll()
        let mergeSeconds = elapsed() - countingSeconds

        // Writing the rest: values, row starts, entry count.
        progress(0.95, "writing  \(Format.compact(Double(nnz))) non-zeros")
        try rowStart.withUnsafeBufferPointer { rs in
            try payload.finish(rowStart: rs, values: { try values.write(to: $0) })
        }
        let header = CooccurrenceMatrix.Header(size: v, window: w, weighting: cfg.weighting, subsampled: keepProbability != nil,
                                               nonZeroCount: nnz, tokensUsed: tokensUsed, totalWeight: totalWeight)
        return Statistics(header: header, seconds: elapsed(), countingSeconds: countingSeconds, mergeSeconds: mergeSeconds,
                          peakBufferBytes: peak, threads: threads, denseCells: dense.cells, denseThreshold: dense.threshold,
                          records: records, chunks: workers.reduce(0) { $0 + $1.chunkCount },
                          spilledBytes: spilled + values.spilledBytes, partitions: plan.count, tasks: tasks.count,
                          splitTasks: splitTasks, exactWeights: units.exact)
    }

    /// The subsampling draw for the token at `position`: uniform in [0, 1) (24 bits), a function
    /// of the seed and the position only. The token is kept when the draw is below its word's
    /// keep probability (as word2vec.c's test, one draw per occurrence).
    static func subsampleDraw(seed: UInt64, position: Int) -> Float {
        subsampleDraw(seedMix: seedMix(seed), position: position)
    }

    static func seedMix(_ seed: UInt64) -> UInt64 { Word2VecRandom.splitMix64(seed ^ 0x636F_6F63_6375_72) }

    @inline(__always)
    static func subsampleDraw(seedMix: UInt64, position: Int) -> Float {
        Float(Word2VecRandom.splitMix64(seedMix &+ UInt64(truncatingIfNeeded: position)) >> 40) * 0x1p-24
    }

    /// Per vocabulary id, about how many of its tokens are kept, from a sample of about a million
    /// tokens of the stream (times the keep probability when subsampling). Used only to plan the
    /// row partitions, which do not change the result.
    private func rowWeights() -> [Double] {
        var counts = [Double](repeating: 0, count: vocabularySize)
        let step = max(1, tokens.count / 1_000_000)
        var i = 0
        while i < tokens.count {
            let t = Int(tokens[i])
            if t < remap.count {
                let id = remap[t]
                if id != Vocabulary.dropped {
                    counts[Int(id)] += Double(step) * Double(keepProbability.map { min(1, max(0, $0[Int(id)])) } ?? 1)
                }
            }
            i += step
        }
        return counts
    }
}

/// Rows split into consecutive ranges of about equal expected merge work; records are grouped
/// by range as they leave the counting buffers, and merge tasks take whole ranges.
struct PartitionPlan: Sendable {
    /// count + 1 row boundaries.
    let bounds: [Int]
    /// Per row, its partition.
    let partitionOf: [UInt16]
    var count: Int { bounds.count - 1 }

    static let maxPartitions = 1024

    /// `counts[a]`: expected kept tokens of word a. Row a's records: each occurrence has 2 × window
    /// neighbours, each a record unless the pair is dense; under independence the share of sparse
    /// neighbours is that of the tokens of words at or beyond the row's dense limit.
    init(dense: DenseLayout, counts: [Double], window: Int, taskRecords: Int, threads: Int, partitions: Int?) {
        let v = counts.count
        var tail = [Double](repeating: 0, count: v + 1) // tail[x] = Σ_{b ≥ x} counts[b]
        for b in stride(from: v - 1, through: 0, by: -1) { tail[b] = tail[b + 1] + counts[b] }
        let total = max(1, tail[0])
        var work = [Double](repeating: 0, count: v)
        var expectedRecords = 0.0
        for a in 0..<v {
            let limit = dense.cells > 0 ? dense.fullLimit(a) : 0
            let records = counts[a] * 2 * Double(window) * tail[limit] / total
            expectedRecords += records
            // Output work: records, plus the dense cells the row scans.
            work[a] = records + Double(limit) / 4 + 1
        }
        let wanted = partitions ?? max(4 * threads, Int(min(1e9, (2 * expectedRecords / Double(max(1, taskRecords))).rounded(.up))))
        let r = max(1, min(v, Self.maxPartitions, wanted))
        let totalWork = work.reduce(0, +)
        var bounds = [0]
        var acc = 0.0
        for a in 0..<v {
            acc += work[a]
            if bounds.count < r, a + 1 < v, acc >= totalWork * Double(bounds.count) / Double(r) { bounds.append(a + 1) }
        }
        bounds.append(v)
        var of = [UInt16](repeating: 0, count: v)
        for p in 0..<(bounds.count - 1) {
            for a in bounds[p]..<bounds[p + 1] { of[a] = UInt16(p) }
        }
        self.bounds = bounds
        partitionOf = of
    }
}

/// A counting buffer's records grouped by partition: partition p's are at starts[p] ..< starts[p + 1],
/// in memory or in a scratch file. `@unchecked Sendable`: written once by the worker that made it,
/// read only (by the merge tasks) afterwards; it frees its memory when dropped.
final class Chunk: @unchecked Sendable {
    private let buffer: LargeBuffer?
    let memory: UnsafeMutablePointer<UInt64>?
    let file: ScratchFile?
    /// Byte offset in `file`, or in the arena `buffer`.
    let fileOffset: Int
    let starts: [Int]

    /// Records at byte `offset` of `memory` (an arena shared with other chunks).
    init(memory: LargeBuffer, offset: Int, starts: [Int]) {
        buffer = memory
        self.memory = (memory.pointer + offset).bindMemory(to: UInt64.self, capacity: starts.last ?? 0)
        file = nil
        fileOffset = offset
        self.starts = starts
    }

    init(file: ScratchFile, offset: Int, starts: [Int]) {
        self.buffer = nil
        memory = nil
        self.file = file
        fileOffset = offset
        self.starts = starts
    }

    func records(in partition: Int) -> Int { starts[partition + 1] - starts[partition] }

    /// Gives the memory of partitions `partitions` back to the system: their records are merged
    /// and never read again.
    func release(_ partitions: Range<Int>) {
        buffer?.release(fileOffset + starts[partitions.lowerBound] * 8 ..< fileOffset + starts[partitions.upperBound] * 8)
    }

    /// Hands `body` the records of partitions `partitions`, in pieces of at most `piece` records
    /// (read into `buffer` when spilled; in place when in memory).
    func forEachPiece(_ partitions: Range<Int>, buffer: UnsafeMutablePointer<UInt64>, piece: Int,
                      _ body: (UnsafeBufferPointer<UInt64>) throws -> Void) throws {
        let lo = starts[partitions.lowerBound], hi = starts[partitions.upperBound]
        if let memory {
            if hi > lo { try body(UnsafeBufferPointer(start: memory + lo, count: hi - lo)) }
            return
        }
        guard let file else { return }
        var at = lo
        while at < hi {
            let n = min(piece, hi - at)
            try file.read(into: buffer, count: n * 8, at: fileOffset + at * 8)
            try body(UnsafeBufferPointer(start: buffer, count: n))
            at += n
        }
    }
}

/// What the counting workers share. `@unchecked Sendable`: the raw pointers point into the
/// memory-mapped input artifacts or into `rowInfo`, all read-only and alive for the whole count;
/// every other stored property is immutable or atomic.
final class CountingJob: @unchecked Sendable {
    let tokens: UnsafeBufferPointer<UInt32>
    let remap: UnsafeBufferPointer<UInt32>
    let keep: UnsafeBufferPointer<Float>?
    let window: Int
    let seedMix: UInt64
    let units: WeightUnits
    let dense: DenseLayout
    let plan: PartitionPlan
    let idBits: Int
    let retainLimit: Int
    /// The token stream in chunks, each counted by the first worker free (so the workers finish
    /// together; with fixed halves one finished 4–27% after the other on en-corpus).
    let chunks: ChunkQueue
    let isCancelled: @Sendable () -> Bool
    let processed = Atomic<Int>(0)
    let retainedBytes = Atomic<Int>(0)
    /// Set by a worker that failed, so that the others stop early.
    let failed = Atomic<Bool>(false)
    /// Per vocabulary id hi: (base of its cells in the dense table) << 28 | (its limit): one
    /// load tells whether (lo, hi ≥ lo) is dense and where.
    let rowInfo: UnsafeMutablePointer<UInt64>
    var rowInfoBytes: Int { dense.vocabularySize * 8 }

    init(tokens: UnsafeBufferPointer<UInt32>, remap: UnsafeBufferPointer<UInt32>, keep: UnsafeBufferPointer<Float>?, window: Int,
         seed: UInt64, units: WeightUnits, dense: DenseLayout, plan: PartitionPlan, idBits: Int, retainLimit: Int,
         chunkTokens: Int, isCancelled: @escaping @Sendable () -> Bool) throws {
        self.tokens = tokens
        self.remap = remap
        self.keep = keep
        self.window = window
        seedMix = CooccurrenceCounter.seedMix(seed)
        self.units = units
        self.dense = dense
        self.plan = plan
        self.idBits = idBits
        self.retainLimit = retainLimit
        chunks = ChunkQueue(count: tokens.count, chunk: chunkTokens)
        self.isCancelled = isCancelled
        guard dense.cells < 1 << 36 else { throw CooccurrenceError.tooLarge("a dense table of \(dense.cells) cells; lower memory_mb") }
        rowInfo = .allocate(capacity: dense.vocabularySize)
        rowInfo.initialize(repeating: 0, count: dense.vocabularySize)
        for hi in 0..<dense.vocabularySize {
            rowInfo[hi] = UInt64(dense.base[hi]) << 28 | UInt64(dense.limit[hi])
        }
    }

    deinit { rowInfo.deallocate() }

    /// Whether the occurrence at `position` of vocabulary word `id` is kept by subsampling: a
    /// draw in [0, 1) from a hash of (seed, position), against the word's keep probability.
    @inline(__always)
    func kept(position: Int, id: UInt32, keep: UnsafeBufferPointer<Float>) -> Bool {
        let p = keep[Int(id)]
        return p >= 1 || CooccurrenceCounter.subsampleDraw(seedMix: seedMix, position: position) < p
    }

    /// The vocabulary id at `position`, nil when removed (out of vocabulary or subsampled away);
    /// throws for a token id outside the word table.
    @inline(__always)
    func keptID(at position: Int) throws -> UInt32? {
        let t = Int(tokens[position])
        guard t < remap.count else {
            throw CooccurrenceError.mismatchedInputs("token \(position) has word id \(t), but the vocabulary maps only \(remap.count) token words; wire inputs from the same chain of stages")
        }
        let id = remap[t]
        if id == Vocabulary.dropped { return nil }
        if let keep, !kept(position: position, id: id, keep: keep) { return nil }
        return id
    }

    /// Reserves `bytes` of the in-memory chunk budget; false when they do not fit.
    func reserve(_ bytes: Int) -> Bool {
        var current = retainedBytes.load(ordering: .relaxed)
        while current + bytes <= retainLimit {
            let (exchanged, original) = retainedBytes.compareExchange(expected: current, desired: current + bytes, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
        return false
    }
}

/// One counting worker: its slice of the stream, its dense table, its record buffers and its
/// scratch file. `@unchecked Sendable`: it is created on the calling thread, then used by exactly
/// one pool thread until the round ends, and read again by the calling thread only after that
/// (the pool's round is the hand-over).
final class CountingWorker: @unchecked Sendable {
    let index: Int
    let job: CountingJob
    /// This worker's dense table: `job.dense.cells` sums and a sink cell, zero until touched.
    private var tableMemory: LargeBuffer?
    private var bufferMemory: LargeBuffer?
    private var scratchMemory: LargeBuffer?
    var table: UnsafeMutablePointer<UInt64>? { tableMemory?.typed(UInt64.self) }
    private var buffer: UnsafeMutablePointer<UInt64>? { bufferMemory?.typed(UInt64.self) }
    private var scratch: UnsafeMutablePointer<UInt64>? { scratchMemory?.typed(UInt64.self) }
    let capacity: Int
    let spill: ScratchFile
    private(set) var spilledBytes = 0
    private(set) var chunks: [Chunk] = []
    private(set) var chunkCount = 0
    private var arena: LargeBuffer?
    private var arenaUsed = 0
    private(set) var tokensUsed: UInt64 = 0
    /// Σ units over the pairs counted (each unordered co-occurrence once).
    private(set) var pairUnits: UInt64 = 0
    private(set) var records = 0
    private(set) var error: Error?
    let allocatedBytes: Int

    init(index: Int, job: CountingJob, bufferRecords: Int, scratchDirectory: String) throws {
        self.index = index
        self.job = job
        capacity = bufferRecords
        guard let t = LargeBuffer(bytes: (job.dense.cells + 1) * 8, hugePages: true), let b = LargeBuffer(bytes: capacity * 8),
              let s = LargeBuffer(bytes: capacity * 8) else {
            throw CooccurrenceError.tooLarge("could not allocate the counting buffers; lower memory_mb")
        }
        tableMemory = t
        bufferMemory = b
        scratchMemory = s
        spill = try ScratchFile(directory: scratchDirectory)
        allocatedBytes = (job.dense.cells + 1) * 8 + capacity * 16
    }

    func releaseBuffers() {
        bufferMemory = nil
        scratchMemory = nil
        arena = nil
        chunks.removeAll()
    }

    func releaseTable() { tableMemory = nil }

    func run() {
        do {
            try count()
        } catch {
            self.error = error
            job.failed.store(true, ordering: .relaxed) // the others stop too
        }
    }

    private func count() throws {
        guard let buffer, let table else { return }
        let job = self.job
        let w = job.window
        let shiftA = UInt64(7 + job.idBits)
        let rowInfo = job.rowInfo
        let sink = job.dense.cells
        let limitMask: UInt64 = (1 << 28) - 1
        // The last `w` kept ids, each stored twice (at k and k + w) so that the one at distance d
        // is ring[pos + w − d] without a wrap-around test.
        let ring = UnsafeMutablePointer<UInt32>.allocate(capacity: 2 * w)
        ring.initialize(repeating: 0, count: 2 * w)
        defer { ring.deallocate() }
        var pos = 0, filled = 0
        var before: [UInt32] = []   // prime's scratch, kept from chunk to chunk
        before.reserveCapacity(w)
        /// Fills the ring with the kept tokens just before `begin` (a chunk's start), as if the
        /// stream had been counted up to there.
        func prime(before begin: Int) throws {
            pos = 0
            filled = 0
            before.removeAll(keepingCapacity: true)
            var p = begin - 1
            while p >= 0 && before.count < w {
                if job.tokens[p] == TokenStream.sentenceEnd { break } // no window crosses a sentence end
                if let id = try job.keptID(at: p) { before.append(id) }
                p -= 1
            }
            for id in before.reversed() {
                ring[pos] = id
                ring[pos + w] = id
                pos = pos + 1 == w ? 0 : pos + 1
                filled += 1
            }
        }

        var used: UInt64 = 0, pairs: UInt64 = 0
        var count = 0
        let cap = capacity - 2 * w
        try job.units.units.withUnsafeBufferPointer { u in
            try job.units.prefix.withUnsafeBufferPointer { prefix in
                while let chunk = job.chunks.claim() {
                    try prime(before: chunk.lowerBound)
                    var position = chunk.lowerBound
                    let chunkEnd = chunk.upperBound
                    while position < chunkEnd {
                        let current = position
                        position += 1
                        if job.tokens[current] == TokenStream.sentenceEnd {
                            filled = 0 // a new sentence: nothing before it is in any window
                            continue
                        }
                        guard let id = try job.keptID(at: current) else { continue }
                        used &+= 1
                        pairs &+= prefix[filled]
                        if count > cap {
                            try flush(count)
                            count = 0
                        }
                        let a = UInt64(id)
                        var d = 1
                        while d <= filled {
                            let other = ring[pos + w - d]
                            let lo = min(id, other), hi = max(id, other)
                            let info = rowInfo[Int(hi)]
                            let isDense = UInt64(lo) < info & limitMask
                            let cell = isDense ? Int(truncatingIfNeeded: info >> 28) &+ Int(lo) : sink
                            table[cell] &+= u[d]
                            let b = UInt64(other)
                            buffer[count] = (a << shiftA) | (b << 7) | UInt64(d)
                            buffer[count + 1] = (b << shiftA) | (a << 7) | UInt64(d)
                            count &+= isDense ? 0 : 2
                            d &+= 1
                        }
                        ring[pos] = id
                        ring[pos + w] = id
                        pos = pos + 1 == w ? 0 : pos + 1
                        if filled < w { filled += 1 }
                    }
                    job.processed.add(chunk.count, ordering: .relaxed)
                    if job.isCancelled() || job.failed.load(ordering: .relaxed) { return }
                }
            }
        }
        if count > 0 { try flush(count) }
        tokensUsed = used
        pairUnits = pairs
    }

    /// Memory for `bytes` of records kept in memory, carved from the worker's current arena (one
    /// mapping per 32 MB, not per chunk).
    private func retainedMemory(_ bytes: Int) -> (arena: LargeBuffer, offset: Int)? {
        if let arena, arenaUsed + bytes <= arena.bytes {
            defer { arenaUsed += bytes }
            return (arena, arenaUsed)
        }
        guard let fresh = LargeBuffer(bytes: max(bytes, 32 << 20)) else { return nil }
        arena = fresh
        arenaUsed = bytes
        return (fresh, 0)
    }

    /// Groups the buffer's `count` records by partition into a chunk, in memory when the budget
    /// allows, else appended to the scratch file.
    private func flush(_ count: Int) throws {
        guard let buffer, let scratch else { return }
        records += count
        chunkCount += 1
        let plan = job.plan
        let shiftA = UInt64(7 + job.idBits)
        var starts = [Int](repeating: 0, count: plan.count + 1)
        plan.partitionOf.withUnsafeBufferPointer { partitionOf in
            for i in 0..<count { starts[Int(partitionOf[Int(buffer[i] >> shiftA)]) + 1] += 1 }
        }
        for p in 0..<plan.count { starts[p + 1] += starts[p] }
        let kept = job.reserve(count * 8) ? retainedMemory(count * 8) : nil
        let target = kept.map { ($0.arena.pointer + $0.offset).bindMemory(to: UInt64.self, capacity: count) } ?? scratch
        var next = starts
        plan.partitionOf.withUnsafeBufferPointer { partitionOf in
            next.withUnsafeMutableBufferPointer { next in
                for i in 0..<count {
                    let record = buffer[i]
                    let p = Int(partitionOf[Int(record >> shiftA)])
                    target[next[p]] = record
                    next[p] += 1
                }
            }
        }
        if let kept {
            chunks.append(Chunk(memory: kept.arena, offset: kept.offset, starts: starts))
        } else {
            try spill.append(UnsafeRawBufferPointer(start: target, count: count * 8))
            chunks.append(Chunk(file: spill, offset: spilledBytes, starts: starts))
            spilledBytes += count * 8
        }
    }
}

/// One merge task: rows `rows` (partitions `partitions`), `records` records.
struct MergeTask: Sendable {
    let partitions: Range<Int>
    let rows: Range<Int>
    let records: Int
}

/// A task's rows: per row its entry count, and the entries' columns and values in row order.
/// Part of a `MergeSlot`: filled by the thread running the slot's task, then written out by the
/// calling thread between waves, and reused for the slot's next task.
final class TaskOutput {
    var rowCounts: [Int] = []
    private(set) var columns: UnsafeMutablePointer<UInt32>
    private(set) var values: UnsafeMutablePointer<Float>
    private(set) var count = 0
    private(set) var capacity: Int
    var split = false

    init(capacity: Int) {
        self.capacity = max(16, capacity)
        columns = .allocate(capacity: self.capacity)
        values = .allocate(capacity: self.capacity)
    }

    deinit {
        columns.deallocate()
        values.deallocate()
    }

    /// Makes room for `extra` more entries.
    func reserve(_ extra: Int) {
        guard count + extra > capacity else { return }
        let grown = max(count + extra, capacity * 3 / 2)
        let c = UnsafeMutablePointer<UInt32>.allocate(capacity: grown)
        let v = UnsafeMutablePointer<Float>.allocate(capacity: grown)
        c.update(from: columns, count: count)
        v.update(from: values, count: count)
        columns.deallocate()
        values.deallocate()
        columns = c
        values = v
        capacity = grown
    }

    /// Appends an entry; `reserve` made room for it.
    @inline(__always)
    func append(_ column: Int, _ value: Float) {
        columns[count] = UInt32(truncatingIfNeeded: column)
        values[count] = value
        count += 1
    }

    var bytes: Int { capacity * 8 }

    func reset() {
        rowCounts.removeAll(keepingCapacity: true)
        count = 0
        split = false
    }
}

/// The buffers of one merge thread, reused from task to task (a fresh allocation per task would
/// fault in fresh zeroed pages every time). `@unchecked Sendable`: slot i is used by the task at
/// index i of the current wave only, and by the calling thread only between waves.
final class MergeSlot: @unchecked Sendable {
    private var memory: (keys: LargeBuffer, scratch: LargeBuffer)?
    private(set) var capacity = 0
    let output = TaskOutput(capacity: 1 << 16)
    /// Room for `records` keys and as many of sort scratch (their contents are not kept).
    func reserve(_ records: Int) throws -> (keys: UnsafeMutablePointer<UInt64>, scratch: UnsafeMutablePointer<UInt64>) {
        if let memory, records <= capacity { return (memory.keys.typed(UInt64.self), memory.scratch.typed(UInt64.self)) }
        memory = nil
        let n = max(records, 1)
        guard let k = LargeBuffer(bytes: n * 8), let s = LargeBuffer(bytes: n * 8) else {
            throw CooccurrenceError.tooLarge("could not allocate \(n) records for merging; lower memory_mb")
        }
        memory = (k, s)
        capacity = n
        return (k.typed(UInt64.self), s.typed(UInt64.self))
    }

    var bytes: Int { capacity * 16 + output.bytes }
}

/// What merge tasks read. `@unchecked Sendable`: the dense table and the chunks are only read
/// while tasks run (the table was filled before, and is freed after, every task).
struct MergeContext: @unchecked Sendable {
    let dense: DenseLayout
    let table: UnsafePointer<UInt64>
    let units: WeightUnits
    let idBits: Int
    let plan: PartitionPlan
    let chunks: [Chunk]
    let taskRecords: Int
    let vocabularySize: Int

    var shiftA: UInt64 { UInt64(7 + idBits) }

    /// Consecutive partitions grouped into tasks of at most `taskRecords` records (a partition
    /// with more is a task of its own, split by rows when processed).
    func tasks() -> [MergeTask] {
        var out: [MergeTask] = []
        var start = 0, records = 0
        for p in 0..<plan.count {
            let n = chunks.reduce(0) { $0 + $1.records(in: p) }
            if p > start && records + n > taskRecords {
                out.append(MergeTask(partitions: start..<p, rows: plan.bounds[start]..<plan.bounds[p], records: records))
                start = p
                records = 0
            }
            records += n
        }
        out.append(MergeTask(partitions: start..<plan.count, rows: plan.bounds[start]..<plan.bounds[plan.count], records: records))
        return out
    }

    func process(_ task: MergeTask, slot: MergeSlot, isCancelled: () -> Bool) throws {
        if isCancelled() { throw CancelledError() }
        let out = slot.output
        out.reset()
        out.rowCounts.reserveCapacity(task.rows.count)
        if task.records <= taskRecords {
            let (keys, scratch) = try slot.reserve(task.records)
            var n = 0
            for chunk in chunks {
                try chunk.forEachPiece(task.partitions, buffer: keys + n, piece: Int.max) { piece in
                    if let base = piece.baseAddress, base != UnsafePointer(keys + n) {
                        (keys + n).update(from: base, count: piece.count)
                    }
                    n += piece.count
                }
            }
            guard n == task.records else { throw CooccurrenceError.internalInconsistency("gathered \(n) of \(task.records) records") }
            let sorted = sortRelative(keys, scratch: scratch, count: n, rows: task.rows)
            emit(task.rows, sorted: UnsafeBufferPointer(start: sorted, count: n), into: out)
            return
        }
        // Too many records for one go: split the rows by their record counts.
        out.split = true
        let piece = max(1024, taskRecords / 4)
        let pieceBuffer = UnsafeMutablePointer<UInt64>.allocate(capacity: piece)
        defer { pieceBuffer.deallocate() }
        let shiftA = self.shiftA
        var perRow = [Int](repeating: 0, count: task.rows.count)
        let r0 = task.rows.lowerBound
        for chunk in chunks {
            try chunk.forEachPiece(task.partitions, buffer: pieceBuffer, piece: piece) { records in
                for record in records { perRow[Int(record >> shiftA) - r0] += 1 }
            }
        }
        var rangeStart = 0
        while rangeStart < perRow.count {
            if isCancelled() { throw CancelledError() }
            var rangeEnd = rangeStart + 1
            var n = perRow[rangeStart]
            while rangeEnd < perRow.count && n + perRow[rangeEnd] <= taskRecords {
                n += perRow[rangeEnd]
                rangeEnd += 1
            }
            let rows = (r0 + rangeStart)..<(r0 + rangeEnd)
            if n <= taskRecords {
                let (keys, scratch) = try slot.reserve(n)
                var k = 0
                let lo = UInt64(rows.lowerBound), hi = UInt64(rows.upperBound)
                for chunk in chunks {
                    try chunk.forEachPiece(task.partitions, buffer: pieceBuffer, piece: piece) { records in
                        for record in records {
                            let row = record >> shiftA
                            if row >= lo && row < hi { keys[k] = record; k += 1 }
                        }
                    }
                }
                guard k == n else { throw CooccurrenceError.internalInconsistency("gathered \(k) of \(n) records") }
                let sorted = sortRelative(keys, scratch: scratch, count: n, rows: rows)
                emit(rows, sorted: UnsafeBufferPointer(start: sorted, count: n), into: out)
            } else {
                // One row with more records than a task holds: sum them in V sums.
                let row = rows.lowerBound
                var sums = [UInt64](repeating: 0, count: vocabularySize)
                let idMask = (UInt64(1) << UInt64(idBits)) - 1
                try units.units.withUnsafeBufferPointer { u in
                    for chunk in chunks {
                        try chunk.forEachPiece(task.partitions, buffer: pieceBuffer, piece: piece) { records in
                            for record in records where Int(record >> shiftA) == row {
                                sums[Int((record >> 7) & idMask)] &+= u[Int(record & 127)]
                            }
                        }
                    }
                }
                emitSingleRow(row, sums: sums, into: out)
            }
            rangeStart = rangeEnd
        }
    }

    /// Sorts records of rows `rows` by (row, column): the row is made relative to the first so
    /// that only the bits that vary are sorted on.
    private func sortRelative(_ keys: UnsafeMutablePointer<UInt64>, scratch: UnsafeMutablePointer<UInt64>, count: Int,
                              rows: Range<Int>) -> UnsafeMutablePointer<UInt64> {
        let offset = UInt64(rows.lowerBound) << shiftA
        for i in 0..<count { keys[i] &-= offset }
        let rowBits = Int.bitWidth - max(0, rows.count - 1).leadingZeroBitCount
        return RadixSort.sort(keys, scratch: scratch, count: count, lowBit: 7, bits: idBits + rowBits)
    }

    /// Appends rows `rows`: each row's dense cells merged with its records (sorted, rows relative
    /// to `rows.lowerBound`), summed per column.
    private func emit(_ rows: Range<Int>, sorted: UnsafeBufferPointer<UInt64>, into out: TaskOutput) {
        let shiftA = self.shiftA
        let idMask = (UInt64(1) << UInt64(idBits)) - 1
        let scale = units.scale
        var k = 0
        let n = sorted.count
        units.units.withUnsafeBufferPointer { u in
            dense.base.withUnsafeBufferPointer { base in
                for r in rows {
                    let relative = UInt64(r - rows.lowerBound)
                    let fullLimit = dense.cells > 0 ? dense.fullLimit(r) : 0
                    out.reserve(fullLimit + (n - k))
                    var j = 0
                    var entries = 0
                    while true {
                        var denseUnits: UInt64 = 0
                        while j < fullLimit {
                            denseUnits = table[j < r ? base[r] + j : base[j] + r]
                            if denseUnits != 0 { break }
                            j += 1
                        }
                        let sparseColumn = k < n && sorted[k] >> shiftA == relative ? Int((sorted[k] >> 7) & idMask) : Int.max
                        let column: Int
                        let sum: UInt64
                        if j < fullLimit && j < sparseColumn {
                            column = j
                            sum = j == r ? denseUnits &* 2 : denseUnits
                            j += 1
                        } else if sparseColumn != Int.max {
                            column = sparseColumn
                            let pair = sorted[k] >> 7
                            var s: UInt64 = 0
                            while k < n && sorted[k] >> 7 == pair {
                                s &+= u[Int(sorted[k] & 127)]
                                k += 1
                            }
                            sum = s
                        } else {
                            break
                        }
                        out.append(column, Float(Double(sum) / scale))
                        entries += 1
                    }
                    out.rowCounts.append(entries)
                }
            }
        }
    }

    /// Appends one row whose records were summed into `sums` (V entries).
    private func emitSingleRow(_ r: Int, sums: [UInt64], into out: TaskOutput) {
        let scale = units.scale
        let fullLimit = dense.cells > 0 ? dense.fullLimit(r) : 0
        out.reserve(vocabularySize)
        var entries = 0
        for column in 0..<vocabularySize {
            var sum = sums[column]
            if column < fullLimit {
                let cell = dense.cell(column, r)
                sum &+= column == r ? table[cell] &* 2 : table[cell]
            }
            if sum != 0 {
                out.append(column, Float(Double(sum) / scale))
                entries += 1
            }
        }
        out.rowCounts.append(entries)
    }
}

/// The values of the output, in order, held until the columns are all written: in memory up to
/// `memoryLimit` bytes, the rest in a scratch file.
final class StagedValues {
    private var blocks: [UnsafeMutableBufferPointer<Float>] = []
    private var filled = 0 // in the last block
    private let memoryLimit: Int
    private let scratchDirectory: String
    private var file: ScratchFile?
    private(set) var spilledBytes = 0
    private(set) var memoryBytes = 0

    init(memoryLimit: Int, scratchDirectory: String) {
        self.memoryLimit = memoryLimit
        self.scratchDirectory = scratchDirectory
    }

    deinit { for b in blocks { b.deallocate() } }

    func append(_ values: UnsafeBufferPointer<Float>) throws {
        var rest = values
        while file == nil, !rest.isEmpty {
            if let last = blocks.last, filled < last.count, let to = last.baseAddress, let from = rest.baseAddress {
                let n = min(last.count - filled, rest.count)
                (to + filled).update(from: from, count: n)
                filled += n
                rest = UnsafeBufferPointer(rebasing: rest[n...])
                continue
            }
            let blockCount = 1 << 20
            guard memoryBytes + blockCount * 4 <= memoryLimit else {
                file = try ScratchFile(directory: scratchDirectory)
                break
            }
            blocks.append(.allocate(capacity: blockCount))
            memoryBytes += blockCount * 4
            filled = 0
        }
        if let file, !rest.isEmpty {
            try file.append(UnsafeRawBufferPointer(rest))
            spilledBytes += rest.count * 4
        }
    }

    /// Writes every value, in order.
    func write(to w: ArtifactWriter) throws {
        for (i, block) in blocks.enumerated() {
            try w.write(array: UnsafeBufferPointer(rebasing: block[0..<(i == blocks.count - 1 ? filled : block.count)]))
        }
        guard let file, spilledBytes > 0 else { return }
        let pieceBytes = 4 << 20
        let piece = UnsafeMutableRawPointer.allocate(byteCount: pieceBytes, alignment: 64)
        defer { piece.deallocate() }
        var offset = 0
        while offset < spilledBytes {
            let n = min(pieceBytes, spilledBytes - offset)
            try file.read(into: piece, count: n, at: offset)
            try w.write(UnsafeRawBufferPointer(start: piece, count: n))
            offset += n
        }
    }
}

/// LSD radix sort of UInt64 keys on bits lowBit ..< lowBit + bits.
enum RadixSort {
    /// Sorts `count` keys of `keys`, using `scratch` (as large); returns the buffer holding them sorted.
    static func sort(_ keys: UnsafeMutablePointer<UInt64>, scratch: UnsafeMutablePointer<UInt64>, count: Int,
                     lowBit: Int, bits: Int) -> UnsafeMutablePointer<UInt64> {
        guard count > 1, bits > 0 else { return keys }
        let passes = (bits + 10) / 11
        let digitBits = (bits + passes - 1) / passes
        let radix = 1 << digitBits
        let mask = UInt64(radix - 1)
        let histogram = UnsafeMutablePointer<Int>.allocate(capacity: passes * radix)
        histogram.initialize(repeating: 0, count: passes * radix)
        defer { histogram.deallocate() }
        for i in 0..<count {
            let k = keys[i] >> UInt64(lowBit)
            for p in 0..<passes { histogram[p * radix + Int((k >> UInt64(p * digitBits)) & mask)] += 1 }
        }
        var source = keys, target = scratch
        for p in 0..<passes {
            let row = histogram + p * radix
            var total = 0
            var trivial = false
            for d in 0..<radix {
                let c = row[d]
                if c == count { trivial = true; break }
                row[d] = total
                total += c
            }
            if trivial { continue }
            let shift = UInt64(lowBit + p * digitBits)
            for i in 0..<count {
                let k = source[i]
                let d = Int((k >> shift) & mask)
                target[row[d]] = k
                row[d] += 1
            }
            swap(&source, &target)
        }
        return source
    }
}
