import CLibzip
import Crypto
import Foundation
import Pipeline
import Testing
@testable import Stages

/// The four data stages through the real engine on a small zip made in the test.
@Suite("data stages through the engine", .serialized)
struct DataStagesTests {
    let dir: URL
    let store: ArtifactStore

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("w2v-stages-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        store = try ArtifactStore(root: dir.appendingPathComponent("store"))
        // "b" and "c" tie at 2; "a" 4 times; "z" once.
        let text = " a b c a z b a c a"
        try ZipFixtures.make(at: dir.appendingPathComponent("tiny.zip").path, [.init(name: "text8", content: Array(text.utf8))])
    }

    func experiment(minCount: Int = 2, t: Double = 0.1, maxSize: String = "null") throws -> Experiment {
        let json = """
        {"name": "tiny", "stages": {
          "corpus": {"type": "unzip", "params": {"path": "tiny.zip"}},
          "tokens": {"type": "tokenize", "inputs": {"text": "corpus.text"}},
          "vocab": {"type": "build-vocab", "inputs": {"tokens": "tokens.tokens"}, "params": {"min_count": \(minCount), "max_vocab_size": \(maxSize)}},
          "subsample": {"type": "subsample", "inputs": {"vocab": "vocab.vocab"}, "params": {"t": \(t)}}
        }}
        """
        let url = dir.appendingPathComponent("tiny.json")
        try json.write(to: url, atomically: true, encoding: .utf8)
        return try ExperimentLoader.load(url, registry: Word2VecStages.registry)
    }

    func run(_ e: Experiment) throws -> [String: Engine.Outcome] { try runQuietly(e, store: store) }

    @Test func vocabularyIsSortedWithDeterministicTies() throws {
        let results = try run(try experiment())
        let vocab = try Vocabulary(try store.open(results["vocab"]!.record.outputs["vocab"]!.digest, kind: "vocab", maxVersion: 1))
        #expect(vocab.words.strings() == ["a", "b", "c"])
        #expect(Array(vocab.counts) == [4, 2, 2])
        #expect(vocab.corpusTokens == 9)
        #expect(vocab.coveredTokens == 8)
        // Tokenizer ids are first-seen: a b c z → vocab ids 0 1 2, z dropped.
        #expect(Array(vocab.remap) == [0, 1, 2, Vocabulary.dropped])
        let tokens = try TokenStream(try store.open(results["tokens"]!.record.outputs["tokens"]!.digest, kind: "tokens", maxVersion: TokenStream.formatVersion))
        #expect(Array(tokens.ids) == [0, 1, 2, 0, 3, 1, 0, 2, 0])
    }

    @Test func changingMinCountRerunsVocabAndSubsampleOnly() throws {
        _ = try run(try experiment(minCount: 2))
        #expect(stagesThatRan(try run(try experiment(minCount: 2))).isEmpty)
        #expect(stagesThatRan(try run(try experiment(minCount: 3))) == ["vocab", "subsample"])
        #expect(stagesThatRan(try run(try experiment(minCount: 3, t: 0.2))) == ["subsample"])
        #expect(stagesThatRan(try run(try experiment(minCount: 3, t: 0.2, maxSize: "1"))) == ["vocab", "subsample"])
    }

    @Test func emptyVocabularyNamesTheCount() throws {
        do {
            _ = try run(try experiment(minCount: 50))
            Issue.record("expected an error")
        } catch let e as StageFailure {
            #expect(e.description.contains("min_count = 50"))
            #expect(e.description.contains("occurs 4 times"))
        }
    }

    /// Pins the byte layout of the tokens, vocab and subsample payloads.
    @Test func goldenPayloadBytes() throws {
        let results = try run(try experiment(minCount: 2, t: 0.1))
        func payload(_ stage: String, _ output: String) throws -> [UInt8] {
            let r = try ArtifactReader(path: store.objectPath(results[stage]!.record.outputs[output]!.digest))
            return r.withPayload { Array($0) }
        }
        func u64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        func u32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        func strings(_ s: [String]) -> [UInt8] {
            var out = u64(UInt64(s.count))
            var off: UInt64 = 0
            out += u64(0)
            for w in s { off += UInt64(w.utf8.count); out += u64(off) }
            for w in s { out += Array(w.utf8) }
            while out.count % 8 != 0 { out.append(0) }
            return out
        }
        // Format 2: ids first (written as they stream), then counts, words, and the trailer
        // (ids, tokens, sentences, words, mode, flags, pruned words, pruned tokens).
        var tokens = [0, 1, 2, 0, 3, 1, 0, 2, 0].flatMap { u32($0) }
        while tokens.count % 8 != 0 { tokens.append(0) }
        tokens += [4, 2, 2, 1].flatMap { u64($0) } + strings(["a", "b", "c", "z"])
        tokens += [9, 9, 0, 4, 0, 0, 0, 0].flatMap { u64($0) }
        #expect(try payload("tokens", "tokens") == tokens)

        var vocab = u64(3) + u64(2) + u64(0) + u64(9) + u64(8) + u64(4) + [4, 2, 2].flatMap { u64($0) } + strings(["a", "b", "c"])
        vocab += [0, 1, 2, UInt32.max].flatMap { u32($0) }
        #expect(try payload("vocab", "vocab") == vocab)

        let sub = try payload("subsample", "subsample")
        #expect(Array(sub[0..<8]) == u64(3))
        #expect(Array(sub[8..<16]) == u64((0.1).bitPattern))
        #expect(sub.count == 32 + 3 * 4 + 4)
        // The text artifact refers to the member in place: archive, name, size and CRC.
        let text = try JSONDecoder().decode(TextManifest.self, from: Data(try payload("corpus", "text")))
        #expect(text.sources.count == 1)
        #expect(text.sources.first?.kind == .zipMember)
        #expect(text.sources.first?.member == "text8")
        #expect(text.sources.first?.bytes == 18)
        #expect(text.sources.first?.path == dir.appendingPathComponent("tiny.zip").standardizedFileURL.path)
        #expect(text.sources.first?.crc32 == crc32Of(Array(" a b c a z b a c a".utf8)))
    }

    func crc32Of(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, UInt32($0.count))) }
    }
}
