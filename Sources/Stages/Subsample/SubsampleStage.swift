import Foundation
import Pipeline

/// subsample: the keep probability of each vocabulary word, min(1, sqrt(t/f) + t/f).
public enum SubsampleStage: Stage {
    public static let typeName = "subsample"
    public static let summary = "Per-word keep probabilities for subsampling frequent words (drawn per occurrence, per epoch, by the trainer)"
    public static let implementationVersion = 1
    public struct Parameters: StageParameters {
        public var t = 1e-4
        public init() {}
        public static let fields: [ParameterField<Self>] = [
            .number("t", \.t, in: 0...1, help: "threshold t (word2vec.c -sample, gensim sample); 0 disables subsampling"),
        ]
    }
    public static let inputs = [Slots.vocab.spec]
    public static let outputs = [OutputSpec("subsample", kind: ArtifactKind.subsample)]

    public static func run(_ context: StageContext, parameters: Parameters) throws -> StageOutcome {
        let t = parameters.t
        let vocab = try context.read(Slots.vocab)
        let (keep, expected) = SubsampleTable.keepProbabilities(counts: vocab.counts, threshold: t)
        let out = try context.output("subsample", formatVersion: SubsampleTable.formatVersion)
        try SubsampleTable.write(to: out, threshold: t, expectedKept: expected, coveredTokens: vocab.coveredTokens, keep: keep)
        let pct = 100 * expected / Double(max(1, vocab.coveredTokens))
        return StageOutcome(
            summary: t == 0 ? "subsampling off: all \(Format.grouped(vocab.coveredTokens)) tokens kept"
                : "t = \(t): expect \(Format.grouped(Int(expected.rounded()))) of \(Format.grouped(vocab.coveredTokens)) tokens kept per epoch (\(String(format: "%.1f", pct))%)",
            metrics: ["expected_kept": .number(expected), "covered_tokens": .integer(Int64(vocab.coveredTokens))])
    }
}
