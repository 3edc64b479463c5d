import Foundation
import Pipeline

/// train: skip-gram or CBOW with negative sampling, Hogwild on several threads, as word2vec.c.
public enum TrainStage: Stage {
    public static let typeName = "train"
    public static let summary = "Train word vectors: skip-gram (sgns) or CBOW with negative sampling, multithreaded (Hogwild)"
    public static let implementationVersion = 1
    public static let parameters: [ParameterSpec] = [
        ParameterSpec("model", .choice(ModelKind.allCases.map(\.rawValue)), default: .string("sgns"), help: "sgns (skip-gram; word2vec.c -cbow 0, gensim sg=1) or cbow"),
        ParameterSpec("dim", .integer(1...4096), default: .integer(100), help: "vector size (word2vec.c -size, gensim vector_size)"),
        ParameterSpec("window", .integer(1...100), default: .integer(5), help: "maximum window; shrunk at random in 1…window per centre word (-window, window)"),
        ParameterSpec("negatives", .integer(1...100), default: .integer(5), help: "negative samples K per positive pair, drawn with replacement (-negative, negative)"),
        ParameterSpec("ns_exponent", .number(-2...2), default: .number(0.75), help: "negatives drawn from counts^ns_exponent (gensim ns_exponent)"),
        ParameterSpec("epochs", .integer(1...1000), default: .integer(5), help: "passes over the corpus (-iter, epochs)"),
        ParameterSpec("learning_rate", .number(0...10), default: .null, help: "starting learning rate (-alpha, alpha); null: 0.025 for sgns, 0.05 for cbow"),
        ParameterSpec("min_learning_rate_fraction", .number(0...1), default: .number(1e-4), help: "the rate decays linearly to this fraction of the start (word2vec.c: 1e-4)"),
        ParameterSpec("threads", .integer(0...1024), default: .integer(0), help: "worker threads (0 = all cores); with more than one, results vary slightly from run to run"),
        ParameterSpec("seed", .integer(0...Int64.max), default: .integer(1), help: "random seed; with threads 1, the same seed gives byte-identical artifacts"),
        ParameterSpec("cbow_mean", .bool, default: .bool(true), help: "CBOW: mean of the context vectors (true) or their sum (-cbow 1 uses the mean)"),
        ParameterSpec("batched_negatives", .bool, default: .bool(false), help: "skip-gram: share a centre word's negatives across its window (HogBatch); faster, opt-in"),
        ParameterSpec("init_range", .number(0.001...10), default: .number(0.5), help: "input vectors start uniform in ±init_range/dim: 0.5 as word2vec.c; gensim 4 uses 1.0 (about 1 point more analogy accuracy after 1 epoch on a text8-sized corpus, in one run)"),
    ]
    public static let inputs = [
        InputSpec("tokens", kind: ArtifactKind.tokens),
        InputSpec("vocab", kind: ArtifactKind.vocab),
        InputSpec("subsample", kind: ArtifactKind.subsample),
    ]
    public static let outputs = [
        OutputSpec("model", kind: ArtifactKind.model),
        OutputSpec("embeddings", kind: ArtifactKind.embeddings),
    ]

    public static func configuration(_ p: ResolvedParameters, cores: Int) -> TrainingConfiguration {
        let model = ModelKind(rawValue: p.string("model"))!
        let threads = p.int("threads") == 0 ? cores : p.int("threads")
        return TrainingConfiguration(
            model: model, dimension: p.int("dim"), windowSize: p.int("window"), negativeSamples: p.int("negatives"),
            nsExponent: p.double("ns_exponent"), epochs: p.int("epochs"),
            learningRate: p.values["learning_rate"]?.doubleValue.map { Float($0) },
            minLearningRateFraction: Float(p.double("min_learning_rate_fraction")), threads: threads,
            seed: UInt64(p.int("seed")), cbowMean: p.bool("cbow_mean"), batchedNegatives: p.bool("batched_negatives"),
            initRange: Float(p.double("init_range")))
    }

    public static func run(_ context: StageContext) throws -> StageOutcome {
        let tokens = try TokenStream(try context.input("tokens", maxVersion: TokenStream.formatVersion))
        let vocab = try Vocabulary(try context.input("vocab", maxVersion: Vocabulary.formatVersion))
        let subsample = try SubsampleTable(try context.input("subsample", maxVersion: SubsampleTable.formatVersion))
        guard vocab.remap.count == tokens.wordCount, subsample.keepProbability.count == vocab.size else {
            throw TrainStageError.mismatchedInputs("the vocabulary (\(vocab.remap.count) token words) or subsample table (\(subsample.keepProbability.count) words) was not built from these tokens (\(tokens.wordCount) words) / this vocabulary (\(vocab.size) words); wire inputs from the same chain of stages")
        }
        let config = configuration(context.parameters, cores: context.availableCores)
        return try train(context, config: config, tokens: tokens, vocab: vocab, subsample: subsample, startingFrom: nil)
    }

    /// Trains (from scratch, or on from `startingFrom`), then writes the model and embeddings.
    static func train(_ context: StageContext, config: TrainingConfiguration, tokens: TokenStream, vocab: Vocabulary,
                      subsample: SubsampleTable, startingFrom previous: ModelState?) throws -> StageOutcome {
        try config.validate()
        // Memory: two V × dim float tables.
        let tableBytes = Double(vocab.size) * Double(config.dimension) * 4 * 2
        let physical = Double(ProcessInfo.processInfo.physicalMemory)
        context.note("tables: \(Format.grouped(vocab.size)) words × \(config.dimension) dims × 4 bytes × 2 = \(Format.bytes(Int(tableBytes))); \(config.model.rawValue), \(config.epochs) epoch(s)\(previous.map { " after \($0.epochsTrained)" } ?? ""), \(config.threads) thread(s)")
        if tableBytes > physical * 0.8 {
            throw TrainStageError.tooBig("the tables need \(Format.bytes(Int(tableBytes))) but this machine has \(Format.bytes(Int(physical))) of memory; lower dim, raise min_count or set max_vocab_size")
        }
        let corpus = TrainingCorpus(tokens: tokens.ids, remap: vocab.remap, counts: Array(vocab.counts),
                                    keepProbability: Array(subsample.keepProbability))
        let trainer = try Trainer(configuration: config, corpus: corpus)
        let model: EmbeddingModel
        if let previous {
            guard previous.vocabularySize == vocab.size, previous.dimension == config.dimension else {
                throw TrainStageError.mismatchedInputs("the model is \(previous.vocabularySize) words × \(previous.dimension) dims but the vocabulary has \(vocab.size) words; continue training with the vocabulary it was trained on")
            }
            model = EmbeddingModel(inputVectors: EmbeddingMatrix(rows: vocab.size, dimension: config.dimension, copying: previous.inputVectors.baseAddress!),
                                   outputVectors: EmbeddingMatrix(rows: vocab.size, dimension: config.dimension, copying: previous.outputVectors.baseAddress!),
                                   epochsTrained: previous.epochsTrained)
        } else {
            model = Trainer.makeModel(vocabularySize: vocab.size, configuration: config)
        }
        let result: TrainingResult
        do {
            result = try trainer.train(model: model, progress: { p in
                context.progress.update(fraction: p.fraction, detail: String(
                    format: "epoch %d/%d  %@ words/s  lr %.5f  loss %.4f", p.epoch, config.epochs,
                    Format.compact(p.wordsPerSecond), Double(p.learningRate), p.averageLoss))
            }, isCancelled: { Cancellation.isRequested })
        } catch TrainingError.cancelled {
            throw CancelledError()
        }
        let modelOut = try context.output("model", formatVersion: ModelState.formatVersion)
        try ModelState.write(to: modelOut, model: model, configuration: config)
        let provenance: [String: JSONValue] = [
            "model": .string(config.model.rawValue), "dim": .integer(Int64(config.dimension)),
            "window": .integer(Int64(config.windowSize)), "negatives": .integer(Int64(config.negativeSamples)),
            "epochs": .integer(Int64(model.epochsTrained)), "min_count": .integer(Int64(vocab.minCount)),
            "t": .number(subsample.threshold), "learning_rate": .number(Double("\(config.learningRate)") ?? Double(config.learningRate)),
        ]
        let embOut = try context.output("embeddings", formatVersion: EmbeddingTable.formatVersion)
        try model.inputVectors.withUnsafeBufferPointer {
            try EmbeddingTable.write(to: embOut, words: vocab.words.strings(), counts: Array(vocab.counts),
                                     dimension: config.dimension, vectors: $0, provenance: provenance)
        }
        let curve: [JSONValue] = result.lossCurve.map { .array([.number($0.fraction), .number($0.loss)]) }
        return StageOutcome(
            summary: String(format: "%@ %d epoch(s)%@: %@ words/s, %@, final loss %.4f", config.model.rawValue, config.epochs,
                            previous.map { " (\($0.epochsTrained + config.epochs) in all)" } ?? "",
                            Format.compact(result.wordsPerSecond), Format.seconds(result.seconds), result.finalLoss),
            metrics: ["words_per_second": .number(result.wordsPerSecond), "train_seconds": .number(result.seconds),
                      "final_loss": .number(result.finalLoss), "loss_curve": .array(curve),
                      "tokens_kept": .integer(Int64(result.tokensKept)), "pairs_trained": .integer(Int64(result.pairsTrained)),
                      "threads": .integer(Int64(config.threads)), "epochs_trained": .integer(Int64(model.epochsTrained))])
    }
}

/// train-more: continues training a model artifact for more epochs (same vocabulary).
public enum TrainMoreStage: Stage {
    public static let typeName = "train-more"
    public static let summary = "Continue training a model for more epochs (the model artifact keeps both tables and its configuration)"
    public static let implementationVersion = 1
    public static let parameters: [ParameterSpec] = [
        ParameterSpec("epochs", .integer(1...1000), default: .integer(1), help: "additional epochs"),
        ParameterSpec("learning_rate", .number(0...10), default: .null, help: "starting learning rate of the continuation; null: the model's original one"),
        ParameterSpec("threads", .integer(0...1024), default: .integer(0), help: "worker threads (0 = all cores)"),
        ParameterSpec("seed", .integer(0...Int64.max), default: .null, help: "random seed; null: the model's seed plus its epochs, so draws differ from the first run's"),
    ]
    public static let inputs = [
        InputSpec("model", kind: ArtifactKind.model),
        InputSpec("tokens", kind: ArtifactKind.tokens),
        InputSpec("vocab", kind: ArtifactKind.vocab),
        InputSpec("subsample", kind: ArtifactKind.subsample),
    ]
    public static let outputs = TrainStage.outputs

    public static func run(_ context: StageContext) throws -> StageOutcome {
        let previous = try ModelState(try context.input("model", maxVersion: ModelState.formatVersion))
        let tokens = try TokenStream(try context.input("tokens", maxVersion: TokenStream.formatVersion))
        let vocab = try Vocabulary(try context.input("vocab", maxVersion: Vocabulary.formatVersion))
        let subsample = try SubsampleTable(try context.input("subsample", maxVersion: SubsampleTable.formatVersion))
        var config = try JSONDecoder().decode(TrainingConfiguration.self, from: Data(previous.configurationJSON.utf8))
        let p = context.parameters
        config.epochs = p.int("epochs")
        if let lr = p.values["learning_rate"]?.doubleValue { config.learningRate = Float(lr) }
        config.threads = p.int("threads") == 0 ? context.availableCores : p.int("threads")
        config.seed = p.optionalInt("seed").map(UInt64.init) ?? config.seed &+ UInt64(previous.epochsTrained) &* 1000
        return try TrainStage.train(context, config: config, tokens: tokens, vocab: vocab, subsample: subsample, startingFrom: previous)
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
