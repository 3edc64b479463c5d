import Foundation
import Pipeline

/// glove: GloVe vectors from a co-occurrence matrix (the `cooccur` stage), as the Stanford tool
/// trains them.
public enum GloVeStage: Stage {
    public static let typeName = "glove"
    public static let summary = "Train GloVe vectors (weighted least squares on log co-occurrence counts, AdaGrad) from a cooccur matrix"
    public static let implementationVersion = 1

    public enum Output: String, CaseIterable, Sendable {
        case sum, word
    }

    public struct Parameters: StageParameters {
        public var dim = 100
        public var xMax = 100.0
        public var alpha = 0.75
        public var epochs = 15
        public var learningRate = 0.05
        public var threads = 0
        public var seed = 1
        public var output: Output = .sum
        public init() {}
        public static let fields: [ParameterField<Self>] = [
            .integer("dim", \.dim, in: 1...4096, help: "vector size (glove -vector-size)"),
            .number("x_max", \.xMax, in: 1e-6...1e12, help: "counts at or above x_max get full weight; f(x) = min(1, (x/x_max)^alpha) (-x-max: 100; 10 is usual on small corpora)"),
            .number("alpha", \.alpha, in: 0...10, help: "exponent of the weighting function (-alpha)"),
            .integer("epochs", \.epochs, in: 1...1000, help: "passes over the shuffled non-zero entries (-iter)"),
            .number("learning_rate", \.learningRate, in: 1e-6...10, help: "AdaGrad's initial learning rate (-eta)"),
            .integer("threads", \.threads, in: 0...1024, help: "worker threads (0 = all cores); with more than one, results vary slightly from run to run"),
            .integer("seed", \.seed, in: 0...Int64.max, help: "random seed (initial vectors and the order of entries); with threads 1, byte-identical artifacts"),
            .choice("output", \.output, help: "sum: word + context vectors, W + W̃ (the paper's choice, -model 2); word: W only (-model 1)"),
        ]
    }

    public static let inputs = [Slots.cooccur.spec, Slots.vocab.spec]
    public static let outputs = [OutputSpec("embeddings", kind: ArtifactKind.embeddings)]

    public static func settings(_ p: Parameters, cores: Int) -> GloVeSettings {
        var s = GloVeSettings()
        s.dimension = p.dim; s.xMax = p.xMax; s.alpha = p.alpha; s.epochs = p.epochs
        s.learningRate = p.learningRate; s.threads = p.threads == 0 ? cores : p.threads; s.seed = UInt64(p.seed)
        return s
    }

    public static func run(_ context: StageContext, parameters p: Parameters) throws -> StageOutcome {
        let matrix = try context.read(Slots.cooccur)
        let vocab = try context.read(Slots.vocab)
        guard matrix.size == vocab.size else {
            throw GloVeError.invalid("the co-occurrence matrix has \(matrix.size) rows but the vocabulary \(vocab.size) words; wire both from the same build-vocab stage")
        }
        let s = settings(p, cores: context.availableCores)
        // Memory: the shuffled entries (12 bytes each) and four (dim + 1)-float tables.
        let bytes = Double(matrix.nonZeroCount) * 12 + Double(vocab.size) * Double(p.dim + 1) * 16
        let physical = Double(ProcessInfo.processInfo.physicalMemory)
        context.note("\(Format.grouped(matrix.nonZeroCount)) non-zero entries, \(Format.grouped(vocab.size)) words × \(p.dim) dims, \(s.epochs) epoch(s), \(s.threads) thread(s), about \(Format.bytes(Int(bytes))) of memory")
        if bytes > physical * 0.8 {
            throw GloVeError.invalid("GloVe needs about \(Format.bytes(Int(bytes))) but this machine has \(Format.bytes(Int(physical))); raise min_count or lower the cooccur window")
        }
        let model = GloVeModel(size: vocab.size, dimension: p.dim, seed: s.seed)
        let cancellation = context.cancellation
        let result = try matrix.withCSR { csr in
            try GloVeTrainer.train(model: model, matrix: csr, settings: s, progress: { g in
                context.progress.update(fraction: g.fraction, detail: String(
                    format: "epoch %d/%d  %@ entries/s  cost %.4f", g.epoch, s.epochs, Format.compact(g.entriesPerSecond), g.cost))
            }, isCancelled: { cancellation.isCancelled })
        }
        let vectors = model.vectors(sum: p.output == .sum)
        guard vectors.allSatisfy({ $0.isFinite }) else { throw GloVeError.nonFinite(epoch: s.epochs) }
        let provenance: [String: JSONValue] = [
            "method": .string("glove"), "dim": .integer(Int64(p.dim)), "window": .integer(Int64(matrix.window)),
            "x_max": .number(p.xMax), "alpha": .number(p.alpha), "epochs": .integer(Int64(p.epochs)),
            "min_count": .integer(Int64(vocab.minCount)), "output": .string(p.output.rawValue),
        ]
        let out = try context.output("embeddings", formatVersion: EmbeddingTable.formatVersion)
        try vectors.withUnsafeBufferPointer {
            try EmbeddingTable.write(to: out, words: vocab.words.strings(), counts: Array(vocab.counts),
                                     dimension: p.dim, vectors: $0, provenance: provenance)
        }
        let curve: [JSONValue] = result.costCurve.map { .array([.number($0.fraction), .number($0.cost)]) }
        let final = result.epochCosts.last ?? 0
        return StageOutcome(
            summary: String(format: "glove %d epoch(s) over %@ entries: %@, %.1f s per epoch, final cost %.4f", p.epochs,
                            Format.grouped(result.entries), Format.seconds(result.seconds), result.seconds / Double(max(1, p.epochs)), final),
            metrics: ["train_seconds": .number(result.seconds), "seconds_per_epoch": .number(result.seconds / Double(max(1, p.epochs))),
                      "final_loss": .number(final), "loss_curve": .array(curve),
                      "epoch_costs": .array(result.epochCosts.map { .number($0) }),
                      "entries": .integer(Int64(result.entries)), "threads": .integer(Int64(s.threads))])
    }
}
