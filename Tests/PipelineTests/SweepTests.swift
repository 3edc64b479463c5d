import Foundation
import Testing
@testable import Pipeline

@Suite("Sweeps: expansion, sharing, failures, parallel trials", .serialized)
struct SweepTests {
    /// a (source value) → b (scale factor) → c (scale factor): a grid over a.value × c.factor.
    func sweepJSON(name: String, values: [Int], factors: [Int], extra: String = "") -> String {
        """
        {"name": "\(name)", "stages": {
          "a": {"type": "source", "params": {"value": 1}},
          "b": {"type": "scale", "inputs": {"number": "a.number"}, "params": {"factor": 2}},
          "c": {"type": "scale", "inputs": {"number": "b.number"}, "params": {"factor": 3}}
        },
        "sweep": {"grid": {"a.value": \(values), "c.factor": \(factors)}\(extra)}}
        """
    }

    func runner(_ s: Sandbox, jobs: Int = 1, failFast: Bool = false) -> SweepRunner {
        SweepRunner(store: s.store, jobs: jobs, failFast: failFast) { _ in s.engine() }
    }

    @Test func gridExpandsToTheCartesianProductWithStableNames() throws {
        let s = try Sandbox()
        let e = try s.load("sweep.json", sweepJSON(name: "grid", values: [1, 2], factors: [3, 4, 5]))
        #expect(e.trials.count == 6)
        #expect(e.trials[0].name == "grid@a.value=1,c.factor=3")
        #expect(e.trials[5].name == "grid@a.value=2,c.factor=5")
        #expect(e.trials[4].label == "value=2 factor=4")
        #expect(e.trials[4].experiment.stage("c")!.parameters(as: ScaleStage.Parameters.self)?.factor == 4)
        #expect(e.trials[4].experiment.stage("a")!.parameters(as: SourceStage.Parameters.self)?.value == 2)
    }

    @Test func trialsShareEveryStageWhoseKeyTheyShare() throws {
        let s = try Sandbox()
        let e = try s.load("sweep.json", sweepJSON(name: "share", values: [1, 2], factors: [3, 4, 5]))
        let plan = s.engine().plan(trials: e.trials)
        // a: 2 values, b: 2 (follows a), c: 2 × 3 = 6 → 10 distinct executions.
        #expect(plan.uniqueStages == 10)
        #expect(plan.uniqueToRun == 10)
        let outcomes = runner(s).run(e.trials)
        #expect(outcomes.allSatisfy { $0.error == nil })
        var ran = 0
        for o in outcomes { ran += o.results!.filter { if case .ran = $0.1 { return true }; return false }.count }
        #expect(ran == 10)
        #expect(s.engine().plan(trials: e.trials).uniqueToRun == 0)
    }

    @Test func extendingTheGridRunsOnlyTheNewTrials() throws {
        let s = try Sandbox()
        _ = runner(s).run(try s.load("sweep.json", sweepJSON(name: "extend", values: [1], factors: [3, 4])).trials)
        let bigger = try s.load("sweep.json", sweepJSON(name: "extend", values: [1], factors: [3, 4, 6]))
        let plan = s.engine().plan(trials: bigger.trials)
        #expect(plan.uniqueToRun == 1)
        let outcomes = runner(s).run(bigger.trials)
        let ranPerTrial = outcomes.map { $0.results!.filter { if case .ran = $0.1 { return true }; return false }.count }
        #expect(ranPerTrial == [0, 0, 1])
    }

    @Test func aFailingTrialIsReportedWhileTheOthersFinish() throws {
        let s = try Sandbox()
        // Variant "bad" swaps c for a failing stage type by pointing it at a parameter
        // value out of range; that is caught at load time, so fail at run time instead:
        // trial with a.value = 0 … use the FileLengthStage on a missing file.
        let json = """
        {"name": "fails", "stages": {
          "f": {"type": "file-length", "params": {"path": "present.txt"}},
          "b": {"type": "scale", "inputs": {"number": "f.number"}}
        },
        "sweep": {"grid": {"f.path": ["present.txt", "absent.txt", "present2.txt"]}}}
        """
        _ = try s.write("present.txt", "abc")
        _ = try s.write("present2.txt", "abcdef")
        let e = try s.load("sweep.json", json)
        let outcomes = runner(s).run(e.trials)
        #expect(outcomes.count == 3)
        #expect(outcomes[0].error == nil)
        #expect(outcomes[1].error is StageFailure)
        #expect(outcomes[2].error == nil)
        // fail-fast: with one job, nothing after the failure starts.
        let s2 = try Sandbox()
        _ = try s2.write("present.txt", "abc")
        _ = try s2.write("present2.txt", "abcdef")
        let ff = runner(s2, failFast: true).run(try s2.load("sweep.json", json).trials)
        #expect(ff.count == 2)
    }

    @Test func twoJobsGiveTheSameArtifactsAsOne() throws {
        let s1 = try Sandbox(), s2 = try Sandbox()
        let json = sweepJSON(name: "jobs", values: [1, 2, 3], factors: [3, 4])
        let o1 = runner(s1, jobs: 1).run(try s1.load("sweep.json", json).trials)
        let o2 = runner(s2, jobs: 2).run(try s2.load("sweep.json", json).trials)
        func digests(_ o: [SweepRunner.TrialOutcome]) -> [String] {
            o.flatMap { $0.results!.map { r -> String in
                switch r.1 { case .ran(let rec), .reused(let rec, _): return rec.outputs["number"]!.digest }
            } }
        }
        #expect(digests(o1) == digests(o2))
        #expect(digests(o1).count == 18)
    }

    @Test func variantsCombineWithTheGrid() throws {
        let s = try Sandbox()
        let e = try s.load("sweep.json", sweepJSON(name: "var", values: [1, 2], factors: [3],
            extra: #", "variants": [{"name": "small", "params": {"b.factor": 1}}, {"name": "big", "params": {"b.factor": 10}}]"#))
        #expect(e.trials.count == 4)
        #expect(e.trials[2].name == "var@big,a.value=1,c.factor=3")
        #expect(e.trials[2].label == "big value=1 factor=3")
        #expect(e.trials[2].experiment.stage("b")!.parameters(as: ScaleStage.Parameters.self)?.factor == 10)
    }

    @Test func sweepErrorsNameThePath() throws {
        let s = try Sandbox()
        func problems(_ sweep: String) -> [String] {
            let json = #"{"stages": {"a": {"type": "source"}}, "sweep": "# + sweep + "}"
            do { _ = try s.load("bad.json", json); return [] } catch let e as SpecError {
                return e.problems.map { "\($0.path): \($0.message)" }
            } catch { return ["\(error)"] }
        }
        #expect(problems(#"{"grid": {"a.valeu": [1]}}"#).first?.contains("sweep.grid.a.valeu: stage `a` (source) has no parameter `valeu`; did you mean `value`?") == true)
        #expect(problems(#"{"grid": {"x.value": [1]}}"#).first?.contains("no stage `x`") == true)
        #expect(problems(#"{"grid": {"a.value": []}}"#).first?.contains("non-empty list") == true)
        #expect(problems(#"{"grid": {"a.value": [1, 5000]}}"#).first?.contains("got 5000 (in sweep trial a.value=5000)") == true)
        #expect(problems(#"{"gird": {}}"#).first?.contains("did you mean `grid`?") == true)
    }
}
