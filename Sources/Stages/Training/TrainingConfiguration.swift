import Foundation

/// Which word2vec architecture to train.
public enum ModelKind: String, Codable, Sendable, CaseIterable {
    /// Skip-gram with negative sampling.
    case sgns
    /// Continuous bag of words with negative sampling.
    case cbow
}

/// Hyper-parameters of one training run (Mikolov et al. 2013, as word2vec.c does it).
public struct TrainingConfiguration: Sendable, Codable, Equatable {
    public var model: ModelKind
    /// Embedding dimension.
    public var dimension: Int
    /// Maximum window radius (the `window` parameter); the effective radius is drawn uniformly in
    /// 1...window per centre word. Stored as `windowSize` in model artifacts (format 1).
    public var window: Int
    /// Number of negative samples per positive target (K).
    public var negativeSamples: Int
    /// Exponent applied to counts for the negative-sampling distribution.
    public var nsExponent: Double
    public var epochs: Int
    /// Starting learning rate (alpha).
    public var learningRate: Float
    /// The learning rate decays linearly to `learningRate * minLearningRateFraction`.
    public var minLearningRateFraction: Float
    public var threads: Int
    public var seed: UInt64
    /// CBOW only: true = hidden layer is the mean of the context vectors, false = their sum.
    public var cbowMean: Bool
    /// SGNS only: one update per centre word, one set of negatives shared across its window
    /// (HogBatch, Ji et al. 2016); false: word2vec.c's update per pair.
    public var batchedNegatives: Bool
    /// Input vectors start uniform in ±initRange/dimension: 0.5 as word2vec.c, 1.0 as gensim 4.
    /// Optional so that configurations saved in models before it existed still decode (nil = 0.5).
    public var initRange: Float?
    /// With more than one thread: each worker trains its own copy of the output vectors of the
    /// `hotRows` most frequent words (ids below it: the vocabulary is sorted by count) and adds
    /// its changes to the shared table every `Trainer.syncInterval` words or so, instead of
    /// writing the shared rows, which both cores write constantly (each write then moves cache
    /// lines between them). 0: every row shared, as word2vec.c. nil: `defaultHotRows(dimension:)`.
    /// Ignored with one thread.
    public var hotRows: Int?
    /// With more than one thread: the second worker trains its own replica of both tables and
    /// adds its changes to the shared tables (which the other workers train) after every
    /// `replicaMergeWords` corpus words it reads, and at the end of each epoch, and the rows of
    /// the `Trainer.replicaHotRows` most frequent words ten times as often, so that between
    /// merges no row is written by two cores (local SGD). On a VM whose two vCPUs sometimes sit
    /// far apart, rows written by both cores made two threads as slow as one (bench/RESULTS.md).
    /// Costs two copies of both tables. One replica only, whatever the thread count: a replica
    /// trains the most frequent words' rows close to where its own data alone would take them
    /// before it merges, and summed with other replicas' changes from the same start those rows
    /// overshoot; with 7 replicas (8 threads) skip-gram on en-corpus diverged (final loss ~2e19,
    /// analogies 0.8%) and CBOW nearly (loss 4,536, 5.3%), while one replica and the staged
    /// shared tables stay stable (bench/RESULTS.md). With more than two threads the workers on
    /// the shared tables stage their hottest output rows (`hotRows`). 0: no replica (every
    /// worker writes the shared tables, the hottest output rows staged, `hotRows`). nil:
    /// `replicaInterval(vocabularySize:epochWords:)` decides (a replica with 2 threads only).
    /// Ignored with one thread.
    public var replicaMergeWords: Int?
    /// With replicas (`replicaMergeWords`): how many rows of each table, those of the most
    /// frequent words, a replica holds. The other rows (rarer words) stay shared: every worker
    /// writes them in place, as word2vec.c, and they never need merging. nil: as many as fit the
    /// memory budget (`replicaRowCount(vocabularySize:physicalMemory:)`); at least 1, at most the
    /// vocabulary.
    public var replicaRows: Int?

    /// The JSON names kept in model artifacts: format 1 spells the window `windowSize`, and
    /// changing it would change the bytes of every stored model.
    enum CodingKeys: String, CodingKey {
        case model, dimension, window = "windowSize", negativeSamples, nsExponent, epochs, learningRate
        case minLearningRateFraction, threads, seed, cbowMean, batchedNegatives, initRange, hotRows
        case replicaMergeWords, replicaRows
    }

    public init(model: ModelKind = .sgns,
                dimension: Int = 100,
                window: Int = 5,
                negativeSamples: Int = 5,
                nsExponent: Double = 0.75,
                epochs: Int = 1,
                learningRate: Float? = nil,
                minLearningRateFraction: Float = 1e-4,
                threads: Int = max(1, ProcessInfo.processInfo.activeProcessorCount),
                seed: UInt64 = 1,
                cbowMean: Bool = true,
                batchedNegatives: Bool = true,
                initRange: Float = 0.5,
                hotRows: Int? = nil,
                replicaMergeWords: Int? = nil,
                replicaRows: Int? = nil) {
        self.model = model
        self.dimension = dimension
        self.window = window
        self.negativeSamples = negativeSamples
        self.nsExponent = nsExponent
        self.epochs = epochs
        self.learningRate = learningRate ?? TrainingConfiguration.defaultLearningRate(for: model)
        self.minLearningRateFraction = minLearningRateFraction
        self.threads = threads
        self.seed = seed
        self.cbowMean = cbowMean
        self.batchedNegatives = batchedNegatives
        self.initRange = initRange
        self.hotRows = hotRows
        self.replicaMergeWords = replicaMergeWords
        self.replicaRows = replicaRows
    }

    /// Rows of each table the replica holds at this vocabulary size: `replicaRows` (at most the
    /// vocabulary) or, when it is nil, as many as fit in `replicaBudget(physicalMemory:)` (the
    /// whole vocabulary when it fits: 68k words at dim 100 take 122 MB). At least 1.
    public func replicaRowCount(vocabularySize: Int,
                                physicalMemory: UInt64 = ProcessInfo.processInfo.physicalMemory) -> Int {
        let v = max(1, vocabularySize)
        if let r = replicaRows { return max(1, min(v, r)) }
        let perRow = TrainingConfiguration.replicaBytes(vocabularySize: 1, dimension: dimension)
        let fit = Double(TrainingConfiguration.replicaBudget(physicalMemory: physicalMemory)) / perRow
        return max(1, min(v, Int(min(fit, Double(Int32.max)))))
    }

    /// Whether every row of a vocabulary this size would be a hot row of a replica (at most
    /// `Trainer.replicaHotRows` words): where the default has no replica (`replicaInterval`).
    public static func everyRowHot(vocabularySize: Int) -> Bool { vocabularySize <= Trainer.replicaHotRows }

    /// Whether `replicaInterval` gives no replica only because of the vocabulary's size: 2
    /// threads, neither replica parameter set, `everyRowHot`.
    public func replicaLeftOutForSmallVocabulary(vocabularySize: Int) -> Bool {
        threads == 2 && replicaMergeWords == nil && replicaRows == nil
            && TrainingConfiguration.everyRowHot(vocabularySize: vocabularySize)
    }

    /// When the budget fits fewer rows than this (and fewer than the vocabulary), the default is
    /// no replicas: a replica holds at least the rows `Trainer.replicaHotRows` merges often.
    public static let minimumDefaultReplicaRows = 4_096

    /// Corpus words the replica's worker reads between two merges: 0 (no replica) with one
    /// thread or when `replicaMergeWords` is 0. When it is nil: with 2 threads, an eighth of a
    /// worker's share of an epoch (so a small corpus still merges several times an epoch), at
    /// least 10,000 words and at most `maxDefaultReplicaMergeWords`; or 0 when `replicaRows` is
    /// nil and the replica would hold less than the whole vocabulary and fewer than
    /// `minimumDefaultReplicaRows` rows (`replicaRowCount`). With more threads, 0: the replica's
    /// speed was measured on 2 vCPUs only, and over 3 seeds at 4 threads (en-corpus, 5 epochs,
    /// on those 2 vCPUs) CBOW with it came 0.47 analogy points under the staged shared tables,
    /// skip-gram 0.23 (bench/RESULTS.md).
    ///
    /// Also 0 when both are nil and the vocabulary has at most `Trainer.replicaHotRows` words
    /// (`replicaLeftOutForSmallVocabulary`): then every row is a hot row, which both workers train all the
    /// time, each from the other's values as they were at the last merge. Input and output rows
    /// are both that stale, and an update's size depends on their product, so where one small
    /// group of words is all of each other's contexts the summed changes can overshoot and
    /// training ends far from the optimum: on a 16-word corpus of two such groups (the test
    /// `stagedRowsReachTheSharedTableFromEveryWorker`), 2-thread skip-gram and CBOW with the
    /// replica ended with a group's within-group affinity between −0.27 and +2.6 instead of
    /// about −0.8 in up to 5 of every 20–30 runs per setting (merges every 100 to 10,000 words,
    /// 2026-12-04); with the staged shared tables in none of 60. On real text the replica
    /// stayed stable at every vocabulary size tried, but its skip-gram never matched the shared
    /// tables' loss (en-small, 3 epochs, means of 4 seeds: final loss 0.005–0.008 higher at 27
    /// characters and at 5 to 8,317 words; CBOW within 0.004). It is faster, and more so the
    /// smaller the vocabulary (en-corpus, 1 epoch, medians of 5 paired rounds: 544 words,
    /// skip-gram 26.0M against 16.9M words/s, CBOW 52.4M against 44.6M; 5,293 words, 9.5M
    /// against 8.7M and 15.6M against 12.7M), but a run on a vocabulary that small is short, and
    /// the default takes the mode that did not go astray there. Asking for a replica (either
    /// parameter) still gets one.
    public func replicaInterval(vocabularySize: Int, epochWords: Int,
                                physicalMemory: UInt64 = ProcessInfo.processInfo.physicalMemory) -> Int {
        guard threads > 1 else { return 0 }
        if let r = replicaMergeWords { return max(0, r) }
        guard threads == 2, !replicaLeftOutForSmallVocabulary(vocabularySize: vocabularySize) else { return 0 }
        let rows = replicaRowCount(vocabularySize: vocabularySize, physicalMemory: physicalMemory)
        if replicaRows == nil && rows < vocabularySize && rows < TrainingConfiguration.minimumDefaultReplicaRows { return 0 }
        return min(TrainingConfiguration.maxDefaultReplicaMergeWords(model), max(10_000, epochWords / (threads * 8)))
    }

    /// The longest default interval between merges: skip-gram 1,000,000 words, CBOW 500,000.
    /// Over 6 seeds at 5 epochs on en-corpus, CBOW merged every 1M words came 0.48 analogy
    /// points under every row shared, every 500k words 0.05 over it; skip-gram at 1M was 0.15
    /// points over the hot rows staged; 500k cost both about 5% of their speed in a paired A/B
    /// (bench/RESULTS.md).
    public static func maxDefaultReplicaMergeWords(_ model: ModelKind) -> Int {
        model == .cbow ? 500_000 : 1_000_000
    }

    /// Why the replica that `replicaInterval` asks for cannot be made, or nil: it may take at
    /// most half the machine's memory (copying it would
    /// otherwise push the system into swapping or the OOM killer). Only an explicit
    /// `replicaRows` can ask for that much; the default stays within `replicaBudget`.
    public func replicaMemoryError(vocabularySize: Int,
                                   physicalMemory: UInt64 = ProcessInfo.processInfo.physicalMemory) -> String? {
        let rows = replicaRowCount(vocabularySize: vocabularySize, physicalMemory: physicalMemory)
        let total = TrainingConfiguration.replicaBytes(vocabularySize: rows, dimension: dimension)
        guard total > Double(physicalMemory / 2) else { return nil }
        func gb(_ x: Double) -> String { String(format: "%.1f GB", x / 1e9) }
        return "the replica would take \(gb(total)) of this machine's \(gb(Double(physicalMemory))) "
            + "(two copies of \(rows) rows of both tables); use a smaller replica_rows, or replica_merge_words 0 (or null) to share the tables"
    }

    /// Bytes of one worker's replica: two copies of each table, rows laid out as in training.
    public static func replicaBytes(vocabularySize: Int, dimension: Int) -> Double {
        4 * Double(vocabularySize) * Double(EmbeddingMatrix.lineStride(dimension: max(1, dimension))) * 4
    }

    /// The most memory the replica takes by default: 1 GiB, and at most an eighth of the
    /// machine's memory.
    public static func replicaBudget(physicalMemory: UInt64) -> UInt64 { min(1 << 30, physicalMemory / 8) }

    /// Rows staged per worker when `hotRows` is nil: as many as fit in 400 KB (1,024 at dimension
    /// 100), at least 64: two copies per worker stay well inside a 2 MB L2.
    public static func defaultHotRows(dimension: Int) -> Int { max(64, 102_400 / max(1, dimension)) }

    /// At most this many bytes of rows per copy (each worker keeps two), whatever `hotRows` asks.
    public static let maxStagedBytes = 128 << 20

    /// The output rows each worker on the shared tables (every worker but the one with the
    /// replica, if any) stages: none with one thread, nor with a replica (`replicaInterval`
    /// above 0) and 2 threads (the first worker is then alone on the shared tables); at most the
    /// vocabulary, and at most `maxStagedBytes` per copy.
    public func stagedRows(vocabularySize: Int, replicaInterval: Int = 0) -> Int {
        guard threads > 1, replicaInterval == 0 || threads > 2 else { return 0 }
        // Rows as the trainer lays them out (whole cache lines: `EmbeddingMatrix.lineStride`).
        let cap = TrainingConfiguration.maxStagedBytes / (4 * EmbeddingMatrix.lineStride(dimension: max(1, dimension)))
        return max(0, min(vocabularySize, cap, hotRows ?? TrainingConfiguration.defaultHotRows(dimension: dimension)))
    }

    /// word2vec.c defaults: 0.025 for skip-gram, 0.05 for CBOW.
    public static func defaultLearningRate(for model: ModelKind) -> Float {
        switch model {
        case .sgns: return 0.025
        case .cbow: return 0.05
        }
    }

    /// Throws `TrainingError.invalidConfiguration` describing the first invalid field.
    public func validate() throws {
        func fail(_ s: String) throws -> Never { throw TrainingError.invalidConfiguration(s) }
        if dimension < 1 { try fail("dimension must be ≥ 1 (got \(dimension))") }
        if window < 1 { try fail("window must be ≥ 1 (got \(window))") }
        if negativeSamples < 1 { try fail("negativeSamples must be ≥ 1 (got \(negativeSamples))") }
        if negativeSamples > 1000 { try fail("negativeSamples must be ≤ 1000 (got \(negativeSamples))") }
        if !nsExponent.isFinite { try fail("nsExponent must be finite") }
        if epochs < 1 { try fail("epochs must be ≥ 1 (got \(epochs))") }
        if !(learningRate > 0) || !learningRate.isFinite { try fail("learningRate must be > 0 (got \(learningRate))") }
        if !(minLearningRateFraction >= 0 && minLearningRateFraction <= 1) {
            try fail("minLearningRateFraction must be in 0...1 (got \(minLearningRateFraction))")
        }
        if threads < 1 { try fail("threads must be ≥ 1 (got \(threads))") }
        if let h = hotRows, h < 0 { try fail("hotRows must be ≥ 0 (got \(h))") }
        if let r = replicaMergeWords, r < 0 { try fail("replicaMergeWords must be ≥ 0 (got \(r))") }
        if let r = replicaRows, r < 1 { try fail("replicaRows must be ≥ 1 (got \(r))") }
    }
}

/// Errors thrown by `Trainer`.
public enum TrainingError: Error, CustomStringConvertible {
    case nonFinite(epoch: Int)
    /// The epoch's mean loss per pair was far over the untrained model's (`Trainer.divergedLossFactor`).
    case diverged(epoch: Int, loss: Double, untrained: Double)
    case invalidConfiguration(String)

    public var description: String {
        switch self {
        case .nonFinite(let epoch):
            return "training diverged: non-finite values in the embeddings after epoch \(epoch); try a lower learning rate"
        case .diverged(let epoch, let loss, let untrained):
            return "training diverged: epoch \(epoch)'s mean loss per pair was \(String(format: "%.4g", loss)), over "
                + "\(String(format: "%g", Trainer.divergedLossFactor))× the untrained model's \(String(format: "%.3f", untrained)); try a lower learning rate"
        case .invalidConfiguration(let why):
            return "invalid training configuration: \(why)"
        }
    }
}

/// A snapshot reported to the progress callback.
public struct TrainingProgress: Sendable {
    /// Fraction of the whole run (all epochs) done, 0...1.
    public var fraction: Double
    /// 1-based epoch currently being trained.
    public var epoch: Int
    /// Corpus tokens processed so far over all epochs, including OOV and subsampled ones.
    public var wordsProcessed: Int
    public var wordsPerSecond: Double
    public var learningRate: Float
    /// Average loss per positive pair since the previous report.
    public var averageLoss: Double
    public var elapsedSeconds: Double
    public var etaSeconds: Double

    public init(fraction: Double, epoch: Int, wordsProcessed: Int, wordsPerSecond: Double,
                learningRate: Float, averageLoss: Double, elapsedSeconds: Double, etaSeconds: Double) {
        self.fraction = fraction
        self.epoch = epoch
        self.wordsProcessed = wordsProcessed
        self.wordsPerSecond = wordsPerSecond
        self.learningRate = learningRate
        self.averageLoss = averageLoss
        self.elapsedSeconds = elapsedSeconds
        self.etaSeconds = etaSeconds
    }
}

/// One point of the loss curve: average loss per positive pair over the preceding ~1% of the run.
public struct LossPoint: Codable, Sendable, Equatable {
    public var fraction: Double
    public var loss: Double
    public init(fraction: Double, loss: Double) {
        self.fraction = fraction
        self.loss = loss
    }
}

/// Summary of a finished run.
public struct TrainingResult: Codable, Sendable {
    public var seconds: Double
    /// Corpus tokens × epochs / training seconds.
    public var wordsPerSecond: Double
    /// Average loss per positive pair over the last epoch.
    public var finalLoss: Double
    public var lossCurve: [LossPoint]
    /// Positive (centre, context) pairs trained, over all epochs (for CBOW: one per centre word).
    public var pairsTrained: Int
    /// Tokens kept after OOV removal and subsampling, over all epochs.
    public var tokensKept: Int
    /// Seconds the workers spent reading sentences (id remapping and subsampling), summed over
    /// workers and divided by their number: that part's share of `seconds`.
    public var sentenceSeconds: Double = 0

    public init(seconds: Double, wordsPerSecond: Double, finalLoss: Double, lossCurve: [LossPoint],
                pairsTrained: Int, tokensKept: Int) {
        self.seconds = seconds
        self.wordsPerSecond = wordsPerSecond
        self.finalLoss = finalLoss
        self.lossCurve = lossCurve
        self.pairsTrained = pairsTrained
        self.tokensKept = tokensKept
    }
}
