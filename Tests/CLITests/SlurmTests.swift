import Foundation
import Testing

/// Against a real Slurm (CI starts one with ../shared/tools/slurm-localhost.sh). Skipped when
/// no cluster answers, unless W2V_PIPE_SLURM_TESTS=1 demands it.
@Suite("Slurm executor", .serialized)
struct SlurmTests {
    static let clusterUp: Bool = {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["sinfo", "-h"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }()
    static let required = ProcessInfo.processInfo.environment["W2V_PIPE_SLURM_TESTS"] == "1"

    func makeSweep(_ dir: URL, epochs: Int, seed: Int) throws {
        _ = try CLI.python("""
        import json, zipfile, os
        words = zipfile.ZipFile('\(CLI.packageRoot.path)/data/en-small.zip').read('text8').decode().split()[:200000]
        if not os.path.exists('\(dir.path)/slice.zip'):
            with zipfile.ZipFile('\(dir.path)/slice.zip', 'w', zipfile.ZIP_DEFLATED) as z:
                z.writestr('text8', ' ' + ' '.join(words))
        d = {"name": "slurm-sweep", "stages": {
          "corpus": {"type": "unzip", "params": {"path": "slice.zip"}},
          "tokens": {"type": "tokenize", "inputs": {"text": "corpus.text"}},
          "vocab": {"type": "build-vocab", "inputs": {"tokens": "tokens.tokens"}, "params": {"min_count": 3}},
          "subsample": {"type": "subsample", "inputs": {"vocab": "vocab.vocab"}},
          "train": {"type": "train", "inputs": {"tokens": "tokens.tokens", "vocab": "vocab.vocab", "subsample": "subsample.subsample"},
                    "params": {"dim": 32, "epochs": \(epochs), "threads": 1, "seed": \(seed)}}},
          "sweep": {"grid": {"train.window": [2, 3, 5]}}}
        json.dump(d, open('\(dir.path)/sweep.json', 'w'))
        """)
    }

    func trialDigests(_ dir: URL, store: String) throws -> [[String: String]] {
        try (0..<3).map { try CLI.digestsOfTrial(dir, "sweep.json", trial: $0, store: store) }
    }

    @Test(.enabled(if: clusterUp || required, "no Slurm cluster (CI starts one)"))
    func sweepOnSlurmMatchesLocalAndSurvivesAKilledTask() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("w2v-slurm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }

        // 1. The same deterministic sweep, locally and on the cluster.
        try makeSweep(dir, epochs: 2, seed: 5)
        #expect(try CLI.run(["run", "sweep.json", "--jobs", "1", "--store", "local", "-q"], cwd: dir).status == 0)
        let slurm = try CLI.run(["run", "sweep.json", "--executor", "slurm", "--wait", "--max-parallel", "2", "--store", "cluster"], cwd: dir)
        #expect(slurm.status == 0, "\(slurm.stdout)\n\(slurm.stderr)")
        #expect(slurm.stdout.contains("all 3 trial(s) done"))
        let local = try trialDigests(dir, store: "local")
        #expect(local.allSatisfy { $0.count == 6 }) // text, tokens, vocab, subsample, model, embeddings
        #expect(try trialDigests(dir, store: "cluster") == local)

        // 2. Longer trials, one at a time; cancel a running task: it is reported, and a
        //    resubmission completes it with the same digests as a local run.
        try makeSweep(dir, epochs: 60, seed: 9)
        let (p, out, _) = try CLI.start(["run", "sweep.json", "--executor", "slurm", "--wait", "--max-parallel", "1", "--store", "cluster"], cwd: dir)
        var killed: String?
        let deadline = Date().addingTimeInterval(120)
        while killed == nil && Date() < deadline {
            let q = try CLI.command("squeue", ["-h", "-o", "%i %T %j"])
            if let line = q.split(separator: "\n").first(where: { $0.contains("_") && $0.contains("RUNNING") && $0.contains("w2v-slurm-sweep") }) {
                let id = String(line.split(separator: " ")[0])
                // Cancel once the task is training (a release build trains one of these trials in
                // a few seconds, so a fixed delay may find it finished).
                let parts = id.split(separator: "_")
                let log = dir.appendingPathComponent("cluster/logs/slurm-sweep-trial-\(parts.last ?? "")-\(parts.first ?? "").out")
                let trainingBy = Date().addingTimeInterval(10)
                while Date() < trainingBy {
                    if let text = try? String(contentsOf: log, encoding: .utf8), text.contains("train") && text.contains("running") { break }
                    usleep(50_000)
                }
                _ = try CLI.command("scancel", [id])
                killed = id
            }
            usleep(200_000)
        }
        #expect(killed != nil, "no running array task to cancel")
        let firstOutput = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 1, "\(firstOutput)")
        let taskIndex = killed.flatMap { $0.split(separator: "_").last }.map(String.init) ?? "?"
        #expect(firstOutput.contains("trial \(taskIndex) ("), "\(firstOutput)")
        #expect(firstOutput.contains("FAILED or did not run: log "))
        // Nothing half-written: no temporary files of the killed task survive the next run.
        let again = try CLI.run(["run", "sweep.json", "--executor", "slurm", "--wait", "--max-parallel", "2", "--store", "cluster"], cwd: dir)
        #expect(again.status == 0, "\(again.stdout)\n\(again.stderr)")
        #expect(try CLI.run(["run", "sweep.json", "--jobs", "1", "--store", "local", "-q"], cwd: dir).status == 0)
        #expect(try trialDigests(dir, store: "cluster") == (try trialDigests(dir, store: "local")))
    }
}
