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
/// Payload (format 1, little-endian):
/// ```
/// UInt64 tokenCount, UInt64 wordCount, UInt64 mode (0 text8, 1 normalize)
/// UInt64 counts[wordCount]
/// strings: UInt64 n, UInt64 offsets[n+1], bytes, pad to 8
/// UInt32 ids[tokenCount]
/// ```
/// Its arrays are read in place from the memory-mapped artifact (`MappedArray`).
public struct TokenStream: Sendable {
    public static let kind = ArtifactKind.tokens
    public static let formatVersion: UInt16 = 1

    public let reader: ArtifactReader
    public let mode: TokenizationMode
    public let words: StringTable
    public let counts: MappedArray<UInt64>
    public let ids: MappedArray<UInt32>

    public var tokenCount: Int { ids.count }
    public var wordCount: Int { counts.count }

    public init(_ reader: ArtifactReader) throws {
        self.reader = reader
        var c = reader.cursor()
        let tokenCount = try c.readInt("token count")
        let wordCount = try c.readInt("word count")
        guard let mode = TokenizationMode(code: try c.read(UInt64.self, "mode")) else {
            throw ArtifactError.malformed(file: reader.path, detail: "unknown tokenization mode")
        }
        self.mode = mode
        counts = try c.readArray(UInt64.self, count: wordCount, "counts")
        words = try c.readStrings("words")
        guard words.count == wordCount else {
            throw ArtifactError.malformed(file: reader.path, detail: "\(words.count) words for \(wordCount) counts")
        }
        ids = try c.readArray(UInt32.self, count: tokenCount, "token ids")
    }

    /// Writes the artifact. `idChunks` are written in order (the tokenizer's per-thread pieces).
    public static func write(to w: ArtifactWriter, mode: TokenizationMode, words: [String], counts: [UInt64],
                             idChunks: [UnsafeBufferPointer<UInt32>]) throws {
        let tokenCount = idChunks.reduce(0) { $0 + $1.count }
        try w.write(UInt64(tokenCount))
        try w.write(UInt64(words.count))
        try w.write(mode.code)
        try w.write(array: counts)
        try w.write(strings: words)
        for chunk in idChunks { try w.write(array: chunk) }
        try w.align()
    }
}
