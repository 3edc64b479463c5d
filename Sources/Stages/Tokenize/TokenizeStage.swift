import Foundation
import Pipeline
import Synchronization

/// tokenize: text → word ids over a first-seen word table, with counts; streamed, in memory
/// bounded by the table of distinct words and fixed buffers.
public enum TokenizeStage: Stage {
    public static let typeName = "tokenize"
    public static let summary = "Split the text into words (text8 fast path, or normalise raw text as text8 was made), optionally one sentence per line"
    public static let implementationVersion = 2

    /// Whether lines are sentences.
    public enum SentenceMode: String, Sendable, CaseIterable {
        /// The text is one stream of words (text8); line breaks only separate words.
        case none
        /// Each line is a sentence: no training or co-occurrence window crosses a line break
        /// (word2vec.c's `</s>`, gensim's `LineSentence`).
        case lines
    }

    public struct Parameters: StageParameters {
        public var format: TokenizationMode = .text8
        public var sentences: SentenceMode = .none
        public var maxTableWords = Tokenizer.defaultMaxTableWords
        public var threads = 0
        public init() {}
        public static let fields: [ParameterField<Self>] = [
            .choice("format", \.format, help: "text8: split at spaces, keep bytes; normalize: lowercase ASCII letters, spell out digits, all else separates"),
            .choice("sentences", \.sentences, help: "none: the text is one stream of words (text8); lines: each line is a sentence, and no window of train or cooccur crosses a line break (word2vec.c's </s>, gensim's LineSentence)"),
            .integer("max_table_words", \.maxTableWords, in: 1...Int64(Int32.max),
                     help: "distinct words held while tokenizing (about 130 bytes each at the peak); past it, words seen once so far are pruned, then twice, … (word2vec.c's ReduceVocab); pruned occurrences become out-of-vocabulary. Default 10,000,000 (about 1.3 GB)"),
            .integer("threads", \.threads, in: 0...1024, identity: .ignored, help: "threads (0 = all cores); the output does not depend on it"),
        ]
    }
    public static let inputs = [Slots.text.spec]
    public static let outputs = [OutputSpec("tokens", kind: ArtifactKind.tokens)]

    public static func run(_ context: StageContext, parameters: Parameters) throws -> StageOutcome {
        let mode = parameters.format
        let text = try context.read(Slots.text)
        let threads = parameters.threads == 0 ? context.availableCores : parameters.threads
        let start = Date()
        let tokenizer = Tokenizer(mode: mode)
        let out = try context.output("tokens", formatVersion: TokenStream.formatVersion)
        let writer = TokenStreamWriter(out)
        let fraction = SharedFraction()
        // A file's digest from the store's cache: reread only if its size, inode or times changed.
        let streamer = TextStreamer(text: text, digest: { [context] in try context.fileDigest(URL(fileURLWithPath: $0)) })
        let options = Tokenizer.Options(sentences: parameters.sentences == .lines, maxTableWords: parameters.maxTableWords,
                                        threads: threads)
        let (summary, table) = try tokenizer.run(
            options,
            produce: { body in
                let newline: [UInt8] = [0x0A]
                try streamer.stream(progress: { fraction.set($0) }, boundary: { try newline.withUnsafeBytes { try body($0) } }, body)
            },
            emit: { try writer.append($0) },
            progress: { bytes in context.progress.update(fraction: fraction.get() * 0.98, detail: Format.bytes(bytes)) },
            isCancelled: { context.isCancelled })
        let seconds = Date().timeIntervalSince(start)
        guard summary.tokenCount > 0 else {
            throw TokenizeError.noTokens(bytes: Int(summary.textBytes) - text.sourceCount, mode: mode, droppedLong: summary.droppedLongTokenCount)
        }
        let entryOf = table.entryByID()
        let words = table.table
        try writer.finish(tokenCount: summary.tokenCount, sentenceCount: summary.sentenceCount, mode: mode,
                          sentences: options.sentences, prunedWords: summary.prunedWords, prunedTokens: summary.prunedTokens,
                          wordCount: entryOf.count,
                          count: { entryOf[$0] < 0 ? 0 : words.counts[Int(entryOf[$0])] },
                          length: { entryOf[$0] < 0 ? 0 : words.word(Int(entryOf[$0])).count },
                          bytes: { id, body in try body(UnsafeRawBufferPointer(words.word(Int(entryOf[id])))) })
        let textBytes = summary.textBytes - UInt64(text.sourceCount) // the line breaks between sources are not text
        let rate = Double(textBytes) / max(seconds, 1e-9) / 1e6
        var line = "\(Format.grouped(summary.tokenCount)) tokens, \(Format.grouped(words.count)) distinct words"
        if options.sentences { line += " in \(Format.grouped(summary.sentenceCount)) sentences" }
        line += " (\(mode.rawValue), \(Format.bytes(textBytes)) at \(String(format: "%.0f", rate)) MB/s)"
        if summary.prunedWords > 0 {
            line += "; table over \(Format.grouped(parameters.maxTableWords)) words: pruned \(Format.grouped(summary.prunedWords)) rare words (\(Format.grouped(summary.prunedTokens)) occurrences; counts up to \(summary.pruneFloor))"
        }
        if summary.droppedLongTokenCount > 0 {
            line += "; dropped \(Format.grouped(summary.droppedLongTokenCount)) token(s) longer than \(Format.grouped(Tokenizer.maxTokenBytes)) bytes"
        }
        return StageOutcome(
            summary: line,
            metrics: ["tokens": .integer(Int64(summary.tokenCount)), "distinct_words": .integer(Int64(words.count)),
                      "sentences": .integer(Int64(summary.sentenceCount)), "text_bytes": .integer(Int64(textBytes)),
                      "mb_per_s": .number(rate), "dropped_long_tokens": .integer(Int64(summary.droppedLongTokenCount)),
                      "pruned_words": .integer(Int64(summary.prunedWords)), "pruned_tokens": .integer(Int64(summary.prunedTokens)),
                      "peak_table_words": .integer(Int64(summary.peakTableWords))])
    }
}

/// A fraction in [0, 1] written by one thread and read by another.
final class SharedFraction: Sendable {
    private let bits = Atomic<UInt64>(0)
    func set(_ value: Double) { bits.store(value.bitPattern, ordering: .relaxed) }
    func get() -> Double { Double(bitPattern: bits.load(ordering: .relaxed)) }
}

public enum TokenizeError: Error, CustomStringConvertible {
    case noTokens(bytes: Int, mode: TokenizationMode, droppedLong: Int)
    case tooManyWords(Int)
    public var description: String {
        switch self {
        case .tooManyWords(let n):
            return "the text has more than \(Format.grouped(n)) distinct words even after pruning; lower the tokenize stage's max_table_words so rare words are pruned sooner"

        case .noTokens(let bytes, let mode, let droppedLong):
            return "found no words in \(Format.grouped(bytes)) bytes of text (format \(mode.rawValue))" +
                (droppedLong > 0 ? "; \(Format.grouped(droppedLong)) run(s) of text longer than \(Format.grouped(Tokenizer.maxTokenBytes)) bytes without a separator were dropped" : "") +
                (mode == .normalize ? "" : "; if the text is not in text8 format, set params.format to \"normalize\"")
        }
    }
}
