import Foundation
import Pipeline

/// cooccur: the windowed word–word co-occurrence matrix that GloVe and PPMI-SVD start from.
///
/// Words outside the vocabulary — and, when a `subsample` input is wired, subsampled-away
/// occurrences — are removed before windowing, so distances count the tokens that remain (as
/// word2vec.c and GloVe's `cooccur` do) and PPMI sees the pairs SGNS sees. Each remaining token
/// is paired with the remaining tokens up to `window` positions either side, weighted by
/// distance (`weighting`). The result (`CooccurrenceMatrix`) is symmetric; sums are exact, so it
/// is byte-identical for any `threads` and `memory_mb`, which are therefore not part of the key.
public enum CooccurStage: Stage {
    public static let typeName = "cooccur"
    public static let summary = "Count word co-occurrences within a window into a sparse symmetric matrix (input of glove and ppmi-svd), multithreaded, in bounded memory"
    public static let implementationVersion = 1

    public struct Parameters: StageParameters {
        public var window = 10
        public var weighting: CooccurrenceWeighting = .harmonic
        public var threads = 0
        public var seed = 1
        public var memoryMB = 1024
        public init() {}
        public static let fields: [ParameterField<Self>] = [
            .integer("window", \.window, in: 1...100, help: "symmetric window: pairs up to this many kept tokens apart (GloVe -window-size 10)"),
            .choice("weighting", \.weighting, help: "weight of a pair at distance d: harmonic 1/d (GloVe), uniform 1, or word2vec (window−d+1)/window (the average of word2vec's shrunk window)"),
            .integer("threads", \.threads, in: 0...1024, identity: .ignored, help: "counting threads (0 = all cores); the result is the same for any count"),
            .integer("seed", \.seed, in: 0...Int64.max, help: "seed of the subsampling draws (used when the subsample input is wired); a draw depends on the seed and the token's position only"),
            .integer("memory_mb", \.memoryMB, in: 1...1_048_576, identity: .ignored,
                     help: "budget in MiB for the counting buffers (dense tables of frequent pairs, record buffers, merge buffers); what does not fit goes to scratch files in the store's tmp/. The result is the same for any budget"),
        ]
    }

    /// Optional: when wired, tokens are subsampled as the trainer does (one draw per occurrence).
    public static let subsampleSlot = OptionalInput<SubsampleTable>("subsample")
    public static let inputs = [Slots.tokens.spec, Slots.vocab.spec, subsampleSlot.spec]
    public static let outputs = [OutputSpec("cooccur", kind: ArtifactKind.cooccur)]

    public static func run(_ context: StageContext, parameters p: Parameters) throws -> StageOutcome {
        let tokens = try context.read(Slots.tokens)
        let vocab = try context.read(Slots.vocab)
        let subsample = try context.read(subsampleSlot)
        guard vocab.remap.count == tokens.wordCount else {
            throw CooccurrenceError.mismatchedInputs("the vocabulary (\(vocab.remap.count) token words) was not built from these tokens (\(tokens.wordCount) words); wire inputs from the same chain of stages")
        }
        if let subsample, subsample.keepProbability.count != vocab.size {
            throw CooccurrenceError.mismatchedInputs("the subsample table (\(subsample.keepProbability.count) words) was not built from this vocabulary (\(vocab.size) words); wire inputs from the same chain of stages")
        }
        let threads = p.threads == 0 ? context.availableCores : p.threads
        let configuration = CooccurrenceCounter.Configuration(
            window: p.window, weighting: p.weighting, threads: threads, memoryBytes: p.memoryMB << 20,
            seed: UInt64(p.seed), scratchDirectory: context.scratchDirectory)
        context.note("\(Format.grouped(tokens.tokenCount)) tokens, \(Format.grouped(vocab.size)) words, window \(p.window) (\(p.weighting.rawValue))\(subsample == nil ? "" : ", subsampled"), \(threads) thread(s), budget \(p.memoryMB) MiB")
        let writer = try context.output("cooccur", formatVersion: CooccurrenceMatrix.formatVersion)
        let cancellation = context.cancellation
        func count(_ keep: UnsafeBufferPointer<Float>?) throws -> CooccurrenceCounter.Statistics {
            try tokens.ids.withUnsafeBufferPointer { ids in
                try vocab.remap.withUnsafeBufferPointer { remap in
                    try CooccurrenceCounter(tokens: ids, remap: remap, vocabularySize: vocab.size, keepProbability: keep,
                                            configuration: configuration)
                        .run(writer: writer, progress: { context.progress.update(fraction: $0, detail: $1) },
                             isCancelled: { cancellation.isCancelled })
                }
            }
        }
        let stats = try subsample.map { try $0.keepProbability.withUnsafeBufferPointer { try count($0) } } ?? count(nil)
        let h = stats.header
        return StageOutcome(
            summary: "\(Format.compact(Double(h.nonZeroCount))) non-zeros over \(Format.grouped(h.size)) words, total weight \(Format.compact(h.totalWeight)), \(Format.compact(Double(h.tokensUsed))) tokens used, window \(h.window) \(h.weighting.rawValue), \(Format.seconds(stats.seconds))",
            metrics: [
                "nnz": .integer(Int64(h.nonZeroCount)), "seconds": .number(stats.seconds),
                "counting_seconds": .number(stats.countingSeconds), "merge_seconds": .number(stats.mergeSeconds), "peak_buffer_bytes": .integer(Int64(stats.peakBufferBytes)),
                "total_weight": .number(h.totalWeight), "tokens_used": .integer(Int64(clamping: h.tokensUsed)),
                "threads": .integer(Int64(stats.threads)), "dense_cells": .integer(Int64(stats.denseCells)),
                "records": .integer(Int64(stats.records)), "chunks": .integer(Int64(stats.chunks)),
                "spilled_bytes": .integer(Int64(stats.spilledBytes)), "partitions": .integer(Int64(stats.partitions)),
                "merge_tasks": .integer(Int64(stats.tasks)), "split_tasks": .integer(Int64(stats.splitTasks)),
                "exact_weights": .bool(stats.exactWeights),
            ])
    }
}
