import Foundation
import Pipeline

/// The `embeddings` artifact: the vocabulary, its counts, and the input vectors (word2vec.c's
/// syn0), plus a JSON description of how they were trained. Evaluation, export and the query
/// commands read this.
///
/// Payload (format 1):
/// ```
/// UInt64 size, UInt64 dimension
/// strings: [provenance JSON]
/// strings: words
/// UInt64 counts[size]
/// Float32 vectors[size × dimension], row-major, pad to 8
/// ```
/// Its arrays are read in place from the memory-mapped artifact (`MappedArray`).
public struct EmbeddingTable: Sendable {
    public static let kind = ArtifactKind.embeddings
    public static let formatVersion: UInt16 = 1

    public let size: Int
    public let dimension: Int
    public let provenance: [String: JSONValue]
    public let words: StringTable
    public let counts: MappedArray<UInt64>
    public let vectors: MappedArray<Float>
    let reader: ArtifactReader

    public init(_ reader: ArtifactReader) throws {
        self.reader = reader
        var c = reader.cursor()
        size = try c.readInt("size")
        dimension = try c.readInt("dimension")
        let prov = try c.readStrings("provenance")
        if prov.count == 1, case .object(let o)? = try? JSONValue.parse(Data(prov[0].utf8)) { provenance = o } else { provenance = [:] }
        words = try c.readStrings("words")
        guard words.count == size else { throw ArtifactError.malformed(file: reader.path, detail: "\(words.count) words for size \(size)") }
        counts = try c.readArray(UInt64.self, count: size, "counts")
        vectors = try c.readArray(Float.self, count: try c.product(size, dimension, "vectors"), "vectors")
    }

    public static func write(to w: ArtifactWriter, words: [String], counts: [UInt64], dimension: Int,
                             vectors: UnsafeBufferPointer<Float>, provenance: [String: JSONValue]) throws {
        precondition(vectors.count == words.count * dimension)
        try w.write(UInt64(words.count))
        try w.write(UInt64(dimension))
        try w.write(strings: [JSONValue.object(provenance).canonicalText])
        try w.write(strings: words)
        try w.write(array: counts)
        try w.write(array: vectors)
        try w.align()
    }

    /// The vectors as a `WordVectors` (copies the floats; ~30 MB for text8, a few ms).
    public func wordVectors() throws -> WordVectors {
        try WordVectors(words: words.strings(), dimension: dimension, vectors: Array(vectors))
    }
}
