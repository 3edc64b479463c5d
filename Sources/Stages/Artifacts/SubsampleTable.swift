import Pipeline

/// The `subsample` artifact: per vocabulary word, the probability of keeping one occurrence,
/// min(1, sqrt(t/f) + t/f) with f = count / covered tokens (word2vec.c's rule), and the
/// expected number of tokens kept per epoch. The trainer draws per occurrence and per epoch.
///
/// Payload (format 1):
/// ```
/// UInt64 size, Float64 threshold t, Float64 expectedKept, UInt64 coveredTokens
/// Float32 keep[size], pad to 8
/// ```
/// Its arrays are read in place from the memory-mapped artifact (`MappedArray`).
public struct SubsampleTable: Sendable {
    public static let kind = ArtifactKind.subsample
    public static let formatVersion: UInt16 = 1

    public let threshold: Double
    public let expectedKept: Double
    public let coveredTokens: UInt64
    public let keepProbability: MappedArray<Float>
    let reader: ArtifactReader?

    public init(_ reader: ArtifactReader) throws {
        self.reader = reader
        var c = reader.cursor()
        let size = try c.readInt("size")
        threshold = try c.readDouble("threshold")
        expectedKept = try c.readDouble("expected kept")
        coveredTokens = try c.read(UInt64.self, "covered tokens")
        keepProbability = try c.readArray(Float.self, count: size, "keep probabilities")
    }

    /// min(1, sqrt(t/f) + t/f); 1 everywhere when t is 0 (subsampling off).
    public static func keepProbabilities<C: Collection<UInt64>>(counts: C, threshold t: Double) -> (keep: [Float], expectedKept: Double) {
        let total = Double(counts.reduce(0, +))
        var keep = [Float](repeating: 1, count: counts.count)
        var expected = 0.0
        for (i, c) in counts.enumerated() {
            var p = 1.0
            if t > 0, c > 0 {
                let ratio = t / (Double(c) / total)
                p = min(1, ratio.squareRoot() + ratio)
            }
            keep[i] = Float(p)
            expected += Double(c) * p
        }
        return (keep, expected)
    }

    public static func write(to w: ArtifactWriter, threshold: Double, expectedKept: Double, coveredTokens: UInt64, keep: [Float]) throws {
        try w.write(UInt64(keep.count))
        try w.write(threshold)
        try w.write(expectedKept)
        try w.write(coveredTokens)
        try w.write(array: keep)
        try w.align()
    }
}
