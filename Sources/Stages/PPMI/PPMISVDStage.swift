import Foundation
import Pipeline

/// ppmi-svd: word vectors from the positive PMI matrix of a co-occurrence matrix, factorised by
/// a truncated SVD (Levy, Goldberg & Dagan 2015).
public enum PPMISVDStage: Stage {
    public static let typeName = "ppmi-svd"
    public static let summary = "Word vectors from shifted PPMI with context smoothing, factorised by a truncated (randomised) SVD, from a cooccur matrix"
    public static let implementationVersion = 1

    public struct Parameters: StageParameters {
        public var dim = 100
        public var neg = 1.0
        public var cds = 0.75
        public var eig = 0.5
        public var oversampling = 30
        public var powerIterations = 4
        public var threads = 0
        public var seed = 1
        public init() {}
        public static let fields: [ParameterField<Self>] = [
            .number("neg", \.neg, in: 1...1000, help: "shift: PPMI = max(0, PMI − log neg); 1 = no shift (hyperwords -neg)"),
            .number("cds", \.cds, in: 0...1, help: "context-distribution smoothing: context counts raised to cds (0.75 as word2vec's negatives; 1 = none)"),
            .number("eig", \.eig, in: 0...1, help: "eigenvalue weighting: vectors U·Σ^eig (0 = U, 0.5 symmetric, 1 = U·Σ)"),
            .integer("dim", \.dim, in: 1...4096, help: "vector size: the number of singular vectors kept"),
            .integer("oversampling", \.oversampling, in: 0...1000, help: "randomised SVD: extra sketch columns (more = closer to the exact SVD, slower); on en-corpus 30 with 4 power iterations matched scipy's exact svds in quality"),
            .integer("power_iterations", \.powerIterations, in: 0...50, help: "randomised SVD: power iterations (more = closer to the exact SVD, slower)"),
            .integer("threads", \.threads, in: 0...1024, help: "threads for the sparse products and OpenBLAS (0 = all cores)"),
            .integer("seed", \.seed, in: 0...Int64.max, help: "random seed of the SVD's sketch"),
        ]
    }

    public static let inputs = [Slots.cooccur.spec, Slots.vocab.spec]
    public static let outputs = [OutputSpec("embeddings", kind: ArtifactKind.embeddings)]

    public static func run(_ context: StageContext, parameters p: Parameters) throws -> StageOutcome {
        let matrix = try context.read(Slots.cooccur)
        let vocab = try context.read(Slots.vocab)
        guard matrix.size == vocab.size else {
            throw PPMIError.invalid("the co-occurrence matrix has \(matrix.size) rows but the vocabulary \(vocab.size) words; wire both from the same build-vocab stage")
        }
        guard p.dim <= vocab.size else {
            throw PPMIError.invalid("dim \(p.dim) is larger than the vocabulary (\(vocab.size) words); lower dim")
        }
        var s = PPMISettings()
        s.dimension = p.dim; s.shift = p.neg; s.cds = p.cds; s.eig = p.eig; s.oversampling = p.oversampling
        s.powerIterations = p.powerIterations; s.threads = p.threads == 0 ? context.availableCores : p.threads; s.seed = UInt64(p.seed)
        let start = Date()
        let result = try matrix.withCSR { csr in
            try PPMISVD.vectors(csr, settings: s, report: { context.progress.update(fraction: $0, detail: "randomised SVD") },
                                checkCancelled: { try context.checkCancelled() })
        }
        let seconds = Date().timeIntervalSince(start)
        guard result.vectors.allSatisfy({ $0.isFinite }) else { throw PPMIError.invalid("the SVD gave non-finite values") }
        let provenance: [String: JSONValue] = [
            "method": .string("ppmi-svd"), "dim": .integer(Int64(p.dim)), "window": .integer(Int64(matrix.window)),
            "neg": .number(p.neg), "cds": .number(p.cds), "eig": .number(p.eig), "min_count": .integer(Int64(vocab.minCount)),
        ]
        let out = try context.output("embeddings", formatVersion: EmbeddingTable.formatVersion)
        try result.vectors.withUnsafeBufferPointer {
            try EmbeddingTable.write(to: out, words: vocab.words.strings(), counts: Array(vocab.counts),
                                     dimension: p.dim, vectors: $0, provenance: provenance)
        }
        let density = Double(result.positive) / Double(max(1, vocab.size)) / Double(max(1, vocab.size))
        return StageOutcome(
            summary: String(format: "%@ positive PMI entries (%.2f%% dense), top singular value %.1f, %@",
                            Format.grouped(result.positive), density * 100, Double(result.sigma.first ?? 0), Format.seconds(seconds)),
            metrics: ["train_seconds": .number(seconds), "positive_entries": .integer(Int64(result.positive)),
                      "singular_values": .array(result.sigma.map { .number(Double($0)) })])
    }
}
