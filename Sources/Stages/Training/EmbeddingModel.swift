import Foundation
import Pipeline

/// The two tables of a word2vec model: input vectors (word2vec.c's syn0, the embeddings) and output
/// vectors (syn1neg).
public final class EmbeddingModel {
    public let inputVectors: EmbeddingMatrix
    public let outputVectors: EmbeddingMatrix
    public var vocabularySize: Int { inputVectors.rows }
    public var dimension: Int { inputVectors.dimension }
    public var epochsTrained: Int

    /// Wraps existing tables (e.g. to resume training). Shapes must match.
    public init(inputVectors: EmbeddingMatrix, outputVectors: EmbeddingMatrix, epochsTrained: Int = 0) {
        precondition(inputVectors.rows == outputVectors.rows && inputVectors.dimension == outputVectors.dimension,
                     "EmbeddingModel: input and output tables differ in shape")
        self.inputVectors = inputVectors
        self.outputVectors = outputVectors
        self.epochsTrained = epochsTrained
    }

    /// word2vec.c initialisation: input vectors uniform in ±0.5/dimension ((rand − 0.5)/dimension,
    /// drawn from the LCG seeded by `seed`), output vectors zero. `initRange` scales the half-width
    /// (±initRange/dimension; gensim 4 uses 1.0).
    /// Both tables are made `forTraining` (room to spread their rows to whole cache lines).
    public convenience init(vocabularySize: Int, dimension: Int, seed: UInt64, initRange: Float = 0.5) {
        func makeInput() -> EmbeddingMatrix {
            let input = EmbeddingMatrix(rows: vocabularySize, dimension: dimension, forTraining: true)
            var rng = Word2VecRandom(seed: seed, worker: -1)
            let scale = 2 * initRange / Float(dimension)
            input.withUnsafeMutableBufferPointer { p in
                for i in p.indices { p[i] = (rng.unitFloat() - 0.5) * scale }
            }
            return input
        }
        func makeOutput() -> EmbeddingMatrix { EmbeddingMatrix(rows: vocabularySize, dimension: dimension, forTraining: true) }
        // The output table is made (zeroed) on a second thread while the input one is filled
        // (neither throws, so the sequential fallback is never taken).
        let (input, output) = (try? Parallel.both(makeInput, makeOutput)) ?? (makeInput(), makeOutput())
        self.init(inputVectors: input, outputVectors: output)
    }
}

/// The token stream and vocabulary statistics a `Trainer` learns from.
///
/// The token and remap arrays are read in place (from the memory-mapped artifacts, or from a
/// copy of arrays made with `init(tokens:remap:counts:keepProbability:)` on `[UInt32]`).
public struct TrainingCorpus: Sendable {
    /// Token ids into the tokenizer's word table, in corpus order.
    public var tokens: MappedArray<UInt32>
    /// `remap[tokenId]` = vocabulary id, or `UInt32.max` for a word not in the vocabulary (dropped
    /// before windowing, as word2vec.c does).
    public var remap: MappedArray<UInt32>
    /// Occurrence count per vocabulary id (sorted descending by convention).
    public var counts: [UInt64]
    /// Probability of keeping one occurrence of each vocabulary id (subsampling; 1 = always keep).
    public var keepProbability: [Float]

    public var vocabularySize: Int { counts.count }

    public init(tokens: MappedArray<UInt32>, remap: MappedArray<UInt32>,
                counts: [UInt64], keepProbability: [Float]) {
        self.tokens = tokens
        self.remap = remap
        self.counts = counts
        self.keepProbability = keepProbability
    }

    /// A corpus from arrays in memory (copied once).
    public init(tokens: [UInt32], remap: [UInt32], counts: [UInt64], keepProbability: [Float]) {
        self.init(tokens: MappedArray(tokens), remap: MappedArray(remap), counts: counts, keepProbability: keepProbability)
    }
}
