import Foundation
import Pipeline

/// The `map` artifact: 2-D coordinates of the most frequent words of an embedding (t-SNE or
/// PCA), for the report's word maps and plotting tools.
///
/// Payload (format 1):
/// ```
/// UInt64 count
/// strings: [description JSON]   (method, settings, trustworthiness, source provenance)
/// strings: words                (most frequent first)
/// UInt64 counts[count]
/// Float32 coordinates[count × 2] (x, y per word), pad to 8
/// ```
public struct WordMap: Sendable {
    public static let formatVersion: UInt16 = 1

    public let count: Int
    public let description: [String: JSONValue]
    public let words: StringTable
    public let counts: MappedArray<UInt64>
    public let coordinates: MappedArray<Float>

    public init(_ reader: ArtifactReader) throws {
        var c = reader.cursor()
        count = try c.readInt("count")
        let text = try c.readStrings("description")
        if text.count == 1, case .object(let o)? = try? JSONValue.parse(Data(text[0].utf8)) { description = o } else { description = [:] }
        words = try c.readStrings("words")
        guard words.count == count else { throw ArtifactError.malformed(file: reader.path, detail: "\(words.count) words for count \(count)") }
        counts = try c.readArray(UInt64.self, count: count, "counts")
        coordinates = try c.readArray(Float.self, count: try c.product(count, 2, "coordinates"), "coordinates")
    }

    public static func write(to w: ArtifactWriter, words: [String], counts: [UInt64], coordinates: [Float],
                             description: [String: JSONValue]) throws {
        guard counts.count == words.count, coordinates.count == 2 * words.count else {
            throw MapError.invalid("internal: map of \(words.count) words with \(counts.count) counts and \(coordinates.count) coordinates")
        }
        try w.write(UInt64(words.count))
        try w.write(strings: [JSONValue.object(description).canonicalText])
        try w.write(strings: words)
        try w.write(array: counts)
        try w.write(array: coordinates)
        try w.align()
    }

    /// A number from the description (e.g. "trustworthiness").
    public func figure(_ name: String) -> Double? { description[name]?.doubleValue }

    /// The map as TSV with a header line: `word`, `x`, `y`, `count`, most frequent first.
    public func tsv() -> String {
        var out = "word\tx\ty\tcount\n"
        for i in 0..<count {
            out += "\(words[i])\t\(coordinates[2 * i])\t\(coordinates[2 * i + 1])\t\(counts[i])\n"
        }
        return out
    }
}
