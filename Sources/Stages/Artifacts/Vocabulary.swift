import Pipeline

/// The `vocab` artifact: words kept after `min_count` (and `max_vocab_size`), most frequent
/// first (ties by byte order of the word), their counts, and a map from the tokenizer's word
/// ids to vocabulary ids (`UInt32.max` = dropped).
///
/// Payload (format 1):
/// ```
/// UInt64 size, UInt64 minCount, UInt64 maxVocabSize (0 = none)
/// UInt64 corpusTokens, UInt64 coveredTokens, UInt64 remapCount
/// UInt64 counts[size]
/// strings: words
/// UInt32 remap[remapCount], pad to 8
/// ```
/// Its arrays are read in place from the memory-mapped artifact (`MappedArray`).
public struct Vocabulary: Sendable {
    public static let kind = ArtifactKind.vocab
    public static let formatVersion: UInt16 = 1
    public static let dropped = UInt32.max

    public let reader: ArtifactReader
    public let minCount: Int
    public let maxVocabSize: Int?
    public let corpusTokens: UInt64
    public let coveredTokens: UInt64
    public let counts: MappedArray<UInt64>
    public let words: StringTable
    public let remap: MappedArray<UInt32>

    public var size: Int { counts.count }

    public init(_ reader: ArtifactReader) throws {
        self.reader = reader
        var c = reader.cursor()
        let size = try c.readInt("size")
        minCount = try c.readInt("min count")
        let maxSize = try c.readInt("max size")
        maxVocabSize = maxSize == 0 ? nil : maxSize
        corpusTokens = try c.read(UInt64.self, "corpus tokens")
        coveredTokens = try c.read(UInt64.self, "covered tokens")
        let remapCount = try c.readInt("remap count")
        counts = try c.readArray(UInt64.self, count: size, "counts")
        words = try c.readStrings("words")
        guard words.count == size else {
            throw ArtifactError.malformed(file: reader.path, detail: "\(words.count) words for \(size) counts")
        }
        remap = try c.readArray(UInt32.self, count: remapCount, "remap")
    }

    public static func write(to w: ArtifactWriter, minCount: Int, maxVocabSize: Int?, corpusTokens: UInt64,
                             words: [String], counts: [UInt64], remap: [UInt32]) throws {
        try w.write(UInt64(words.count))
        try w.write(UInt64(minCount))
        try w.write(UInt64(maxVocabSize ?? 0))
        try w.write(corpusTokens)
        try w.write(counts.reduce(0, +))
        try w.write(UInt64(remap.count))
        try w.write(array: counts)
        try w.write(strings: words)
        try w.write(array: remap)
        try w.align()
    }
}
