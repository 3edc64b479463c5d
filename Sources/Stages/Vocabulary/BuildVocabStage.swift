import Foundation
import Pipeline

/// build-vocab: keeps words seen at least `min_count` times, most frequent first.
public enum BuildVocabStage: Stage {
    public static let typeName = "build-vocab"
    public static let summary = "Keep words with count ≥ min_count (optionally the most frequent max_vocab_size), sorted by frequency"
    public static let implementationVersion = 1
    public struct Parameters: StageParameters {
        public var minCount = 5
        public var maxVocabSize: Int? = nil
        public init() {}
        public static let fields: [ParameterField<Self>] = [
            .integer("min_count", \.minCount, in: 1...Int64.max, help: "drop words seen fewer times (word2vec.c -min-count, gensim min_count)"),
            .integer("max_vocab_size", \.maxVocabSize, in: 1...Int64.max, help: "keep at most this many words, the most frequent (null: no limit)"),
        ]
    }
    public static let inputs = [Slots.tokens.spec]
    public static let outputs = [OutputSpec("vocab", kind: ArtifactKind.vocab)]

    public static func run(_ context: StageContext, parameters: Parameters) throws -> StageOutcome {
        let minCount = parameters.minCount
        let maxSize = parameters.maxVocabSize
        let tokens = try context.read(Slots.tokens)
        let built = try build(tokens: tokens, minCount: minCount, maxSize: maxSize)
        let out = try context.output("vocab", formatVersion: Vocabulary.formatVersion)
        try Vocabulary.write(to: out, minCount: minCount, maxVocabSize: maxSize, corpusTokens: UInt64(tokens.tokenCount),
                             words: built.words, counts: built.counts, remap: built.remap)
        let covered = built.counts.reduce(0, +)
        let pct = 100 * Double(covered) / Double(max(1, tokens.tokenCount))
        return StageOutcome(
            summary: "\(Format.grouped(built.words.count)) words with count ≥ \(minCount) of \(Format.grouped(tokens.wordCount - tokens.prunedWords)), covering \(Format.grouped(covered)) tokens (\(String(format: "%.1f", pct))%)"
                + (tokens.prunedWords > 0 ? "; \(Format.grouped(tokens.prunedWords)) rare words were pruned while tokenizing" : ""),
            metrics: ["vocabulary_size": .integer(Int64(built.words.count)), "covered_tokens": .integer(Int64(covered))])
    }

    public struct Built {
        public var words: [String]
        public var counts: [UInt64]
        public var remap: [UInt32]
    }

    /// Sorted by count descending, ties by the word's bytes ascending (deterministic).
    public static func build(tokens: TokenStream, minCount: Int, maxSize: Int?) throws -> Built {
        var kept: [Int] = []
        var highest: UInt64 = 0
        for i in 0..<tokens.wordCount {
            highest = max(highest, tokens.counts[i])
            if tokens.counts[i] >= UInt64(minCount) { kept.append(i) }
        }
        guard !kept.isEmpty else { throw VocabularyError.empty(minCount: minCount, highestCount: highest) }
        let counts = tokens.counts
        let words = tokens.words
        kept.sort { a, b in
            if counts[a] != counts[b] { return counts[a] > counts[b] }
            return words.bytesPrecede(a, b)
        }
        if let maxSize, kept.count > maxSize { kept.removeSubrange(maxSize...) }
        var remap = [UInt32](repeating: Vocabulary.dropped, count: tokens.wordCount)
        for (v, t) in kept.enumerated() { remap[t] = UInt32(v) }
        return Built(words: kept.map { words[$0] }, counts: kept.map { counts[$0] }, remap: remap)
    }
}

public enum VocabularyError: Error, CustomStringConvertible {
    case empty(minCount: Int, highestCount: UInt64)
    public var description: String {
        switch self {
        case .empty(let m, let h):
            return "the vocabulary is empty: no word occurs at least min_count = \(m) times (the most frequent occurs \(h) times); lower min_count or use a larger corpus"
        }
    }
}
