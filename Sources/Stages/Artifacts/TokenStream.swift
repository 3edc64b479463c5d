import Pipeline

/// How the text was split into words.
public enum TokenizationMode: String, Sendable, CaseIterable {
    /// text8: words separated by spaces (newlines and tabs also split); bytes kept as they are.
    case text8
    /// Any UTF-8 text normalised as text8 was made: ASCII letters lowercased, each digit spelled
    /// out (`1` → `one`), every other byte a separator.
    case normalize

    var code: UInt64 { self == .text8 ? 0 : 1 }
    init?(code: UInt64) {
        switch code { case 0: self = .text8; case 1: self = .normalize; default: return nil }
    }
}

/// The `tokens` artifact: the corpus as word ids over a first-seen word table, with counts.
///
/// Payload, format 2 (little-endian), written in one streaming pass (the ids first, the table
/// and the sizes last, so the tokenizer never holds the ids in memory):
/// ```
/// UInt32 ids[idCount], pad to 8        word ids; 0xFFFF_FFFF ends a sentence (sentence mode)
/// UInt64 counts[wordCount]
/// strings: UInt64 n, UInt64 offsets[n+1], bytes, pad to 8
/// trailer, 8 × UInt64: idCount, tokenCount, sentenceCount, wordCount, mode (0 text8,
///   1 normalize), flags (bit 0: lines are sentences), prunedWords, prunedTokens
/// ```
/// A word pruned from the tokenizer's table (`max_table_words`) keeps its id, with an empty
/// string and count 0, so the ids written before the pruning stay valid; `build-vocab` drops it.
///
/// Format 1 (no sentences, sizes first) is still read:
/// `UInt64 tokenCount, wordCount, mode; UInt64 counts[]; strings; UInt32 ids[]`.
/// Arrays are read in place from the memory-mapped artifact (`MappedArray`).
public struct TokenStream: Sendable {
    public static let kind = ArtifactKind.tokens
    public static let formatVersion: UInt16 = 2
    /// In `ids`, the end of a sentence (format 2 in sentence mode; never a word id).
    public static let sentenceEnd = UInt32.max
    static let trailerBytes = 64

    public let reader: ArtifactReader
    public let mode: TokenizationMode
    /// Whether each line of the text was a sentence (`ids` then holds `sentenceEnd` markers).
    public let sentences: Bool
    public let words: StringTable
    public let counts: MappedArray<UInt64>
    /// Word ids in text order, with `sentenceEnd` after each sentence in sentence mode.
    public let ids: MappedArray<UInt32>
    /// Word tokens (the entries of `ids` that are not sentence ends).
    public let tokenCount: Int
    public let sentenceCount: Int
    /// Words the tokenizer pruned from its table, and their occurrences up to then.
    public let prunedWords: Int
    public let prunedTokens: UInt64

    public var wordCount: Int { counts.count }

    public init(_ reader: ArtifactReader) throws {
        self.reader = reader
        var c = reader.cursor()
        if reader.header.formatVersion < 2 {
            let tokenCount = try c.readInt("token count")
            let wordCount = try c.readInt("word count")
            mode = try Self.mode(c.read(UInt64.self, "mode"), reader)
            counts = try c.readArray(UInt64.self, count: wordCount, "counts")
            words = try c.readStrings("words")
            ids = try c.readArray(UInt32.self, count: tokenCount, "token ids")
            self.tokenCount = tokenCount
            sentences = false
            sentenceCount = 0
            prunedWords = 0
            prunedTokens = 0
        } else {
            try c.seek(to: c.payloadCount - Self.trailerBytes, "trailer")
            let idCount = try c.readInt("id count")
            tokenCount = try c.readInt("token count")
            sentenceCount = try c.readInt("sentence count")
            let wordCount = try c.readInt("word count")
            mode = try Self.mode(c.read(UInt64.self, "mode"), reader)
            let flags = try c.read(UInt64.self, "flags")
            prunedWords = try c.readInt("pruned words")
            prunedTokens = try c.read(UInt64.self, "pruned tokens")
            sentences = flags & 1 != 0
            guard tokenCount <= idCount, sentenceCount <= idCount, sentences || sentenceCount == 0 else {
                throw ArtifactError.malformed(file: reader.path, detail: "\(tokenCount) tokens and \(sentenceCount) sentences in \(idCount) ids")
            }
            try c.seek(to: 0, "ids")
            ids = try c.readArray(UInt32.self, count: idCount, "token ids")
            c.align()
            counts = try c.readArray(UInt64.self, count: wordCount, "counts")
            words = try c.readStrings("words")
            guard c.offset == c.payloadCount - Self.trailerBytes else {
                throw ArtifactError.malformed(file: reader.path, detail: "the word table ends at \(c.offset), the trailer starts at \(c.payloadCount - Self.trailerBytes)")
            }
        }
        guard words.count == counts.count else {
            throw ArtifactError.malformed(file: reader.path, detail: "\(words.count) words for \(counts.count) counts")
        }
    }

    private static func mode(_ code: UInt64, _ reader: ArtifactReader) throws -> TokenizationMode {
        guard let mode = TokenizationMode(code: code) else {
            throw ArtifactError.malformed(file: reader.path, detail: "unknown tokenization mode \(code)")
        }
        return mode
    }
}

extension TokenStream {
    /// Writes a whole table and its ids at once (small streams, tests). Sentence ends in `idChunks`
    /// (`sentenceEnd`) make it a sentence-mode stream.
    public static func write(to w: ArtifactWriter, mode: TokenizationMode, words: [String], counts: [UInt64],
                             idChunks: [UnsafeBufferPointer<UInt32>], sentences: Bool = false) throws {
        let writer = TokenStreamWriter(w)
        var ends = 0
        for chunk in idChunks {
            ends += chunk.reduce(0) { $0 + ($1 == sentenceEnd ? 1 : 0) }
            try writer.append(chunk)
        }
        let bytes = words.map { Array($0.utf8) }
        try writer.finish(tokenCount: writer.idCount - ends, sentenceCount: ends, mode: mode, sentences: sentences || ends > 0,
                          prunedWords: 0, prunedTokens: 0, wordCount: words.count,
                          count: { counts[$0] }, length: { bytes[$0].count },
                          bytes: { id, body in try bytes[id].withUnsafeBytes { try body($0) } })
    }
}

/// Writes a `tokens` artifact (format 2) as the ids arrive, then the table and the trailer.
final class TokenStreamWriter {
    private let out: ArtifactWriter
    private(set) var idCount = 0

    init(_ out: ArtifactWriter) { self.out = out }

    func append(_ ids: UnsafeBufferPointer<UInt32>) throws {
        try out.write(array: ids)
        idCount += ids.count
    }

    /// The table: `wordCount` ids, each with its count, its length in bytes and its bytes
    /// (handed to the closure `bytes` gets); a pruned id is an empty word with count 0.
    func finish(tokenCount: Int, sentenceCount: Int, mode: TokenizationMode, sentences: Bool,
                prunedWords: Int, prunedTokens: UInt64, wordCount: Int,
                count: (Int) -> UInt64, length: (Int) -> Int,
                bytes: (Int, (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        try out.align()
        var chunk = [UInt64]()
        chunk.reserveCapacity(1 << 16)
        func flush() throws { try out.write(array: chunk); chunk.removeAll(keepingCapacity: true) }
        for id in 0..<wordCount {
            chunk.append(count(id))
            if chunk.count == 1 << 16 { try flush() }
        }
        try flush()
        // Strings: count, offsets[n+1], bytes, padding (the layout `PayloadCursor.readStrings` reads).
        try out.write(UInt64(wordCount))
        var total: UInt64 = 0
        chunk.append(0)
        for id in 0..<wordCount {
            total += UInt64(length(id))
            chunk.append(total)
            if chunk.count == 1 << 16 { try flush() }
        }
        try flush()
        for id in 0..<wordCount where length(id) > 0 {
            try bytes(id) { try out.write($0) }
        }
        try out.align()
        for v in [UInt64(idCount), UInt64(tokenCount), UInt64(sentenceCount), UInt64(wordCount), mode.code,
                  sentences ? 1 : 0, UInt64(prunedWords), prunedTokens] {
            try out.write(v)
        }
    }
}
