import Foundation
import Pipeline

/// tokenize: text → word ids over a first-seen word table, with counts.
public enum TokenizeStage: Stage {
    public static let typeName = "tokenize"
    public static let summary = "Split the text into words (text8 fast path, or normalise raw text as text8 was made)"
    public static let implementationVersion = 1
    public struct Parameters: StageParameters {
        public var format: TokenizationMode = .text8
        public var threads = 0
        public init() {}
        public static let fields: [ParameterField<Self>] = [
            .choice("format", \.format, help: "text8: split at spaces, keep bytes; normalize: lowercase ASCII letters, spell out digits, all else separates"),
            .integer("threads", \.threads, in: 0...1024, identity: .ignored, help: "threads (0 = all cores); the output does not depend on it"),
        ]
    }
    public static let inputs = [Slots.text.spec]
    public static let outputs = [OutputSpec("tokens", kind: ArtifactKind.tokens)]

    public static func run(_ context: StageContext, parameters: Parameters) throws -> StageOutcome {
        let mode = parameters.format
        let text = try context.read(Slots.text).reader
        let threads = parameters.threads == 0 ? context.availableCores : parameters.threads
        let start = Date()
        let tokenizer = Tokenizer(mode: mode)
        let result = try text.withPayload {
            try tokenizer.tokenize($0, threads: threads, progress: { context.progress.update(fraction: $0) },
                                   isCancelled: { context.isCancelled })
        }
        defer { result.deallocate() }
        let tokenSeconds = Date().timeIntervalSince(start)
        guard result.tokenCount > 0 else {
            throw TokenizeError.noTokens(bytes: text.payloadCount, mode: mode, droppedLong: result.droppedLongTokenCount)
        }
        let out = try context.output("tokens", formatVersion: TokenStream.formatVersion)
        try TokenStream.write(to: out, mode: mode, words: result.words, counts: result.counts, idChunks: result.idChunks)
        let dropped = result.droppedLongTokenCount
        let rate = Double(text.payloadCount) / max(tokenSeconds, 1e-9) / 1e6
        return StageOutcome(
            summary: "\(Format.grouped(result.tokenCount)) tokens, \(Format.grouped(result.words.count)) distinct words (\(mode.rawValue), \(String(format: "%.0f", rate)) MB/s)"
                + (dropped > 0 ? "; dropped \(Format.grouped(dropped)) token(s) longer than \(Format.grouped(Tokenizer.maxTokenBytes)) bytes" : ""),
            metrics: ["tokens": .integer(Int64(result.tokenCount)), "distinct_words": .integer(Int64(result.words.count)),
                      "mb_per_s": .number(rate), "dropped_long_tokens": .integer(Int64(dropped))])
    }
}

public enum TokenizeError: Error, CustomStringConvertible {
    case noTokens(bytes: Int, mode: TokenizationMode, droppedLong: Int)
    public var description: String {
        switch self {
        case .noTokens(let bytes, let mode, let droppedLong):
            return "found no words in \(Format.grouped(bytes)) bytes of text (format \(mode.rawValue))" +
                (droppedLong > 0 ? "; \(Format.grouped(droppedLong)) run(s) of text longer than \(Format.grouped(Tokenizer.maxTokenBytes)) bytes without a separator were dropped" : "") +
                (mode == .normalize ? "" : "; if the text is not in text8 format, set params.format to \"normalize\"")
        }
    }
}
