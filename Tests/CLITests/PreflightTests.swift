import Foundation
import Testing

/// What can be checked before training is checked before any stage runs (exit 2, every problem
/// at once); trials never overwrite each other's exports; the default evaluation sets do not
/// depend on where the experiment file is.
@Suite("checks before a run, export paths in sweeps, built-in evaluation sets")
struct PreflightTests {
    /// A folder of the user's own (not the repo layout): a 20k-word corpus, no data/eval nearby.
    static func userFolder() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("w2v-user-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("exp"), withIntermediateDirectories: true)
        _ = try CLI.python("""
        import zipfile
        words = zipfile.ZipFile('\(CLI.packageRoot.path)/data/en-small.zip').read('text8').decode().split()[:20000]
        with zipfile.ZipFile('\(dir.path)/corpus.zip', 'w', zipfile.ZIP_DEFLATED) as z:
            z.writestr('text8', ' ' + ' '.join(words))
        """)
        return dir
    }

    static func experiment(evaluate: String = "{}", export: String, sweep: Bool = true) -> String {
        """
        {"stages": {
          "corpus": {"type": "unzip", "params": {"path": "../corpus.zip"}},
          "tokens": {"type": "tokenize", "inputs": {"text": "corpus.text"}},
          "vocab": {"type": "build-vocab", "inputs": {"tokens": "tokens.tokens"}, "params": {"min_count": 3}},
          "subsample": {"type": "subsample", "inputs": {"vocab": "vocab.vocab"}},
          "train": {"type": "train", "inputs": {"tokens": "tokens.tokens", "vocab": "vocab.vocab", "subsample": "subsample.subsample"},
                    "params": {"dim": 8, "epochs": 1, "threads": 1}},
          "evaluate": {"type": "evaluate", "inputs": {"embeddings": "train.embeddings"}, "params": \(evaluate)},
          "export": {"type": "export", "inputs": {"embeddings": "train.embeddings"}, "params": \(export)}
        }\(sweep ? #", "sweep": {"variants": [{"name": "sgns", "params": {"train.model": "sgns"}}, {"name": "cbow", "params": {"train.model": "cbow"}}]}"# : "")}
        """
    }

    @Test func everyProblemBeforeAnyStageRuns() throws {
        let dir = try Self.userFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("a-folder"), withIntermediateDirectories: true)
        try Data("x".utf8).write(to: dir.appendingPathComponent("not-a-folder"))
        let text = Self.experiment(evaluate: #"{"analogies": "../missing-questions.txt", "similarity": "../a-folder"}"#,
                                   export: #"{"path": "../not-a-folder/vectors.bin"}"#)
        try text.write(to: dir.appendingPathComponent("exp/e.json"), atomically: true, encoding: .utf8)
        let r = try CLI.run(["run", "exp/e.json", "--store", "store"], cwd: dir)
        #expect(r.status == 2, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stderr.contains("stages.evaluate.params.analogies: input file not found: missing-questions.txt"), "\(r.stderr)")
        #expect(r.stderr.contains("stages.evaluate.params.similarity: a-folder is a folder; this parameter needs a file"), "\(r.stderr)")
        #expect(r.stderr.contains("cannot write not-a-folder/vectors.sgns.bin: not-a-folder is a file, not a folder"), "\(r.stderr)")
        // Nothing ran: no stage produced an object.
        let objects = (try? FileManager.default.subpathsOfDirectory(atPath: dir.appendingPathComponent("store/objects").path)) ?? []
        #expect(objects.filter { !$0.hasSuffix("/") && $0.count > 2 }.isEmpty, "\(objects)")
    }

    @Test func trialsWriteTheirOwnExportsAndTwoWritersOfOnePathAreRefused() throws {
        let dir = try Self.userFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        // No placeholder: each trial's name goes before the extension.
        try Self.experiment(export: #"{"path": "../out/vectors.bin"}"#).write(to: dir.appendingPathComponent("exp/a.json"), atomically: true, encoding: .utf8)
        let a = try CLI.run(["run", "exp/a.json", "--store", "store", "-q"], cwd: dir)
        #expect(a.status == 0, "\(a.stdout)\n\(a.stderr)")
        let sgns = try Data(contentsOf: dir.appendingPathComponent("out/vectors.sgns.bin"))
        let cbow = try Data(contentsOf: dir.appendingPathComponent("out/vectors.cbow.bin"))
        #expect(sgns != cbow)
        // A placeholder puts the name where the user wants it.
        try Self.experiment(export: #"{"path": "../out/{trial}/v.txt", "format": "word2vec-text"}"#).write(to: dir.appendingPathComponent("exp/b.json"), atomically: true, encoding: .utf8)
        #expect(try CLI.run(["run", "exp/b.json", "--store", "store", "-q"], cwd: dir).status == 0)
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("out/sgns/v.txt").path))
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("out/cbow/v.txt").path))
        // Two stages writing one path: refused before anything runs.
        let two = Self.experiment(export: #"{"path": "../out/same.bin"}"#, sweep: false)
            .replacingOccurrences(of: #""export": {"#, with: #""export2": {"type": "export", "inputs": {"embeddings": "train.embeddings"}, "params": {"path": "../out/same.bin"}}, "export": {"#)
        try two.write(to: dir.appendingPathComponent("exp/c.json"), atomically: true, encoding: .utf8)
        let c = try CLI.run(["run", "exp/c.json", "--store", "store"], cwd: dir)
        #expect(c.status == 2)
        #expect(c.stderr.contains("stage `export` and stage `export2` would all write out/same.bin"), "\(c.stderr)")
    }

    @Test func defaultEvaluationSetsDoNotDependOnWhereTheExperimentIs() throws {
        let dir = try Self.userFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.experiment(export: #"{"path": "../v.bin"}"#, sweep: false).write(to: dir.appendingPathComponent("exp/e.json"), atomically: true, encoding: .utf8)
        let r = try CLI.run(["run", "exp/e.json", "--store", "store", "--progress", "none"], cwd: dir)
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("WordSim ρ"), "\(r.stdout)")
        // `evaluate --vectors` from a folder with no data/ at all.
        let elsewhere = try CLI.run(["evaluate", "--vectors", dir.appendingPathComponent("v.bin").path, "--json"], cwd: FileManager.default.temporaryDirectory)
        #expect(elsewhere.status == 0, "\(elsewhere.stderr)")
        #expect(elsewhere.stdout.contains("\"spearman\""), "\(elsewhere.stdout.prefix(400))")
    }
}
