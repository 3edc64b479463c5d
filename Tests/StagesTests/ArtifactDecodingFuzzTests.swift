import Foundation
import Pipeline
import Testing
@testable import Stages

/// Every artifact struct decodes damaged payloads (huge counts, sizes that overflow when
/// multiplied, missing sections, truncation) with an error, never a trap. The payloads carry a
/// valid header and checksum, as a store written by a buggy or older build would.
@Suite("artifact decoding of damaged payloads")
struct ArtifactDecodingFuzzTests {
    let store: ArtifactStore

    init() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("w2v-fuzz-\(UUID().uuidString)")
        store = try ArtifactStore(root: dir)
    }

    /// Writes a payload with `write`, returns its bytes.
    /// The format version each kind is written in here (the newest this build writes).
    func version(_ kind: String) -> UInt16 {
        switch kind {
        case ArtifactKind.tokens: return TokenStream.formatVersion
        case ArtifactKind.text: return CorpusText.formatVersion
        default: return 1
        }
    }

    func payload(kind: String, _ write: (ArtifactWriter) throws -> Void) throws -> [UInt8] {
        let w = try store.makeWriter(kind: kind, formatVersion: version(kind))
        try write(w)
        let record = try store.commit(w)
        return try store.open(record.digest, kind: kind, maxVersion: version(kind)).withPayload { Array($0) }
    }

    func reader(kind: String, bytes: [UInt8], version: UInt16? = nil) throws -> ArtifactReader {
        let v = version ?? self.version(kind)
        let w = try store.makeWriter(kind: kind, formatVersion: v)
        try bytes.withUnsafeBytes { try w.write($0) }
        return try store.open(try store.commit(w).digest, kind: kind, maxVersion: v)
    }

    /// Damaged variants of `bytes`: each of the first 16 words set to values that do not fit,
    /// and every truncation at 8-byte steps.
    func variants(of bytes: [UInt8]) -> [[UInt8]] {
        var out: [[UInt8]] = []
        let words = min(16, bytes.count / 8)
        for i in 0..<words {
            for v: UInt64 in [.max, 1 << 63, 1 << 62, 1 << 40, 1 << 32, 0xFFFF_FFFF, 0] {
                var b = bytes
                withUnsafeBytes(of: v.littleEndian) { for k in 0..<8 { b[i * 8 + k] = $0[k] } }
                out.append(b)
            }
        }
        for n in stride(from: 0, to: bytes.count, by: 8) { out.append(Array(bytes[0..<n])) }
        return out
    }

    func check<A>(_ kind: String, _ bytes: [UInt8], _ decode: (ArtifactReader) throws -> A) throws {
        #expect((try? decode(try reader(kind: kind, bytes: bytes))) != nil, "the undamaged \(kind) payload decodes")
        var refused = 0
        for v in variants(of: bytes) {
            do { _ = try decode(try reader(kind: kind, bytes: v)) } catch { refused += 1 }
        }
        #expect(refused > 0, "some damaged \(kind) payloads are refused")
    }

    @Test func everyArtifactKindRefusesDamageWithoutTrapping() throws {
        let words = ["the", "of", "and"]
        try check(ArtifactKind.vocab, try payload(kind: ArtifactKind.vocab) {
            try Vocabulary.write(to: $0, minCount: 1, maxVocabSize: nil, corpusTokens: 6, words: words, counts: [3, 2, 1], remap: [0, 1, 2])
        }, Vocabulary.init)
        try check(ArtifactKind.tokens, try payload(kind: ArtifactKind.tokens) { w in
            try [UInt32](arrayLiteral: 0, 1, 0, 2).withUnsafeBufferPointer {
                try TokenStream.write(to: w, mode: .text8, words: words, counts: [2, 1, 1], idChunks: [$0])
            }
        }, TokenStream.init)
        try check(ArtifactKind.subsample, try payload(kind: ArtifactKind.subsample) {
            try SubsampleTable.write(to: $0, threshold: 1e-3, expectedKept: 5, coveredTokens: 6, keep: [0.5, 1, 1])
        }, SubsampleTable.init)
        let vectors: [Float] = [1, 2, 3, 4, 5, 6]
        try check(ArtifactKind.embeddings, try payload(kind: ArtifactKind.embeddings) { w in
            try vectors.withUnsafeBufferPointer {
                try EmbeddingTable.write(to: w, words: words, counts: [3, 2, 1], dimension: 2, vectors: $0, provenance: [:])
            }
        }, EmbeddingTable.init)
        let model = EmbeddingModel(vocabularySize: 3, dimension: 2, seed: 1)
        try check(ArtifactKind.model, try payload(kind: ArtifactKind.model) {
            try ModelState.write(to: $0, model: model, configuration: TrainingConfiguration(dimension: 2))
        }, ModelState.init)
        try check(ArtifactKind.cooccur, try payload(kind: ArtifactKind.cooccur) {
            let header = CooccurrenceMatrix.Header(size: 3, window: 2, weighting: .harmonic, subsampled: false, nonZeroCount: 6,
                                                   tokensUsed: 4, totalWeight: 8)
            try CooccurrenceMatrix.write(to: $0, header: header, rowStart: [0, 2, 4, 6], columns: [1, 2, 0, 2, 0, 1],
                                         values: [1.5, 1.5, 1.5, 1, 1.5, 1])
        }, CooccurrenceMatrix.init)
        try check(ArtifactKind.map, try payload(kind: ArtifactKind.map) {
            try WordMap.write(to: $0, words: words, counts: [3, 2, 1], coordinates: [0, 1, 2, 3, 4, 5], description: ["method": .string("pca")])
        }, WordMap.init)
    }

    /// The model artifact keeps its format-1 JSON names (`windowSize`), so models already in
    /// stores read back and their bytes do not change.
    @Test func modelConfigurationKeepsItsStoredNames() throws {
        let config = TrainingConfiguration(dimension: 8, window: 3, threads: 1)
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        let text = String(decoding: try e.encode(config), as: UTF8.self)
        #expect(text.contains("\"windowSize\":3"))
        #expect(!text.contains("\"window\":"))
        #expect(try JSONDecoder().decode(TrainingConfiguration.self, from: Data(text.utf8)) == config)
    }
}
