import Foundation
import Pipeline
import Testing
@testable import Stages

/// The train, evaluate and export stages through the engine, on a slice of the shipped sample.
@Suite("train / evaluate / export stages", .serialized)
struct TrainStageTests {
    let dir: URL

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("w2v-train-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        // The first ~150k tokens of the shipped sample, as a zip (for the quality check), and its
        // first ~40k tokens (for the mechanics: in a debug build training runs ~10k words/s).
        let archive = try ZipArchive(path: CLIPaths.repoRoot + "/data/en-small.zip")
        var text: [UInt8] = []
        try archive.read(try archive.select("text8")) { chunk in
            if text.count < 900_000 { text += chunk }
        }
        while let last = text.last, last != 0x20 { text.removeLast() }
        try ZipFixtures.make(at: dir.appendingPathComponent("quality.zip").path, [.init(name: "text8", content: text)])
        var small = Array(text.prefix(240_000))
        while let last = small.last, last != 0x20 { small.removeLast() }
        try ZipFixtures.make(at: dir.appendingPathComponent("slice.zip").path, [.init(name: "text8", content: small)])
        // The first 20 questions of each analogy section: the stage's path through every section
        // without the full set's cost in a debug build (the full set is scored in CLI and bench runs).
        var mini: [String] = []
        var inSection = 0
        for line in try String(contentsOfFile: CLIPaths.repoRoot + "/data/eval/questions-words.txt", encoding: .utf8).split(separator: "\n") {
            if line.hasPrefix(":") { mini.append(String(line)); inSection = 0; continue }
            if inSection < 20 { mini.append(String(line)); inSection += 1 }
        }
        try (mini.joined(separator: "\n") + "\n").write(to: dir.appendingPathComponent("mini-questions.txt"), atomically: true, encoding: .utf8)
    }

    func experiment(threads: Int = 1, seed: Int = 7, model: String = "sgns", epochs: Int = 2, export: String = "word2vec-text",
                    corpus: String = "slice.zip") throws -> Experiment {
        let json = """
        {"name": "slice", "stages": {
          "corpus": {"type": "unzip", "params": {"path": "\(corpus)"}},
          "tokens": {"type": "tokenize", "inputs": {"text": "corpus.text"}},
          "vocab": {"type": "build-vocab", "inputs": {"tokens": "tokens.tokens"}, "params": {"min_count": 5}},
          "subsample": {"type": "subsample", "inputs": {"vocab": "vocab.vocab"}, "params": {"t": 1e-3}},
          "train": {"type": "train", "inputs": {"tokens": "tokens.tokens", "vocab": "vocab.vocab", "subsample": "subsample.subsample"},
                    "params": {"model": "\(model)", "dim": 32, "epochs": \(epochs), "threads": \(threads), "seed": \(seed)}},
          "evaluate": {"type": "evaluate", "inputs": {"embeddings": "train.embeddings"},
                       "params": {"analogies": "mini-questions.txt", "similarity": "\(CLIPaths.repoRoot)/data/eval/wordsim353.tsv"}},
          "export": {"type": "export", "inputs": {"embeddings": "train.embeddings"}, "params": {"format": "\(export)", "path": "out/vectors"}}
        }}
        """
        let url = dir.appendingPathComponent("slice.json")
        try json.write(to: url, atomically: true, encoding: .utf8)
        return try ExperimentLoader.load(url, registry: Word2VecStages.registry)
    }

    func run(_ e: Experiment, store: String, cancellation: CancellationToken = CancellationToken()) throws -> [String: RunRecord] {
        let engine = Engine(store: try ArtifactStore(root: dir.appendingPathComponent(store)))
        engine.progressMode = .quiet
        engine.cancellation = cancellation
        var out: [String: RunRecord] = [:]
        for (stage, outcome) in try engine.run(e) {
            switch outcome { case .ran(let r), .reused(let r, _): out[stage.id] = r }
        }
        return out
    }

    @Test func oneThreadAndASeedGiveIdenticalArtifacts() throws {
        let a = try run(try experiment(epochs: 1), store: "s1")
        let b = try run(try experiment(epochs: 1), store: "s2")
        #expect(a["train"]!.outputs == b["train"]!.outputs)
        #expect(a["evaluate"]!.outputs == b["evaluate"]!.outputs)
        #expect(a["export"]!.outputs == b["export"]!.outputs)
        let c = try run(try experiment(seed: 8, epochs: 1), store: "s3")
        #expect(c["train"]!.outputs["embeddings"]!.digest != a["train"]!.outputs["embeddings"]!.digest)
        // Same data artifacts whatever the seed.
        #expect(c["vocab"]!.outputs == a["vocab"]!.outputs)
    }

    @Test func trainingLowersTheLossAndRecordsTheCurve() throws {
        for model in ["sgns", "cbow"] {
            let r = try run(try experiment(threads: 2, model: model, epochs: 3), store: "loss-\(model)")
            guard case .array(let curve)? = r["train"]!.metrics["loss_curve"] else { Issue.record("no loss curve"); continue }
            #expect(curve.count >= 20)
            func y(_ p: JSONValue) -> Double { if case .array(let xy) = p { return xy[1].doubleValue ?? .nan }; return .nan }
            let first = curve.prefix(5).map(y).reduce(0, +) / 5
            let last = curve.suffix(5).map(y).reduce(0, +) / 5
            #expect(last < first, "\(model): loss \(first) → \(last)")
            #expect((r["train"]!.metrics["words_per_second"]?.doubleValue ?? 0) > 0)
        }
    }

    @Test func artifactsRoundTripAndExportLoadsBack() throws {
        let e = try experiment()
        let r = try run(e, store: "rt")
        let store = try ArtifactStore(root: dir.appendingPathComponent("rt"))
        let model = try ModelState(try store.open(r["train"]!.outputs["model"]!.digest, kind: "model", maxVersion: 1))
        let table = try EmbeddingTable(try store.open(r["train"]!.outputs["embeddings"]!.digest, kind: "embeddings", maxVersion: 1))
        let vocab = try Vocabulary(try store.open(r["vocab"]!.outputs["vocab"]!.digest, kind: "vocab", maxVersion: 1))
        #expect(model.vocabularySize == vocab.size)
        #expect(model.dimension == 32)
        #expect(model.epochsTrained == 2)
        #expect(Array(model.inputVectors) == Array(table.vectors))
        #expect(model.outputVectors.contains { $0 != 0 })
        #expect(table.words.strings() == vocab.words.strings())
        #expect(table.provenance["model"] == .string("sgns"))
        // The exported text file loads back with the same words and vectors (within printing precision).
        let exported = try Word2VecFormat.read(dir.appendingPathComponent("out/vectors").path)
        #expect(exported.words == table.words.strings())
        let maxDiff = zip(exported.vectors, Array(table.vectors)).map { abs($0 - $1) }.max() ?? 1
        #expect(maxDiff < 1e-5)
        // The report is in the store and readable.
        let report = try EvaluateStage.readReport(try store.open(r["evaluate"]!.outputs["report"]!.digest, kind: "report", maxVersion: 1))
        #expect(report.vocabularySize == vocab.size)
        #expect(report.analogy != nil && report.similarity != nil)
        // Deleting the exported file: a rerun restores it without retraining.
        try FileManager.default.removeItem(at: dir.appendingPathComponent("out/vectors"))
        let again = try run(e, store: "rt")
        #expect(again["train"]!.key == r["train"]!.key)
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("out/vectors").path))
    }

    @Test func wordsThatShareContextsAreCloserThanRandomPairs() throws {
        let r = try run(try experiment(threads: 2, epochs: 5, corpus: "quality.zip"), store: "quality")
        let store = try ArtifactStore(root: dir.appendingPathComponent("quality"))
        let vectors = try EmbeddingTable(try store.open(r["train"]!.outputs["embeddings"]!.digest, kind: "embeddings", maxVersion: 1)).wordVectors().normalized()
        // Number words share contexts; so do days of the week when present.
        let numbers = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"].filter { vectors.index[$0] != nil }
        #expect(numbers.count >= 6)
        // Chance of another number word among a word's 50 nearest neighbours is about
        // 50 × 8 / vocabulary size (≈ 0.1 here); trained vectors put several there.
        var hits = 0
        for w in numbers {
            let near = Set(try vectors.nearest(to: w, k: 50).map(\.word))
            hits += numbers.filter { $0 != w && near.contains($0) }.count
        }
        let perWord = Double(hits) / Double(numbers.count)
        let chance = 50.0 * Double(numbers.count - 1) / Double(vectors.count)
        #expect(perWord > 10 * chance && perWord >= 3, "number words among each other's 50 neighbours: \(perWord) (chance \(chance))")
    }

    @Test func trainMoreContinuesFromTheModelArtifact() throws {
        let json = """
        {"name": "more", "stages": {
          "corpus": {"type": "unzip", "params": {"path": "slice.zip"}},
          "tokens": {"type": "tokenize", "inputs": {"text": "corpus.text"}},
          "vocab": {"type": "build-vocab", "inputs": {"tokens": "tokens.tokens"}},
          "subsample": {"type": "subsample", "inputs": {"vocab": "vocab.vocab"}},
          "train": {"type": "train", "inputs": {"tokens": "tokens.tokens", "vocab": "vocab.vocab", "subsample": "subsample.subsample"},
                    "params": {"dim": 16, "epochs": 1, "threads": 1, "seed": 4}},
          "more": {"type": "train-more", "inputs": {"model": "train.model", "tokens": "tokens.tokens", "vocab": "vocab.vocab", "subsample": "subsample.subsample"},
                   "params": {"epochs": 2, "threads": 1}}
        }}
        """
        let url = dir.appendingPathComponent("more.json")
        try json.write(to: url, atomically: true, encoding: .utf8)
        let e = try ExperimentLoader.load(url, registry: Word2VecStages.registry)
        let r = try run(e, store: "more")
        #expect(r["more"]!.metrics["epochs_trained"] == .integer(3))
        let store = try ArtifactStore(root: dir.appendingPathComponent("more"))
        let first = try ModelState(try store.open(r["train"]!.outputs["model"]!.digest, kind: "model", maxVersion: 1))
        let later = try ModelState(try store.open(r["more"]!.outputs["model"]!.digest, kind: "model", maxVersion: 1))
        #expect(later.epochsTrained == 3)
        #expect(later.configurationJSON.contains("\"dimension\":16"))
        #expect(Array(later.inputVectors) != Array(first.inputVectors))
        // Deterministic with one thread.
        let again = try run(e, store: "more-again")
        #expect(again["more"]!.outputs == r["more"]!.outputs)
    }

    @Test func cancellationLeavesNoArtifact() throws {
        // The engine's own token: other suites running at the same time are not affected.
        let token = CancellationToken()
        token.cancel()
        #expect(throws: CancelledError.self) { try run(try experiment(), store: "cancel", cancellation: token) }
        let tmp = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("cancel/tmp").path)
        #expect(tmp.isEmpty)
    }
}
