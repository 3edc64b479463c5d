import Foundation
import Pipeline
import Testing

@Suite("w2v-pipe run / status end to end", .serialized)
struct RunCommandTests {
    @Test func quickstartCountsMatchAnIndependentCount() throws {
        let project = try CLI.makeProject()
        defer { try? FileManager.default.removeItem(at: project) }
        let r = try CLI.run(["run", "experiments/data-only.json"], cwd: project)
        #expect(r.status == 0, "\(r.stderr)")
        // Independent count with Python's zipfile and str.split.
        let expected = try CLI.python("""
        import zipfile, collections
        words = zipfile.ZipFile('\(project.path)/data/en-small.zip').read('text8').decode().split()
        c = collections.Counter(words)
        kept = [w for w, n in c.items() if n >= 5]
        print(len(words), len(c), len(kept), sum(c[w] for w in kept))
        """).split(separator: " ").map(String.init)
        #expect(expected.count == 4)
        func grouped(_ s: String) -> String {
            let n = Int(s)!
            let f = NumberFormatter(); f.numberStyle = .decimal; f.groupingSeparator = ","; f.usesGroupingSeparator = true
            return f.string(from: NSNumber(value: n))!
        }
        #expect(r.stdout.contains("\(grouped(expected[0])) tokens, \(grouped(expected[1])) distinct words"))
        #expect(r.stdout.contains("\(grouped(expected[2])) words with count ≥ 5"))
        #expect(r.stdout.contains("covering \(grouped(expected[3])) tokens"))
        #expect(r.stdout.contains("4 stages: 4 ran"))

        let again = try CLI.run(["run", "experiments/data-only.json"], cwd: project)
        #expect(again.status == 0)
        #expect(again.stdout.contains("nothing to do: all 4 stages up to date"))
        #expect(!again.stdout.contains("ran in"))
    }

    @Test func statusExplainsAParameterChange() throws {
        let project = try CLI.makeProject()
        defer { try? FileManager.default.removeItem(at: project) }
        #expect(try CLI.run(["run", "experiments/data-only.json", "-q"], cwd: project).status == 0)
        let path = project.appendingPathComponent("experiments/data-only.json")
        let text = try String(contentsOf: path, encoding: .utf8).replacingOccurrences(of: "\"min_count\": 5", with: "\"min_count\": 10")
        try text.write(to: path, atomically: true, encoding: .utf8)
        let s = try CLI.run(["status", "experiments/data-only.json"], cwd: project)
        #expect(s.stdout.contains("parameter `min_count` 5 → 10"))
        #expect(s.stdout.contains("corpus     unzip        fresh"))
        let dry = try CLI.run(["run", "experiments/data-only.json", "--dry-run"], cwd: project)
        #expect(dry.stdout.contains("run  : parameter `min_count` 5 → 10"))
        #expect(try CLI.digests(project)["vocab.vocab"] == nil) // dry run ran nothing
        let r = try CLI.run(["run", "experiments/data-only.json"], cwd: project)
        #expect(r.stdout.contains("2 ran, 2 reused"))
    }

    @Test func invalidExperimentExitsWith2AndNamesThePath() throws {
        let project = try CLI.makeProject()
        defer { try? FileManager.default.removeItem(at: project) }
        let bad = #"{"stages": {"v": {"type": "build-vocab", "params": {"min_cout": 5}, "inputs": {"tokens": "t.tokens"}}}}"#
        try bad.write(to: project.appendingPathComponent("experiments/bad.json"), atomically: true, encoding: .utf8)
        let r = try CLI.run(["run", "experiments/bad.json"], cwd: project)
        #expect(r.status == 2)
        #expect(r.stderr.contains("experiments/bad.json: stages.v.params.min_cout: unknown parameter of stage type `build-vocab`; did you mean `min_count`?"))
        #expect(r.stderr.contains("stages.v.inputs.tokens: refers to stage `t`, which does not exist"))
    }

    /// `null` for a parameter that does not document it: exit 2 at validation with the path,
    /// for every parameter of the quickstart (was a trap at run time, lock file left behind).
    @Test func nullParametersExit2BeforeAnythingRuns() throws {
        let project = try CLI.makeProject()
        defer { try? FileManager.default.removeItem(at: project) }
        let original = try String(contentsOf: project.appendingPathComponent("experiments/quickstart.json"), encoding: .utf8)
        for (stage, param, expected) in [("train", "dim", "expected an integer in 1…4096, got null"),
                                         ("train", "model", "expected one of \"sgns\", \"cbow\", got null"),
                                         ("corpus", "path", "expected a file path (relative to the experiment file), got null"),
                                         ("export", "path", "expected a destination path (relative to the experiment file), got null"),
                                         ("vocab", "min_count", "expected a positive integer, got null")] {
            guard case .object(var top) = try JSONValue.parse(Data(original.utf8)),
                  case .object(var stages)? = top["stages"], case .object(var body)? = stages[stage] else {
                Issue.record("quickstart.json changed shape"); return
            }
            var params = body["params"]?.objectValue ?? [:]
            params[param] = .null
            body["params"] = .object(params)
            stages[stage] = .object(body)
            top["stages"] = .object(stages)
            try JSONValue.object(top).canonicalText.write(to: project.appendingPathComponent("experiments/null.json"), atomically: true, encoding: .utf8)
            let r = try CLI.run(["run", "experiments/null.json"], cwd: project)
            #expect(r.status == 2, "\(stage).\(param): \(r.stderr)")
            #expect(r.stderr.contains("stages.\(stage).params.\(param): \(expected)"), "\(r.stderr)")
            #expect(!r.stderr.contains("Fatal error"))
        }
        let locks = (try? FileManager.default.contentsOfDirectory(atPath: project.appendingPathComponent("artifacts/locks").path)) ?? []
        #expect(locks.isEmpty)
    }

    @Test func baselineWithoutText8SaysWhereToGetIt() throws {
        let project = try CLI.makeProject()
        defer { try? FileManager.default.removeItem(at: project) }
        let r = try CLI.run(["run", "experiments/baseline.json"], cwd: project)
        #expect(r.status == 2) // found before any stage runs
        #expect(r.stderr.contains("mattmahoney.net/dc/text8.zip"))
        #expect(r.stderr.contains("31,344,016 bytes"))
        #expect(r.stderr.contains("experiments/quickstart.json"))
        #expect(r.stderr.contains("w2v-pipe fetch experiments/baseline.json"))
    }

    @Test func killedMidStageThenRerunGivesTheSameDigests() throws {
        let project = try CLI.makeProject()
        defer { try? FileManager.default.removeItem(at: project) }
        // Reference digests from an undisturbed run in its own store.
        #expect(try CLI.run(["run", "experiments/data-only.json", "-q", "--store", "clean"], cwd: project).status == 0)
        let reference = try CLI.digests(project, store: "clean")
        #expect(reference.count == 4)
        // Kill runs at several moments, then finish.
        for delay in [20_000, 80_000, 150_000, 250_000, 400_000] as [useconds_t] {
            let (p, _, _) = try CLI.start(["run", "experiments/data-only.json", "-q"], cwd: project)
            usleep(delay)
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
        }
        let r = try CLI.run(["run", "experiments/data-only.json"], cwd: project)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try CLI.digests(project) == reference)
        // No temporary files left once the dead processes are cleaned up.
        let tmp = try FileManager.default.contentsOfDirectory(atPath: project.appendingPathComponent("artifacts/tmp").path)
        #expect(tmp.isEmpty)
    }

    @Test func twoConcurrentRunsComputeEachStageOnce() throws {
        let project = try CLI.makeProject()
        defer { try? FileManager.default.removeItem(at: project) }
        let a = try CLI.start(["run", "experiments/data-only.json"], cwd: project)
        let b = try CLI.start(["run", "experiments/data-only.json"], cwd: project)
        let outA = String(decoding: a.1.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let outB = String(decoding: b.1.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        a.0.waitUntilExit(); b.0.waitUntilExit()
        #expect(a.0.terminationStatus == 0)
        #expect(b.0.terminationStatus == 0)
        for stage in ["corpus", "tokens", "vocab", "subsample"] {
            let ranA = outA.contains("  \(stage) ") && outA.split(separator: "\n").contains { $0.hasPrefix("  \(stage) ") && $0.contains("ran in") }
            let ranB = outB.split(separator: "\n").contains { $0.hasPrefix("  \(stage) ") && $0.contains("ran in") }
            #expect(ranA != ranB, "stage \(stage) must run in exactly one process\nA:\n\(outA)\nB:\n\(outB)")
        }
    }

    @Test func helpTeaches() throws {
        let r = try CLI.run(["--help"], cwd: CLI.packageRoot)
        #expect(r.stdout.contains("w2v-pipe run experiments/quickstart.json"))
        #expect(r.stdout.contains("Exit codes"))
        let stages = try CLI.run(["stages", "build-vocab"], cwd: CLI.packageRoot)
        #expect(stages.stdout.contains("min_count: default 5"))
    }
}
