import Foundation
import Pipeline

/// subsample: the keep probability of each vocabulary word, min(1, sqrt(t/f) + t/f).
public enum SubsampleStage: Stage {
    public static let typeName = "subsample"
    public static let summary = "Per-word keep probabilities for subsampling frequent words (drawn per occurrence, per epoch, by the trainer)"
    public static let implementationVersion = 1
    public static let parameters: [ParameterSpec] = [
        ParameterSpec("t", .number(0...1), default: .number(1e-4), help: "threshold t (word2vec.c -sample, gensim sample); 0 disables subsampling"),
    ]
    public static let inputs = [InputSpec("vocab", kind: ArtifactKind.vocab)]
    public static let outputs = [OutputSpec("subsample", kind: ArtifactKind.subsample)]

    public static func run(_ context: StageContext) throws -> StageOutcome {
        let t = context.parameters.double("t")
        let vocab = try Vocabulary(try context.input("vocab", maxVersion: Vocabulary.formatVersion))
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
