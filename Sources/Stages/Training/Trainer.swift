import Foundation
import Dispatch
import Pipeline
import CTrainKernels

/// Trains an `EmbeddingModel` with SGNS or CBOW on several threads.
///
/// Each epoch the workers take the token stream in consecutive chunks (`TrainingJob.chunkTokens`),
/// each the next one not yet taken, so that they run out of work together (one worker: the whole
/// stream as one chunk). Tokens are remapped to vocabulary ids (OOV dropped), subsampled per
/// occurrence, and grouped into sentences of at most 1000 kept words (as word2vec.c), also ended
/// by the stream's sentence-end markers (`TokenStream.sentenceEnd`, sentence mode); windows never
/// cross a sentence boundary. The learning rate decays linearly over the whole run from
/// `learningRate` to `learningRate × minLearningRateFraction`, driven by the global count of
/// processed tokens, which workers publish every ~10k tokens. With two workers and a vocabulary
/// of more than 4,096 words, by default the second trains its own replica of both tables and
/// merges it into the shared tables from time to time (`TrainingConfiguration.replicaInterval`,
/// `ReplicaTables`); otherwise the workers (with more than two, all but the replica's) write the
/// shared tables Hogwild-style like word2vec.c, each training its own copy of the hottest output
/// rows and merging it when it publishes (`hotRows`).
public struct Trainer {
    public let configuration: TrainingConfiguration
    public let corpus: TrainingCorpus
    /// Word tokens in the stream (sentence ends not counted): the words of one epoch.
    public let wordTokenCount: Int
    let alias: AliasTable
    let sigmoid: SigmoidTable

    /// Maximum kept words per sentence (word2vec.c's MAX_SENTENCE_LENGTH).
    public static let maxSentenceLength = 1000
    /// Tokens a worker processes between two publications of its counters.
    public static let syncInterval = 10_000
    /// With replicas (`TrainingConfiguration.replicaMergeWords`): the rows of the most frequent
    /// words (in both tables) that a replica also merges `replicaHotMergesPerMerge` times as
    /// often as the rest. They are the rows both workers change most; merged only with the rest,
    /// every ~1M words, each worker trained them for that long without the other's changes, and
    /// 5-epoch skip-gram lost 1.1–1.6 analogy points (bench/RESULTS.md); merged every ~100k
    /// words it did not. 4,096 rows cost ~22 MB of memory traffic a merge at dim 100.
    public static let replicaHotRows = 4_096
    public static let replicaHotMergesPerMerge = 10
    /// Why a replica is risky on a small vocabulary, for the stage's notes.
    static let everyRowHotNote = "with at most \(Format.grouped(replicaHotRows)) words every row is hot, and a replica trains them from values a merge old"

    /// The loss per positive pair (CBOW: per centre) of a model whose output vectors are zero,
    /// as at the start: (K + 1) · ln 2.
    public static func untrainedLoss(negatives: Int) -> Double { Double(negatives + 1) * log(2.0) }
    /// An epoch whose mean loss is over this many times `untrainedLoss` ends the run as
    /// diverged (`TrainingError.diverged`): trained models are under it (en-corpus after 5
    /// epochs: ~0.4–0.55×), one whose rows blew up is far over it (an 8-thread run with a
    /// replica per thread, since fixed: ~5e18×).
    public static let divergedLossFactor = 3.0

    /// `.diverged` when an epoch's mean loss (nil: no pair trained) is finite but over
    /// `divergedLossFactor` × `untrainedLoss`: a model worse than the untrained one is no model.
    /// (A non-finite loss is `.nonFinite`'s.)
    static func divergence(epoch: Int, meanLoss: Double?, negatives: Int) -> TrainingError? {
        let untrained = untrainedLoss(negatives: negatives)
        guard let loss = meanLoss, loss.isFinite, loss > divergedLossFactor * untrained else { return nil }
        return .diverged(epoch: epoch, loss: loss, untrained: untrained)
    }

    public init(configuration: TrainingConfiguration, corpus: TrainingCorpus) throws {
        try configuration.validate()
        let v = corpus.vocabularySize
        guard v > 0 else { throw TrainingError.invalidConfiguration("empty vocabulary") }
        guard v < Int(Int32.max) else { throw TrainingError.invalidConfiguration("vocabulary too large (\(v))") }
        guard corpus.keepProbability.count == v else {
            throw TrainingError.invalidConfiguration("keepProbability has \(corpus.keepProbability.count) entries for \(v) words")
        }
        guard corpus.counts.contains(where: { $0 > 0 }) else {
            throw TrainingError.invalidConfiguration("all vocabulary counts are zero")
        }
        var badRemap = false
        for r in corpus.remap where r != UInt32.max && Int(r) >= v { badRemap = true; break }
        if badRemap { throw TrainingError.invalidConfiguration("remap contains vocabulary ids ≥ \(v)") }
        // One pass over the tokens, on the raw buffer and without branches, so the compiler can
        // vectorise it (with this, the train stage's setup on en-corpus fell from ~25–45 ms to
        // ~22 ms on the AMD VM, 2026-12-04, 3 runs).
        let end = TokenStream.sentenceEnd
        let (maxToken, sentenceEnds) = corpus.tokens.withUnsafeBufferPointer { buf -> (UInt32, Int) in
            var top: UInt32 = 0, ends = 0
            for t in buf {
                let isEnd = t == end
                ends &+= isEnd ? 1 : 0
                top = max(top, isEnd ? 0 : t)
            }
            return (top, ends)
        }
        wordTokenCount = corpus.tokens.count - sentenceEnds
        if wordTokenCount > 0 && Int(maxToken) >= corpus.remap.count {
            throw TrainingError.invalidConfiguration("token id \(maxToken) outside remap (\(corpus.remap.count) entries)")
        }
        self.configuration = configuration
        self.corpus = corpus
        alias = AliasTable(counts: corpus.counts, exponent: configuration.nsExponent)
        sigmoid = SigmoidTable()
    }

    /// How the workers share the tables, in a line for the stage's notes (nil with one thread).
    public var threadingSummary: String? {
        let cfg = configuration, v = corpus.vocabularySize
        guard cfg.threads > 1 else { return nil }
        let interval = cfg.replicaInterval(vocabularySize: v, epochWords: wordTokenCount)
        guard interval > 0 else {
            let hot = cfg.stagedRows(vocabularySize: v)
            let why = cfg.replicaLeftOutForSmallVocabulary(vocabularySize: v) ? " (no replica: \(Trainer.everyRowHotNote))" : ""
            guard hot > 0 else { return "\(cfg.threads) threads write the shared tables, every row (word2vec.c's Hogwild)\(why)" }
            return "\(cfg.threads) threads write the shared tables (Hogwild), each with its own copy of the \(Format.grouped(hot)) most frequent words' output rows\(why)"
        }
        let rows = cfg.replicaRowCount(vocabularySize: v)
        let bytes = Int(TrainingConfiguration.replicaBytes(vocabularySize: rows, dimension: cfg.dimension))
        let which = rows >= v ? "all \(Format.grouped(v)) rows" : "the \(Format.grouped(rows)) most frequent words' rows (of \(Format.grouped(v)); the rest shared)"
        // Asked for on a vocabulary the default gives none (see `replicaInterval`): say what it risks.
        let risk = TrainingConfiguration.everyRowHot(vocabularySize: v)
            ? " (asked for; \(Trainer.everyRowHotNote), which on some corpora overshoots: the default has no replica here)" : ""
        let replica = "thread 2 trains a replica of \(which) of both tables (\(Format.bytes(bytes))), merged every \(Format.grouped(interval)) words read, the \(Format.grouped(min(rows, Trainer.replicaHotRows))) hottest \(Trainer.replicaHotMergesPerMerge)× as often\(risk)"
        guard cfg.threads > 2 else { return replica }
        let hot = cfg.stagedRows(vocabularySize: v, replicaInterval: interval)
        let others = cfg.threads == 3 ? "threads 1 and 3" : "threads 1 and 3–\(cfg.threads)"
        guard hot > 0 else { return "\(replica); \(others) write the shared tables, every row (Hogwild)" }
        return "\(replica); \(others) write the shared tables (Hogwild), each with its own copy of the \(Format.grouped(hot)) most frequent words' output rows"
    }

    /// A freshly initialised model (word2vec.c initialisation, seeded by `configuration.seed`).
    public static func makeModel(vocabularySize: Int, configuration: TrainingConfiguration) -> EmbeddingModel {
        EmbeddingModel(vocabularySize: vocabularySize, dimension: configuration.dimension, seed: configuration.seed,
                       initRange: configuration.initRange ?? 0.5)
    }

    /// Trains `model` in place for `configuration.epochs` epochs.
    ///
    /// - Parameters:
    ///   - progress: called on the calling thread only, about 5 times per second and once at the end.
    ///   - isCancelled: polled by the workers every `syncInterval` tokens.
    /// - Throws: `CancelledError`, `.nonFinite(epoch:)` and `.diverged` (checked after every epoch),
    ///   `.invalidConfiguration` if the model's shape does not match.
    public func train(model: EmbeddingModel,
                      progress: (TrainingProgress) -> Void = { _ in },
                      isCancelled: @escaping @Sendable () -> Bool = { false }) throws -> TrainingResult {
        let cfg = configuration
        guard model.vocabularySize == corpus.vocabularySize, model.dimension == cfg.dimension else {
            throw TrainingError.invalidConfiguration(
                "model is \(model.vocabularySize)×\(model.dimension), corpus/configuration need \(corpus.vocabularySize)×\(cfg.dimension)")
        }
        // The rows spread to whole cache lines for the whole run (see `withTrainingRows`), packed
        // back when it ends, however it ends.
        return try model.inputVectors.withTrainingRows { inPtr, inStride in
            try model.outputVectors.withTrainingRows { outPtr, outStride in
                let tables = TrainingTables(input: inPtr, inputStride: inStride, output: outPtr, outputStride: outStride,
                                            rows: model.vocabularySize)
                return try train(model: model, tables: tables, progress: progress, isCancelled: isCancelled)
            }
        }
    }

    private func train(model: EmbeddingModel, tables: TrainingTables, progress: (TrainingProgress) -> Void,
                       isCancelled: @escaping @Sendable () -> Bool) throws -> TrainingResult {
        let cfg = configuration
        // A replica for the second worker only (`TrainingConfiguration.replicaMergeWords`).
        var replicas: [ReplicaTables?] = [nil]
        let replicaInterval = cfg.replicaInterval(vocabularySize: tables.rows, epochWords: wordTokenCount)
        if replicaInterval > 0 {
            if let problem = cfg.replicaMemoryError(vocabularySize: tables.rows) {
                throw TrainingError.invalidConfiguration(problem)
            }
            let rows = cfg.replicaRowCount(vocabularySize: tables.rows)
            guard let r = ReplicaTables(tables: tables, rows: rows) else {
                let mb = ReplicaTables.bytes(tables: tables, rows: rows) >> 20
                throw TrainingError.invalidConfiguration(
                    "no memory for the replica of the tables (\(mb) MB); use a smaller replica_rows, or replica_merge_words 0")
            }
            replicas.append(r)
        }
        let job = TrainingJob(configuration: cfg, corpus: corpus, wordTokenCount: wordTokenCount, alias: alias, sigmoid: sigmoid,
                              tables: tables, replicas: replicas, replicaInterval: replicaInterval, isCancelled: isCancelled)
        let start = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        var lastLoss = 0.0, lastPairs = 0

        func report(epoch: Int) {
            let s = job.snapshot()
            let t = elapsed()
            let fraction = job.totalWords > 0 ? min(1, Double(s.processed) / Double(job.totalWords)) : 1
            let dp = s.pairs - lastPairs
            let avg = dp > 0 ? (s.lossSum - lastLoss) / Double(dp) : (s.pairs > 0 ? s.lossSum / Double(s.pairs) : 0)
            lastLoss = s.lossSum
            lastPairs = s.pairs
            let eta = fraction > 0 ? t * (1 - fraction) / fraction : 0
            progress(TrainingProgress(fraction: fraction, epoch: epoch, wordsProcessed: s.processed,
                                      wordsPerSecond: t > 0 ? Double(s.processed) / t : 0,
                                      learningRate: s.alpha, averageLoss: avg,
                                      elapsedSeconds: t, etaSeconds: eta))
        }

        // One thread per worker for the whole run; each epoch is one round.
        let pool = WorkerPool(workers: cfg.threads) { epoch, worker in job.runWorker(epoch: epoch, worker: worker) }
        defer { pool.shutdown() }
        for epoch in 0..<cfg.epochs {
            job.beginEpoch()
            pool.startRound(epoch)
            while pool.waitForRound(timeout: .now() + .milliseconds(200)) == .timedOut {
                report(epoch: epoch + 1)
            }
            if job.wasCancelled { throw CancelledError() }
            if job.sawNonFinite || !model.inputVectors.allFinite() {
                throw TrainingError.nonFinite(epoch: model.epochsTrained + 1)
            }
            if let diverged = Trainer.divergence(epoch: model.epochsTrained + 1, meanLoss: job.epochMeanLoss,
                                                 negatives: cfg.negativeSamples) {
                throw diverged
            }
            model.epochsTrained += 1
        }
        let seconds = elapsed()
        report(epoch: cfg.epochs)
        return job.result(seconds: seconds)
    }
}

/// Where the workers find the two tables during a run: the first float of each and the floats
/// from one row to the next (`EmbeddingMatrix.withTrainingRows`).
struct TrainingTables {
    let input: UnsafeMutablePointer<Float>
    let inputStride: Int
    let output: UnsafeMutablePointer<Float>
    let outputStride: Int
    let rows: Int
}

/// One worker's replica of the first `rows` rows of both tables, the most frequent words'
/// (`TrainingConfiguration.replicaMergeWords`, `replicaRows`): the rows it trains (`local`) and
/// the shared values it last took (`base`, what its changes are measured from), laid out as the
/// shared tables are. Touched only by its worker's thread. The worker writes the other rows in
/// the shared tables.
final class ReplicaTables: @unchecked Sendable {
    private let buffer: LargeBuffer
    let inputLocal, inputBase, outputLocal, outputBase: UnsafeMutablePointer<Float>
    /// Rows of each table held (the first ones).
    let rows: Int
    /// The epoch at whose end (its worker's last merge of that epoch) this replica last merged,
    /// so held the shared values; nil before its first. See `startEpoch`.
    private(set) var mergedAtEndOf: Int?
    /// Floats in each input copy, and in each output copy.
    let inputFloats, outputFloats: Int

    /// Floats of whole 4 KB pages that hold `floats` floats (each copy starts on its own page).
    private static func pageFloats(_ floats: Int) -> Int { (floats + 1023) / 1024 * 1024 }

    /// Bytes of one replica of `rows` rows of `tables`: two copies of each, each on whole pages.
    static func bytes(tables: TrainingTables, rows: Int) -> Int {
        4 * (2 * pageFloats(rows * tables.inputStride) + 2 * pageFloats(rows * tables.outputStride))
    }

    /// Nil when the memory cannot be mapped. The copies are filled by `take(from:)`.
    ///
    /// In huge pages, like the tables. On a VM whose host takes freed memory back, fresh 2 MB
    /// pages are the dearest memory there is, and the replica's first copy is made inside the
    /// first epoch: for a 122 MB replica (en-corpus, dim 100) on the 2-vCPU AMD VM of 2026-12-04
    /// it took 0.20–0.82 s in huge pages, 0.06–0.07 s in 4 KB pages, and 4 KB pages raised
    /// 1-epoch CBOW's words/s by 6–20% in one series of paired runs (0.93× in a later one). But
    /// the whole stage took longer (1.047× and 1.163×, 8 paired rounds each): writing the
    /// artifacts after the epochs, ~0.05 s when the replica's 2 MB pages have just been freed,
    /// took 0.08–0.39 s (bench/RESULTS.md). The fresh memory is paid either way; in huge pages
    /// the replica's worker also misses the TLB less. Only the base copies (read by merges
    /// alone) in 4 KB pages did the same later that day: 1.08× words/s after pauses, but back to
    /// back 1.00× and the run 1.09× longer, its writes again slower.
    init?(tables: TrainingTables, rows: Int) {
        let rows = max(1, min(rows, tables.rows))
        guard let b = LargeBuffer(bytes: ReplicaTables.bytes(tables: tables, rows: rows), hugePages: true) else { return nil }
        buffer = b
        self.rows = rows
        inputFloats = rows * tables.inputStride
        outputFloats = rows * tables.outputStride
        let p = b.typed(Float.self)
        inputLocal = p
        inputBase = p + ReplicaTables.pageFloats(inputFloats)
        outputLocal = inputBase + ReplicaTables.pageFloats(inputFloats)
        outputBase = outputLocal + ReplicaTables.pageFloats(outputFloats)
    }

    /// Readies the replica for `epoch`: takes the shared tables at the first epoch, and at any
    /// later one unless it merged at the end of the epoch before. A worker that got no chunk of
    /// an epoch (descheduled while the others took them all: seen with 3 threads on 2 loaded
    /// cores and a small corpus) would otherwise train its next chunks on rows an epoch or more
    /// old, and from the untrained start if that was the first epoch. After a merge at an
    /// epoch's end the replica lacks only what others merged after it (at most their last
    /// chunks), and the copy (both tables, twice) is not worth its time then.
    func startEpoch(_ epoch: Int, from tables: TrainingTables) {
        if epoch == 0 || mergedAtEndOf != epoch - 1 { take(from: tables) }
    }

    /// Its worker's last merge of `epoch` (every row), when the epoch's stream is used up.
    func endEpoch(_ epoch: Int, into tables: TrainingTables, startFraction: Double) {
        merge(into: tables, rows: rows, startFraction: startFraction)
        mergedAtEndOf = epoch
    }

    /// Starts from the shared tables: `local` copies them, `base` copies `local` (not the shared
    /// rows again, which another worker may have changed since, so no change is counted twice).
    func take(from tables: TrainingTables) {
        inputLocal.update(from: tables.input, count: inputFloats)
        inputBase.update(from: inputLocal, count: inputFloats)
        outputLocal.update(from: tables.output, count: outputFloats)
        outputBase.update(from: outputLocal, count: outputFloats)
    }

    /// Adds this replica's changes since the last merge to the shared tables and takes the
    /// shared values (with the other workers' changes) as its new start
    /// (`Kernels.mergeStaged`), for the first `rows` rows of each table (the most frequent
    /// words: the vocabulary is sorted by count). Starts `startFraction` of the way into them, so
    /// workers merging at once are rarely on the same rows.
    func merge(into tables: TrainingTables, rows: Int, startFraction: Double) {
        let rows = min(rows, self.rows)
        let first = min(rows, Int(Double(rows) * startFraction))
        func rotated(_ shared: UnsafeMutablePointer<Float>, _ local: UnsafeMutablePointer<Float>,
                     _ base: UnsafeMutablePointer<Float>, _ stride: Int) {
            let o = first * stride
            Kernels.mergeStaged(shared: shared + o, local: local + o, base: base + o, count: (rows - first) * stride)
            Kernels.mergeStaged(shared: shared, local: local, base: base, count: o)
        }
        rotated(tables.input, inputLocal, inputBase, tables.inputStride)
        rotated(tables.output, outputLocal, outputBase, tables.outputStride)
    }
}

/// State shared by the workers of one `train` call.
///
/// `@unchecked Sendable` because its counters are `var`s guarded by `lock` (every access takes
/// it); all `let` tables are only read during training. The embedding tables themselves are
/// `EmbeddingMatrix` (see there for the deliberate Hogwild race).
final class TrainingJob: @unchecked Sendable {
    let config: TrainingConfiguration
    let tokens: MappedArray<UInt32>
    let tokenCount: Int
    /// Per token id: its vocabulary id (low 32 bits; `UInt32.max` outside the vocabulary) and its
    /// word's `keepThreshold` (high 32 bits), so reading a token costs one table read, not two
    /// dependent ones.
    let tokenInfo: [UInt64]
    let alias: AliasTable
    let sigmoid: SigmoidTable
    let tables: TrainingTables
    /// Per worker: its replica of the tables, or nil when it trains the shared ones.
    let replicas: [ReplicaTables?]
    /// Words a worker with a replica reads between merges (0: no replicas).
    let replicaInterval: Int
    let isCancelled: @Sendable () -> Bool
    let totalWords: Int
    let minAlpha: Float
    let curveStep: Int

    let lock = NSLock()
    // Guarded by `lock`.
    private var processed = 0
    private var alpha: Float
    private var lossSum = 0.0
    private var pairs = 0
    private var kept = 0
    private var stop = false
    private var cancelled = false
    private var nonFinite = false
    private var curve: [LossPoint] = []
    private var curveLoss = 0.0
    private var curvePairs = 0
    private var nextCurveAt: Int
    private var epochLoss = 0.0
    private var epochPairs = 0
    private var sentenceNanos: UInt64 = 0
    /// This epoch's token stream in chunks, as the workers take them (see `chunkTokens`).
    let chunks: ChunkQueue

    init(configuration: TrainingConfiguration, corpus: TrainingCorpus, wordTokenCount: Int, alias: AliasTable, sigmoid: SigmoidTable,
         tables: TrainingTables, replicas: [ReplicaTables?] = [], replicaInterval: Int = 0,
         isCancelled: @escaping @Sendable () -> Bool) {
        config = configuration
        self.replicas = replicas
        self.replicaInterval = replicas.contains { $0 != nil } ? replicaInterval : 0
        tokens = corpus.tokens
        tokenCount = corpus.tokens.count
        tokenInfo = TrainingJob.tokenInfo(remap: corpus.remap, keepProbability: corpus.keepProbability)
        self.alias = alias
        self.sigmoid = sigmoid
        self.tables = tables
        self.isCancelled = isCancelled
        totalWords = wordTokenCount * configuration.epochs
        alpha = configuration.learningRate
        minAlpha = configuration.learningRate * configuration.minLearningRateFraction
        curveStep = max(1, totalWords / 100)
        nextCurveAt = curveStep
        chunks = ChunkQueue(count: corpus.tokens.count,
                            chunk: TrainingJob.chunkTokens(tokenCount: corpus.tokens.count, threads: configuration.threads),
                            tailWorkers: configuration.threads, minimumChunk: TrainingJob.minimumChunkTokens)
    }

    /// Tokens a worker takes from the stream at a time: the whole stream for one worker (so one
    /// thread trains exactly as it always has); otherwise about a 32nd of a worker's share,
    /// between 8,192 and 131,072 tokens. Fixed slices of one share each left a core idle at the
    /// end of every epoch while the other finished (one finished 8–25% later than the other in
    /// 1-epoch runs on en-corpus); with chunks the workers should finish within one chunk of
    /// each other. Near the end of an epoch the chunks shrink (`ChunkQueue`'s tail, down to
    /// `minimumChunkTokens`). With whole chunks (~52 ms of a worker at 2.5M words/s) the first
    /// worker to finish an epoch waited 0.6–37 ms for the other (median 15 ms; 13 one-epoch runs
    /// of 2-thread CBOW and skip-gram on en-corpus); with the shrinking tail 0–2.7 ms (8 runs).
    /// A sentence never spans two chunks (word2vec.c likewise cuts at its threads' file offsets).
    static func chunkTokens(tokenCount: Int, threads: Int) -> Int {
        guard threads > 1 else { return max(1, tokenCount) }
        return min(131_072, max(minimumChunkTokens, tokenCount / (threads * 32)))
    }

    /// The shortest chunk (but the stream's last), also near the end of an epoch: ~3 ms of a
    /// worker's time at 2.5M words/s.
    static let minimumChunkTokens = 8_192

    /// The next chunk of this epoch's stream no worker has taken yet, or nil when none is left or
    /// the run is stopping.
    func claimChunk() -> Range<Int>? {
        lock.lock()
        let stopping = stop
        lock.unlock()
        return stopping ? nil : chunks.claim()
    }

    struct Snapshot { var processed: Int; var alpha: Float; var lossSum: Double; var pairs: Int }

    func snapshot() -> Snapshot {
        lock.lock(); defer { lock.unlock() }
        return Snapshot(processed: processed, alpha: alpha, lossSum: lossSum, pairs: pairs)
    }

    var wasCancelled: Bool { lock.lock(); defer { lock.unlock() }; return cancelled }
    /// This epoch's mean loss per pair so far (nil before any pair).
    var epochMeanLoss: Double? { lock.lock(); defer { lock.unlock() }; return epochPairs > 0 ? epochLoss / Double(epochPairs) : nil }
    var sawNonFinite: Bool { lock.lock(); defer { lock.unlock() }; return nonFinite }

    func beginEpoch() {
        lock.lock(); defer { lock.unlock() }
        epochLoss = 0
        epochPairs = 0
        chunks.reset()
    }

    func result(seconds: Double) -> TrainingResult {
        lock.lock(); defer { lock.unlock() }
        if curvePairs > 0 {
            curve.append(LossPoint(fraction: min(1, Double(processed) / Double(max(1, totalWords))),
                                   loss: curveLoss / Double(curvePairs)))
            curveLoss = 0; curvePairs = 0
        }
        var r = TrainingResult(seconds: seconds,
                              wordsPerSecond: seconds > 0 ? Double(totalWords) / seconds : 0,
                              finalLoss: epochPairs > 0 ? epochLoss / Double(epochPairs) : 0,
                              lossCurve: curve, pairsTrained: pairs, tokensKept: kept)
        r.sentenceSeconds = Double(sentenceNanos) / 1e9 / Double(max(1, config.threads))
        return r
    }

    /// Publishes a worker's counters; returns the new learning rate and whether to stop.
    func sync(words: Int, loss: Double, pairs newPairs: Int, kept newKept: Int, sentenceNanos newNanos: UInt64 = 0,
              cancelled workerSawCancel: Bool) -> (Float, Bool) {
        lock.lock(); defer { lock.unlock() }
        sentenceNanos &+= newNanos
        processed += words
        lossSum += loss
        pairs += newPairs
        kept += newKept
        epochLoss += loss
        epochPairs += newPairs
        curveLoss += loss
        curvePairs += newPairs
        if !loss.isFinite { nonFinite = true; stop = true }
        if workerSawCancel { cancelled = true; stop = true }
        if processed >= nextCurveAt {
            if curvePairs > 0 {
                curve.append(LossPoint(fraction: min(1, Double(processed) / Double(totalWords)),
                                       loss: curveLoss / Double(curvePairs)))
            }
            curveLoss = 0; curvePairs = 0
            nextCurveAt = (processed / curveStep + 1) * curveStep
        }
        let a = config.learningRate * Float(1 - Double(processed) / Double(totalWords + 1))
        alpha = max(a, minAlpha)
        return (alpha, stop)
    }

    /// `tokenInfo` from the vocabulary's remap and the subsampling table (ids already checked
    /// against the table by `Trainer`).
    static func tokenInfo(remap: MappedArray<UInt32>, keepProbability: [Float]) -> [UInt64] {
        remap.withUnsafeBufferPointer { remap in
            remap.map { v -> UInt64 in
                let threshold = Int(v) < keepProbability.count ? keepThreshold(keepProbability[Int(v)]) : UInt32.max
                return UInt64(v) | UInt64(threshold) << 32
            }
        }
    }

    /// Reads the next sentence from `tokens[position..<end]` into `sentence`: the words kept
    /// (in the vocabulary, and drawn by subsampling), until `maxLength` are kept, the slice ends,
    /// or a sentence-end marker (`TokenStream.sentenceEnd`) follows at least one kept word (a
    /// marker with none kept yet is skipped: an empty sentence). Returns the sentence's length;
    /// adds the words read (markers not counted) to `words`.
    @inline(__always)
    static func nextSentence(tokens: UnsafePointer<UInt32>, position pos: inout Int, end: Int,
                             tokenInfo: UnsafePointer<UInt64>, rng: inout Word2VecRandom,
                             into sentence: UnsafeMutablePointer<Int32>, maxLength: Int, words: inout Int) -> Int {
        var len = 0
        while pos < end && len < maxLength {
            let t = tokens[pos]
            pos &+= 1
            if t == TokenStream.sentenceEnd { if len > 0 { break } else { continue } }
            let info = tokenInfo[Int(t)]
            words &+= 1
            let v = UInt32(truncatingIfNeeded: info)
            if v == UInt32.max { continue }
            // keepOccurrence's decision without branching on the draw (which is random, so a branch on it
            // would be mispredicted often): the generator steps only for a word that draws, the
            // word is always written and counted only when kept.
            let threshold = UInt32(truncatingIfNeeded: info >> 32)
            var drawn = rng
            let u = drawn.next24()
            rng = threshold == UInt32.max ? rng : drawn
            sentence[len] = Int32(bitPattern: v)
            len &+= u < threshold ? 1 : 0
        }
        return len
    }

    /// word2vec.c's rule for negatives: a draw equal to the positive target (the centre word) is
    /// skipped, not redrawn. Moves the `count` draws at `draws` that are kept to its front, in
    /// order, and returns how many there are. (Both paths, per pair and per centre, go through it.)
    @inline(__always)
    static func keepNegatives(_ draws: UnsafeMutablePointer<Int32>, count: Int, centre: Int32) -> Int {
        var n = 0
        for k in 0..<count where draws[k] != centre {
            draws[n] = draws[k]
            n &+= 1
        }
        return n
    }

    func runWorker(epoch: Int, worker: Int) {
        let cfg = config
        let threads = cfg.threads
        let dim = cfg.dimension
        let inStride = tables.inputStride, outStride = tables.outputStride
        let window = cfg.window
        let negatives = cfg.negativeSamples
        let isCBOW = cfg.model == .cbow
        let batched = cfg.batchedNegatives && !isCBOW
        let mean = cfg.cbowMean
        let maxLen = Trainer.maxSentenceLength
        // Publish at least ~200 times per worker's share of the stream so small corpora still get
        // a fine loss curve.
        let syncEvery = max(100, min(Trainer.syncInterval, tokenCount / threads / 200))
        var rng = Word2VecRandom(seed: cfg.seed &+ UInt64(epoch) &* 0xD1B5_4A32_D192_ED03, worker: worker)

        // All of a worker's scratch space in one page-aligned block, each piece on its own cache
        // lines, so nothing the inner loop writes can share a cache line with another worker's
        // data (small heap blocks from different threads may otherwise sit side by side).
        func lines(_ bytes: Int) -> Int { (bytes + 127) / 128 * 128 }
        let ptr = MemoryLayout<Kernels.Row>.stride
        let sizes = [lines(maxLen * 4), lines((negatives + 1) * ptr), lines(2 * window * ptr), lines(dim * 4),
                     lines(Kernels.batchScoresSize(contexts: 2 * window, targets: negatives + 1) * 4), lines(2 * window * Kernels.batchScratchPerContext * 4),
                     lines((negatives + 1) * ptr), lines(2 * window * ptr),
                     lines(maxLen * 4), lines(maxLen * negatives * 4), lines(maxLen * 4), lines(maxLen * negatives * 4)]
        let blockBytes = (sizes.reduce(0, +) + 4095) / 4096 * 4096 + 4096
        let block = UnsafeMutableRawPointer.allocate(byteCount: blockBytes, alignment: 4096)
        defer { block.deallocate() }
        var offset = 128
        func carve<T>(_ i: Int, _: T.Type) -> UnsafeMutablePointer<T> {
            let p = (block + offset).bindMemory(to: T.self, capacity: sizes[i] / MemoryLayout<T>.stride)
            offset += sizes[i]
            return p
        }
        let sentence = carve(0, Int32.self)
        let targets = carve(1, Kernels.Row.self)
        let contexts = carve(2, Kernels.Row.self)
        let scratch = carve(3, Float.self)
        let scores = carve(4, Float.self)
        let contextScratch = carve(5, Float.self)
        let targets2 = carve(6, Kernels.Row.self)
        let contexts2 = carve(7, Kernels.Row.self)
        let planRadius = carve(8, Int32.self)
        let planNegatives = carve(9, Int32.self)
        let planNegativeCount = carve(10, Int32.self)
        let planThresholds = carve(11, UInt32.self)
        // A worker with a replica trains it and merges it into the shared tables every
        // `replicaInterval` words and when its epoch's work ends; it takes the shared tables at
        // the first epoch, and at a later one when it did not merge at the end of the one before
        // (`ReplicaTables.startEpoch`), even when it gets no work.
        let replica = worker < replicas.count ? replicas[worker] : nil
        replica?.startEpoch(epoch, from: tables)
        guard let first = claimChunk() else {
            _ = sync(words: 0, loss: 0, pairs: 0, kept: 0, cancelled: false)
            return
        }
        // The hot output rows this worker stages (see `TrainingConfiguration.hotRows`): its own
        // copy, which it trains, and the shared values it last saw (the base of its changes).
        let hot = replica == nil ? cfg.stagedRows(vocabularySize: tables.rows, replicaInterval: replicaInterval) : 0
        let staged = UnsafeMutableRawPointer.allocate(byteCount: max(64, 2 * hot * outStride * 4), alignment: 64)
            .bindMemory(to: Float.self, capacity: max(16, 2 * hot * outStride))
        defer { staged.deallocate() }
        var alpha = snapshot().alpha
        // Denormal floats flushed to zero while this worker trains (word2vec.c gets the same from
        // -Ofast): a subnormal operand can cost ~100 cycles; the effect on the result is below
        // 1e-38 per value.
        let fpState = w2v_flush_denormals()
        defer { w2v_restore_fp(fpState) }

        let mergeEvery = replicaInterval
        let hotMergeEvery = max(1, mergeEvery / Trainer.replicaHotMergesPerMerge)
        let replicaHotRows = Trainer.replicaHotRows
        var sinceMerge = 0, sinceHotMerge = 0
        // Where a word's rows are: below `inSplit` (input) and `outSplit` (output) in this
        // worker's own copy (`inLocal`, `outLocal`: its replica's, or its staged hot output rows),
        // the others in the shared tables (no replica: `inSplit` 0).
        let inShared = tables.input, outShared = tables.output
        let inSplit = replica?.rows ?? 0, outSplit = replica?.rows ?? hot
        let inLocal = replica?.inputLocal ?? inShared, outLocal = replica?.outputLocal ?? staged
        tokens.withUnsafeBufferPointer { tokenBuf in
        tokenInfo.withUnsafeBufferPointer { infoBuf in
            alias.withSampler { sampler in
                sigmoid.withView { sig in
                    let tokens = tokenBuf.baseAddress!, tokenInfo = infoBuf.baseAddress!
                    @inline(__always)
                    func inRow(_ w: Int32) -> UnsafeMutablePointer<Float> {
                        (Int(w) < inSplit ? inLocal : inShared) + Int(w) &* inStride
                    }
                    @inline(__always)
                    func outRow(_ w: Int32) -> UnsafeMutablePointer<Float> {
                        (Int(w) < outSplit ? outLocal : outShared) + Int(w) &* outStride
                    }
                    let hotFloats = hot &* outStride
                    let local = staged, base = staged + hotFloats
                    if hot > 0 {
                        local.update(from: outShared, count: hotFloats)
                        base.update(from: outShared, count: hotFloats)
                    }
                    // Adds this worker's changes to the shared rows and takes the others' (at every
                    // sync, so before the epoch ends). Worker w starts at its own offset, so two
                    // workers merging at once are rarely on the same row at the same moment (the
                    // merge is Hogwild too: such a collision could lose one worker's changes to a
                    // value, as a collision of two plain updates can).
                    let mergeStart = hot > 0 ? (hot * worker / threads) &* outStride : 0
                    func merge() {
                        guard hot > 0 else { return }
                        Kernels.mergeStaged(shared: outShared + mergeStart, local: local + mergeStart, base: base + mergeStart,
                                            count: hotFloats - mergeStart)
                        Kernels.mergeStaged(shared: outShared, local: local, base: base, count: mergeStart)
                    }
                    var pos = first.lowerBound, end = first.upperBound
                    var localWords = 0, localPairs = 0, localKept = 0
                    var localLoss = 0.0
                    var localNanos: UInt64 = 0
                    // Publishes this worker's counters and staged rows; returns whether to stop.
                    func publish(last: Bool = false) -> Bool {
                        merge()
                        sinceMerge &+= localWords
                        sinceHotMerge &+= localWords
                        if let replica {
                            // Every row now and then, the hottest rows more often.
                            let start = Double(worker) / Double(threads)
                            if last {
                                replica.endEpoch(epoch, into: tables, startFraction: start)
                                sinceMerge = 0
                                sinceHotMerge = 0
                            } else if sinceMerge >= mergeEvery {
                                replica.merge(into: tables, rows: replica.rows, startFraction: start)
                                sinceMerge = 0
                                sinceHotMerge = 0
                            } else if sinceHotMerge >= hotMergeEvery {
                                replica.merge(into: tables, rows: replicaHotRows, startFraction: start)
                                sinceHotMerge = 0
                            }
                        }
                        let cancel = isCancelled()
                        let (a, stop) = sync(words: localWords, loss: localLoss, pairs: localPairs,
                                             kept: localKept, sentenceNanos: localNanos, cancelled: cancel)
                        alpha = a
                        localWords = 0; localPairs = 0; localKept = 0; localLoss = 0; localNanos = 0
                        return stop
                    }
                    while true {
                        if pos >= end {
                            guard let chunk = claimChunk() else { break }
                            pos = chunk.lowerBound; end = chunk.upperBound
                        }
                        // One sentence of kept words; windows are drawn inside it only.
                        let t0 = DispatchTime.now().uptimeNanoseconds
                        let len = TrainingJob.nextSentence(tokens: tokens, position: &pos, end: end, tokenInfo: tokenInfo,
                                                           rng: &rng, into: sentence, maxLength: maxLen, words: &localWords)
                        localNanos &+= DispatchTime.now().uptimeNanoseconds &- t0
                        localKept &+= len
                        var sentenceLoss: Float = 0
                        if isCBOW || batched {
                            // One update per centre word over its whole window. First every centre's
                            // window radius and negatives are drawn (in the order the loop has always
                            // drawn them: radius, then K negatives, centre by centre): the random
                            // numbers first, each negative's noise-table bucket prefetched, then the
                            // buckets read, so that their cache misses overlap instead of each
                            // stalling the draws after it. Then each centre is trained while the rows
                            // of the next one are prefetched, so that their cache misses overlap this
                            // centre's arithmetic (prefetching two centres ahead measured no faster).
                            if len > 1 {
                                for i in 0..<len {
                                    planRadius[i] = Int32(truncatingIfNeeded: drawWindowRadius(window, &rng))
                                    let negs = planNegatives + i &* negatives, th = planThresholds + i &* negatives
                                    for k in 0..<negatives {
                                        let (bucket, u) = sampler.draw(&rng)
                                        negs[k] = Int32(truncatingIfNeeded: bucket)
                                        th[k] = u
                                        sampler.prefetch(bucket: bucket)
                                    }
                                }
                                for i in 0..<len {
                                    let negs = planNegatives + i &* negatives, th = planThresholds + i &* negatives
                                    for k in 0..<negatives {
                                        negs[k] = Int32(truncatingIfNeeded: sampler.resolve(bucket: Int(negs[k]), threshold: th[k]))
                                    }
                                    let n = TrainingJob.keepNegatives(negs, count: negatives, centre: sentence[i])
                                    planNegativeCount[i] = Int32(truncatingIfNeeded: n)
                                }
                            } else if len == 1 {
                                _ = drawWindowRadius(window, &rng)   // no context: no negatives drawn
                            }
                            @inline(__always)
                            func rows(_ i: Int, into t: UnsafeMutablePointer<Kernels.Row>,
                                      _ c: UnsafeMutablePointer<Kernels.Row>) -> (Int, Int) {
                                let b = Int(planRadius[i])
                                let lo = max(0, i - b), hi = min(len - 1, i + b)
                                var cw = 0
                                for j in lo...hi where j != i { c[cw] = inRow(sentence[j]); cw &+= 1 }
                                t[0] = outRow(sentence[i])
                                let negs = planNegatives + i &* negatives
                                let n = Int(planNegativeCount[i])
                                for k in 0..<n { t[k &+ 1] = outRow(negs[k]) }
                                return (cw, n &+ 1)
                            }
                            // Each centre's rows are listed once, one centre ahead (for the prefetch),
                            // into the pair of buffers the centre before did not use. The next centre's
                            // context rows that this one's window does not hold are prefetched here
                            // (prefetching all of them, mostly cached, took ~6% of a 2-thread CBOW
                            // profile in stalled prefetch instructions; ~2% after); its target rows
                            // (mostly cold) by the kernel, spread among its dot products: a burst of them
                            // before the kernel filled every line-fill buffer and held the kernel's own
                            // loads back (paired A/B, 8 rounds: CBOW +7.6%, skip-gram +10.2%).
                            var (targets, contexts) = (targets, contexts)
                            var (targetsNext, contextsNext) = (targets2, contexts2)
                            var (cwNext, nNext) = len > 1 ? rows(0, into: targets, contexts) : (0, 0)
                            for i in 0..<(len > 1 ? len : 0) {
                                let (cw, n) = (cwNext, nNext)
                                var next = Kernels.PrefetchList(rows: targetsNext, count: 0, bytes: Int64(dim &* 4))
                                if i &+ 1 < len {
                                    (cwNext, nNext) = rows(i &+ 1, into: targetsNext, contextsNext)
                                    // Only the rows this centre's window does not hold (those it holds were
                                    // used just now, so are cached): the words entering the window, and this
                                    // centre's own (a context of the centre before, so usually cached too).
                                    let b = Int(planRadius[i]), nb = Int(planRadius[i &+ 1])
                                    let lo = max(0, i &- b), hi = min(len &- 1, i &+ b)
                                    for j in max(0, i &+ 1 &- nb)...min(len &- 1, i &+ 1 &+ nb) where j != i &+ 1 && (j < lo || j > hi || j == i) {
                                        Kernels.prefetch(inRow(sentence[j]), dimension: dim)
                                    }
                                    next.count = Int64(nNext)
                                }
                                defer {
                                    swap(&targets, &targetsNext)
                                    swap(&contexts, &contextsNext)
                                }
                                if isCBOW {
                                    sentenceLoss += Kernels.cbow(contextRows: contexts, contextCount: cw,
                                                                 targetRows: targets, targetCount: n, dimension: dim,
                                                                 alpha: alpha, mean: mean,
                                                                 hidden: scratch, sigmoid: sig, next: &next)
                                    localPairs &+= 1
                                } else {
                                    sentenceLoss += Kernels.sgnsBatch(contextRows: contexts, contextCount: cw,
                                                                      targetRows: targets, targetCount: n, dimension: dim,
                                                                      alpha: alpha, scores: scores,
                                                                      contextScratch: contextScratch, sigmoid: sig, next: &next)
                                    localPairs &+= cw
                                }
                            }
                        } else {
                            for i in 0..<len {
                                let centre = sentence[i]
                                let b = drawWindowRadius(window, &rng)
                                let lo = max(0, i - b), hi = min(len - 1, i + b)
                                targets[0] = outRow(centre)
                                let draws = planNegatives   // unused by this path otherwise
                                for j in lo...hi where j != i {
                                    for k in 0..<negatives { draws[k] = Int32(truncatingIfNeeded: sampler.sample(&rng)) }
                                    let kept = TrainingJob.keepNegatives(draws, count: negatives, centre: centre)
                                    for k in 0..<kept { targets[k &+ 1] = outRow(draws[k]) }
                                    let n = 1 &+ kept
                                    sentenceLoss += Kernels.sgnsPair(inputRow: inRow(sentence[j]),
                                                                     targetRows: targets, targetCount: n, dimension: dim,
                                                                     alpha: alpha, neu1e: scratch, sigmoid: sig)
                                    localPairs &+= 1
                                }
                            }
                        }
                        localLoss += Double(sentenceLoss)
                        if localWords >= syncEvery, publish() { return }
                    }
                    // The stream is used up (or the run stopped): the last counts and changes.
                    _ = publish(last: true)
                }
            }
        }
        }
    }
}
