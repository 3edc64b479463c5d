import Foundation
import Pipeline

/// train: skip-gram or CBOW with negative sampling on several threads (by default, with 2
/// threads, the second trains a replica of the tables; Hogwild as word2vec.c with
/// `replica_merge_words: 0`).
public enum TrainStage: Stage {
    public static let typeName = "train"
    public static let summary = "Train word vectors: skip-gram (sgns) or CBOW with negative sampling, multithreaded (with 2 threads the second on a replica of the tables, merged every 0.5–1M words; or Hogwild)"
    public static let implementationVersion = 7
    /// Everything `train` takes, with word2vec.c's defaults. `configuration(_:cores:)` carries
    /// it to the trainer.
    public struct Parameters: StageParameters {
        public var model: ModelKind = .sgns
        public var dim = 100
        public var window = 5
        public var negatives = 5
        public var nsExponent = 0.75
        public var epochs = 5
        public var learningRate: Double? = nil
        public var minLearningRateFraction = 1e-4
        public var threads = 0
        public var seed = 1
        public var cbowMean = true
        public var batchedNegatives = true
        public var initRange = 0.5
        public var hotRows: Int? = nil
        public var replicaMergeWords: Int? = nil
        public var replicaRows: Int? = nil
        public init() {}
        public static let fields: [ParameterField<Self>] = [
            .choice("model", \.model, help: "sgns (skip-gram; word2vec.c -cbow 0, gensim sg=1) or cbow"),
            .integer("dim", \.dim, in: 1...4096, help: "vector size (word2vec.c -size, gensim vector_size)"),
            .integer("window", \.window, in: 1...100, help: "maximum window; shrunk at random in 1…window per centre word (-window, window)"),
            .integer("negatives", \.negatives, in: 1...100, help: "negative samples K per positive pair, drawn with replacement (-negative, negative)"),
            .number("ns_exponent", \.nsExponent, in: -2...2, help: "negatives drawn from counts^ns_exponent (gensim ns_exponent)"),
            .integer("epochs", \.epochs, in: 1...1000, help: "passes over the corpus (-iter, epochs)"),
            .number("learning_rate", \.learningRate, in: 0...10, help: "starting learning rate (-alpha, alpha); null: 0.025 for sgns, 0.05 for cbow"),
            .number("min_learning_rate_fraction", \.minLearningRateFraction, in: 0...1, help: "the rate decays linearly to this fraction of the start (word2vec.c: 1e-4)"),
            .integer("threads", \.threads, in: 0...1024, help: "worker threads (0 = all cores); with more than one, results vary slightly from run to run"),
            .integer("seed", \.seed, in: 0...Int64.max, help: "random seed; with threads 1, the same seed gives byte-identical artifacts"),
            .bool("cbow_mean", \.cbowMean, help: "CBOW: mean of the context vectors (true) or their sum (-cbow 1 uses the mean)"),
            .bool("batched_negatives", \.batchedNegatives, help: "skip-gram: one update per centre word, its negatives shared across its window (HogBatch; the default: faster, as good over seeds, see bench/RESULTS.md); false: one update per (centre, context) pair with its own negatives, word2vec.c's exact order"),
            .integer("hot_rows", \.hotRows, in: 0...100_000_000, help: "with threads > 1 and replica_merge_words 0, or threads > 2: each thread on the shared tables trains its own copy of the output vectors of this many most frequent words and adds its changes to the shared table every ~10k words, so the rows both cores write most stop moving between their caches (on 2 vCPUs, in A/B runs: skip-gram 14% and CBOW 36% faster, as good over seeds: bench/RESULTS.md); 0: every row shared, word2vec.c's Hogwild; null: as many as fit in 400 KB (1,024 at dim 100); at most 128 MB of rows per thread; ignored with threads 1"),
            .integer("replica_merge_words", \.replicaMergeWords, in: 0...1_000_000_000_000, help: "with threads > 1: the second thread trains its own copy (replica) of both tables and adds its changes to the shared ones, which the other threads train, after every this many corpus words it reads, the 4,096 most frequent words' rows ten times as often, so no row is written by two cores in between (on a 2-vCPU VM, in A/B runs against hot_rows staging: skip-gram 1.20x and CBOW 1.37x faster at 1M words; as good over 6 seeds: bench/RESULTS.md); one replica whatever the thread count (changes of several replicas summed made the most frequent words' rows overshoot: 8 threads diverged); costs two copies of both tables (122 MB at 68k words, dim 100; fewer rows with replica_rows); 0: no replica, every thread writes the shared tables (hot_rows staged); null: with 2 threads, an eighth of a thread's share of an epoch, from 10k words to 1M (sgns) or 500k (cbow), or 0 if the vocabulary has at most 4,096 words (every row is then hot, trained by both threads from values a merge old: on a synthetic 16-word corpus that overshot in up to 1 run in 6) or fewer than 4,096 rows fit in 1 GiB and an eighth of the machine's memory; with more threads 0 (the replica's speed is measured on 2 vCPUs only; at 4 threads CBOW came 0.47 analogy points under the staged tables over 3 seeds); ignored with threads 1"),
            .integer("replica_rows", \.replicaRows, in: 1...Int64(Int32.max), help: "with a replica (replica_merge_words): how many rows of each table, the most frequent words', the replica holds; the other rows stay shared, every thread writes them in place as word2vec.c (the stage's notes say which); null: the whole vocabulary when the replica fits in 1 GiB and an eighth of the machine's memory, else as many rows as fit (no replica when fewer than 4,096 fit); more than that is taken only if the replica fits in half the memory; on a 2-vCPU VM, 219,614 words at dim 320 (a replica of 209,715 rows) ran 1.6-1.7M words/s in three runs where shared tables ran 1.1-2.1M (bench/RESULTS.md)"),
            .number("init_range", \.initRange, in: 0.001...10, help: "input vectors start uniform in ±init_range/dim: 0.5 as word2vec.c; gensim 4 uses 1.0 (about 1 point more analogy accuracy after 1 epoch on a text8-sized corpus, in one run)"),
        ]

        /// The learning rate the model uses when `learning_rate` is null.
        public var effectiveValues: [String: JSONValue] {
            var values = keyValues
            // Through its shortest decimal text, so 0.05 reads 0.05 and not 0.05000000074505806.
            let fallback = TrainingConfiguration.defaultLearningRate(for: model)
            values["learning_rate"] = .number(learningRate ?? Double("\(fallback)") ?? Double(fallback))
            return values
        }
    }
    public static let inputs = [Slots.tokens.spec, Slots.vocab.spec, Slots.subsample.spec]
    public static let outputs = [
        OutputSpec("model", kind: ArtifactKind.model),
        OutputSpec("embeddings", kind: ArtifactKind.embeddings),
    ]

    public static func configuration(_ p: Parameters, cores: Int) -> TrainingConfiguration {
        TrainingConfiguration(
            model: p.model, dimension: p.dim, window: p.window, negativeSamples: p.negatives,
            nsExponent: p.nsExponent, epochs: p.epochs, learningRate: p.learningRate.map { Float($0) },
            minLearningRateFraction: Float(p.minLearningRateFraction), threads: p.threads == 0 ? cores : p.threads,
            seed: UInt64(p.seed), cbowMean: p.cbowMean, batchedNegatives: p.batchedNegatives,
            initRange: Float(p.initRange), hotRows: p.hotRows, replicaMergeWords: p.replicaMergeWords,
            replicaRows: p.replicaRows)
    }

    public static func run(_ context: StageContext, parameters: Parameters) throws -> StageOutcome {
        let started = DispatchTime.now().uptimeNanoseconds
        let tokens = try context.read(Slots.tokens)
        let vocab = try context.read(Slots.vocab)
        let subsample = try context.read(Slots.subsample)
        guard vocab.remap.count == tokens.wordCount, subsample.keepProbability.count == vocab.size else {
            throw TrainStageError.mismatchedInputs("the vocabulary (\(vocab.remap.count) token words) or subsample table (\(subsample.keepProbability.count) words) was not built from these tokens (\(tokens.wordCount) words) / this vocabulary (\(vocab.size) words); wire inputs from the same chain of stages")
        }
        let config = configuration(parameters, cores: context.availableCores)
        return try train(context, config: config, tokens: tokens, vocab: vocab, subsample: subsample, startingFrom: nil,
                         started: started)
    }

    /// Trains (from scratch, or on from `startingFrom`), then writes the model and embeddings.
    static func train(_ context: StageContext, config: TrainingConfiguration, tokens: TokenStream, vocab: Vocabulary,
                      subsample: SubsampleTable, startingFrom previous: ModelState?,
                      started: UInt64 = DispatchTime.now().uptimeNanoseconds) throws -> StageOutcome {
        func since(_ t: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds &- t) / 1e9 }
        try config.validate()
        // Memory: two V × dim float tables, each row with room to start on a cache line.
        let stride = EmbeddingMatrix.lineStride(dimension: config.dimension)
        let tableBytes = Double(vocab.size) * Double(stride) * 4 * 2
        let physical = Double(ProcessInfo.processInfo.physicalMemory)
        let rowText = stride == config.dimension ? "\(config.dimension) dims" : "\(config.dimension) dims (\(stride) floats a row, whole cache lines)"
        context.note("tables: \(Format.grouped(vocab.size)) words × \(rowText) × 4 bytes × 2 = \(Format.bytes(Int(tableBytes))); \(config.model.rawValue), \(config.epochs) epoch(s)\(previous.map { " after \($0.epochsTrained)" } ?? ""), \(config.threads) thread(s)")
        if tableBytes > physical * 0.8 {
            throw TrainStageError.tooBig("the tables need \(Format.bytes(Int(tableBytes))) but this machine has \(Format.bytes(Int(physical))) of memory; lower dim, raise min_count or set max_vocab_size")
        }
        let corpus = TrainingCorpus(tokens: tokens.ids, remap: vocab.remap, counts: Array(vocab.counts),
                                    keepProbability: Array(subsample.keepProbability))
        if let previous, previous.vocabularySize != vocab.size || previous.dimension != config.dimension {
            throw TrainStageError.mismatchedInputs("the model is \(previous.vocabularySize) words × \(previous.dimension) dims but the vocabulary has \(vocab.size) words; continue training with the vocabulary it was trained on")
        }
        // The trainer's checks of the corpus (a pass over the tokens) and the tables (the first
        // touch of ~60 MB, which on a VM can cost the hypervisor ~2 ms a MB) on two threads.
        let (trainer, model) = try Parallel.both({ try Trainer(configuration: config, corpus: corpus) }, {
            guard let previous else { return Trainer.makeModel(vocabularySize: vocab.size, configuration: config) }
            return EmbeddingModel(inputVectors: try EmbeddingMatrix(rows: vocab.size, dimension: config.dimension, copying: previous.inputVectors),
                                  outputVectors: try EmbeddingMatrix(rows: vocab.size, dimension: config.dimension, copying: previous.outputVectors),
                                  epochsTrained: previous.epochsTrained)
        })
        if let line = trainer.threadingSummary { context.note(line) }
        let cancellation = context.cancellation
        let setupSeconds = since(started)
        let result = try trainer.train(model: model, progress: { p in
            context.progress.update(fraction: p.fraction, detail: String(
                format: "epoch %d/%d  %@ words/s  lr %.5f  loss %.4f", p.epoch, config.epochs,
                Format.compact(p.wordsPerSecond), Double(p.learningRate), p.averageLoss))
        }, isCancelled: { cancellation.isCancelled })
        let writeStarted = DispatchTime.now().uptimeNanoseconds
        let modelOut = try context.output("model", formatVersion: ModelState.formatVersion)
        let embOut = try context.output("embeddings", formatVersion: EmbeddingTable.formatVersion)
        let provenance: [String: JSONValue] = [
            "model": .string(config.model.rawValue), "dim": .integer(Int64(config.dimension)),
            "window": .integer(Int64(config.window)), "negatives": .integer(Int64(config.negativeSamples)),
            "epochs": .integer(Int64(model.epochsTrained)), "min_count": .integer(Int64(vocab.minCount)),
            "t": .number(subsample.threshold), "learning_rate": .number(Double("\(config.learningRate)") ?? Double(config.learningRate)),
        ]
        let words = vocab.words.strings(), counts = Array(vocab.counts)
        // The two artifacts at the same time (each one's SHA-256 is a single stream); both only
        // read the tables.
        _ = try Parallel.both({ try ModelState.write(to: modelOut, model: model, configuration: config) }, {
            try model.inputVectors.withUnsafeBufferPointer {
                try EmbeddingTable.write(to: embOut, words: words, counts: counts, dimension: config.dimension,
                                         vectors: $0, provenance: provenance)
            }
        })
        let writeSeconds = since(writeStarted)
        // The work around the epochs (inputs mapped and checked, tables made; the rows packed
        // back; both artifacts written: all of this stage's time but the epochs'), against one
        // epoch's time. Committing the artifacts (fsync, rename) follows in the engine, outside.
        let epochSeconds = result.seconds / Double(max(1, config.epochs))
        let overhead = epochSeconds > 0 ? max(0, since(started) - result.seconds) / epochSeconds : 0
        let curve: [JSONValue] = result.lossCurve.map { .array([.number($0.fraction), .number($0.loss)]) }
        return StageOutcome(
            summary: String(format: "%@ %d epoch(s)%@: %@ words/s, %@, final loss %.4f", config.model.rawValue, config.epochs,
                            previous.map { " (\($0.epochsTrained + config.epochs) in all)" } ?? "",
                            Format.compact(result.wordsPerSecond), Format.seconds(result.seconds), result.finalLoss),
            metrics: ["words_per_second": .number(result.wordsPerSecond), "train_seconds": .number(result.seconds),
                      "final_loss": .number(result.finalLoss), "loss_curve": .array(curve),
                      "tokens_kept": .integer(Int64(result.tokensKept)), "pairs_trained": .integer(Int64(result.pairsTrained)),
                      "threads": .integer(Int64(config.threads)), "epochs_trained": .integer(Int64(model.epochsTrained)),
                      "kernel": .string(config.model == .cbow ? "cbow" : config.batchedNegatives ? "batched" : "pair"),
                      "kernel_isa": .string(KernelISA.selected.rawValue),
                      "setup_seconds": .number(setupSeconds), "write_seconds": .number(writeSeconds),
                      "sentence_seconds": .number(result.sentenceSeconds),
                      "overhead_fraction_of_epoch": .number(overhead)])
    }
}

/// train-more: continues training a model artifact for more epochs (same vocabulary).
public enum TrainMoreStage: Stage {
    public static let typeName = "train-more"
    public static let summary = "Continue training a model for more epochs (the model artifact keeps both tables and its configuration)"
    public static let implementationVersion = 7
    public struct Parameters: StageParameters {
        public var epochs = 1
        public var learningRate: Double? = nil
        public var threads = 0
        public var seed: Int? = nil
        public init() {}
        public static let fields: [ParameterField<Self>] = [
            .integer("epochs", \.epochs, in: 1...1000, help: "additional epochs"),
            .number("learning_rate", \.learningRate, in: 0...10, help: "starting learning rate of the continuation; null: the model's original one"),
            .integer("threads", \.threads, in: 0...1024, help: "worker threads (0 = all cores)"),
            .integer("seed", \.seed, in: 0...Int64.max, help: "random seed; null: the model's seed plus its epochs, so draws differ from the first run's"),
        ]
    }
    public static let inputs = [Slots.model.spec, Slots.tokens.spec, Slots.vocab.spec, Slots.subsample.spec]
    public static let outputs = TrainStage.outputs

    public static func run(_ context: StageContext, parameters p: Parameters) throws -> StageOutcome {
        let started = DispatchTime.now().uptimeNanoseconds
        let previous = try context.read(Slots.model)
        let tokens = try context.read(Slots.tokens)
        let vocab = try context.read(Slots.vocab)
        let subsample = try context.read(Slots.subsample)
        var config = try JSONDecoder().decode(TrainingConfiguration.self, from: Data(previous.configurationJSON.utf8))
        config.epochs = p.epochs
        if let lr = p.learningRate { config.learningRate = Float(lr) }
        config.threads = p.threads == 0 ? context.availableCores : p.threads
        config.seed = p.seed.map(UInt64.init) ?? config.seed &+ UInt64(previous.epochsTrained) &* 1000
        return try TrainStage.train(context, config: config, tokens: tokens, vocab: vocab, subsample: subsample, startingFrom: previous,
                                    started: started)
    }
}

public enum TrainStageError: Error, CustomStringConvertible {
    case mismatchedInputs(String)
    case tooBig(String)
    public var description: String {
        switch self {
        case .mismatchedInputs(let s), .tooBig(let s): return s
        }
    }
}
