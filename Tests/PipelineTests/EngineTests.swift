import Foundation
import Testing
@testable import Pipeline

@Suite("Engine: keys, staleness, reuse", .serialized)
struct EngineTests {
    func reasons(_ plan: [PlannedStage], _ id: String) -> [StaleReason] {
        guard case .stale(let r, _)? = plan.first(where: { $0.stage.id == id })?.status else { return [] }
        return r
    }

    func isFresh(_ plan: [PlannedStage], _ id: String) -> Bool {
        plan.first(where: { $0.stage.id == id })?.status.isFresh ?? false
    }

    @Test func firstRunRunsEverythingSecondRunsNothing() throws {
        let s = try Sandbox()
        let e = try s.load("e.json", chain(name: "first"))
        #expect(reasons(s.engine().plan(e), "a") == [.neverRun])
        #expect(reasons(s.engine().plan(e), "b") == [.neverRun, .upstreamPending(["a"])])
        let r1 = try s.engine().run(e)
        #expect(r1.allSatisfy { if case .ran = $0.1 { return true }; return false })
        let r2 = try s.engine().run(e)
        #expect(r2.allSatisfy { if case .reused = $0.1 { return true }; return false })
        #expect(executions.count("first.a") == 1)
        #expect(executions.count("first.b") == 1)
    }

    @Test func reformattingTheFileRerunsNothing() throws {
        let s = try Sandbox()
        _ = try s.engine().run(try s.load("e.json", chain(name: "fmt")))
        let reformatted = """
        {
            "stages" : {
                "b" : { "params" : { "factor" : 2.0 }, "inputs" : { "number" : "a.number" }, "type" : "scale" },
                "a" : { "type" : "source", "params" : { "value" : 1, "label": "only a label" } }
            },
            "name" : "fmt"
        }
        """
        let plan = s.engine().plan(try s.load("e.json", reformatted))
        #expect(plan.allSatisfy { $0.status.isFresh })
    }

    @Test func changingADownstreamParameterRerunsOnlyDownstream() throws {
        let s = try Sandbox()
        _ = try s.engine().run(try s.load("e.json", chain(factor: 2, name: "down")))
        let e = try s.load("e.json", chain(factor: 3, name: "down"))
        let plan = s.engine().plan(e)
        #expect(isFresh(plan, "a"))
        #expect(reasons(plan, "b") == [.parameterChanged(name: "factor", from: .integer(2), to: .integer(3))])
        _ = try s.engine().run(e)
        #expect(executions.count("down.a") == 1)
        #expect(executions.count("down.b") == 2)
    }

    @Test func changingUpstreamParameterMarksInputChangedDownstream() throws {
        let s = try Sandbox()
        _ = try s.engine().run(try s.load("e.json", chain(value: 1, name: "up")))
        let e = try s.load("e.json", chain(value: 7, name: "up"))
        let plan = s.engine().plan(e)
        #expect(reasons(plan, "a") == [.parameterChanged(name: "value", from: .integer(1), to: .integer(7))])
        #expect(reasons(plan, "b") == [.upstreamPending(["a"])])
        _ = try s.engine().run(e)
        // Back to value 1: both outputs exist, so nothing reruns (the store remembers).
        let back = try s.load("e.json", chain(value: 1, name: "up"))
        #expect(s.engine().plan(back).allSatisfy { $0.status.isFresh })
        // And the downstream stage, once its input digest is known, reports the input change.
        _ = try s.engine().run(back)
        let again = try s.load("e.json", chain(value: 7, name: "up"))
        _ = try s.engine().run(again)
        #expect(executions.count("up.b") == 2)
    }

    @Test func implementationChangeIsExplained() throws {
        let s = try Sandbox()
        _ = try s.engine().run(try s.load("e.json", chain(name: "impl")))
        let v2 = StageRegistry([SourceStage.self, ScaleStageV2.self])
        let plan = s.engine().plan(try s.load("e.json", chain(name: "impl"), registry: v2))
        #expect(isFresh(plan, "a"))
        #expect(reasons(plan, "b") == [.implementationChanged(from: 1, to: 2)])
    }

    @Test func inputChangedIsReportedWhenTheDigestIsKnown() throws {
        let s = try Sandbox()
        // Two experiments share stage b's parameters but feed it different numbers.
        _ = try s.engine().run(try s.load("e.json", chain(value: 1, name: "inp")))
        let other = try s.load("e.json", chain(value: 5, name: "inp-other"))
        _ = try s.engine().run(other)
        // Now `inp` with value 5: a is fresh (shared), b's input differs from its last run.
        let plan = s.engine().plan(try s.load("e.json", chain(value: 5, name: "inp")))
        guard case .fresh(_, let shared)? = plan.first?.status else { Issue.record("a should be fresh"); return }
        #expect(shared == "inp-other")
        #expect(plan[1].status.isFresh) // also shared: same key
        let plan2 = s.engine().plan(try s.load("e.json", chain(value: 9, name: "inp")))
        #expect(reasons(plan2, "a") == [.parameterChanged(name: "value", from: .integer(1), to: .integer(9))])
    }

    @Test func missingAndCorruptedOutputsAreDetectedAndRecomputed() throws {
        let s = try Sandbox()
        let e = try s.load("e.json", chain(name: "corrupt"))
        let results = try s.engine().run(e)
        guard case .ran(let recordB) = results[1].1 else { Issue.record("b should have run"); return }
        let path = s.store.objectPath(recordB.outputs["number"]!.digest)
        // Flip one payload byte.
        chmod(path, 0o644)
        let fh = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        try fh.seek(toOffset: UInt64(ArtifactHeader.size))
        let byte = try fh.read(upToCount: 1)!
        try fh.seek(toOffset: UInt64(ArtifactHeader.size))
        try fh.write(contentsOf: Data([byte[0] ^ 0xFF]))
        try fh.close()
        var plan = s.engine().plan(e)
        #expect(isFresh(plan, "a"))
        guard case .outputCorrupted(let name, _)? = reasons(plan, "b").first else { Issue.record("expected corrupted"); return }
        #expect(name == "number")
        var warnings: [String] = []
        let engine = Engine(store: s.store) { if case .warning(let w) = $0 { warnings.append(w) } }
        engine.progressMode = .quiet
        _ = try engine.run(e)
        #expect(warnings.contains { $0.contains("corrupted") })
        #expect(executions.count("corrupt.b") == 2)
        // Same bytes again: same digest, and the object verifies.
        #expect(s.store.checkObject(recordB.outputs["number"]!.digest, forceVerify: true) == .ok)
        // Now remove it.
        unlink(path)
        plan = s.engine().plan(e)
        #expect(reasons(plan, "b") == [.outputMissing("number")])
        _ = try s.engine().run(e)
        #expect(s.engine().plan(e).allSatisfy { $0.status.isFresh })
    }

    @Test func inputFilesEnterTheKeyByContent() throws {
        let s = try Sandbox()
        _ = try s.write("data.txt", "hello")
        let json = #"{"name": "files", "stages": {"f": {"type": "file-length", "params": {"path": "data.txt"}}}}"#
        let e = try s.load("e.json", json)
        _ = try s.engine().run(e)
        #expect(s.engine().plan(e).allSatisfy { $0.status.isFresh })
        usleep(10_000)
        _ = try s.write("data.txt", "hello, world")
        let plan = s.engine().plan(e)
        guard case .fileChanged(let p, _)? = reasons(plan, "f").first else { Issue.record("expected file changed: \(plan)"); return }
        #expect(p == "path")
        try FileManager.default.removeItem(at: s.dir.appendingPathComponent("data.txt"))
        guard case .fileMissing? = reasons(s.engine().plan(e), "f").first else { Issue.record("expected file missing"); return }
        #expect(throws: StageFailure.self) { try s.engine().run(e) }
    }

    @Test func aFailingStageLeavesNothingBehind() throws {
        let s = try Sandbox()
        let json = #"{"name": "failing", "stages": {"a": {"type": "source"}, "x": {"type": "fail", "inputs": {"number": "a.number"}}}}"#
        let e = try s.load("e.json", json)
        #expect(throws: StageFailure.self) { try s.engine().run(e) }
        let tmp = try FileManager.default.contentsOfDirectory(atPath: s.store.tmpDirectory)
        #expect(tmp.isEmpty)
        let locks = try FileManager.default.contentsOfDirectory(atPath: s.store.root.appendingPathComponent("locks").path)
        #expect(locks.isEmpty)
        #expect(reasons(s.engine().plan(e), "x") == [.neverRun])
    }

    @Test func gcRemovesOnlyUnreferencedObjects() throws {
        let s = try Sandbox()
        _ = try s.engine().run(try s.load("e.json", chain(value: 1, name: "gc")))
        _ = try s.engine().run(try s.load("e.json", chain(value: 3, name: "gc")))
        let garbage = s.store.garbage()
        #expect(garbage.objects.count == 2) // the value-1 outputs of a (1) and b (2)
        #expect(garbage.runRecords.count == 2)
        s.store.collect(garbage)
        #expect(s.engine().plan(try s.load("e.json", chain(value: 3, name: "gc"))).allSatisfy { $0.status.isFresh })
        #expect(s.store.garbage().objects.isEmpty)
    }

    @Test func concurrentRunsComputeEachStageOnce() throws {
        let s = try Sandbox()
        let e = try s.load("e.json", chain(name: "concurrent"))
        let group = DispatchGroup()
        let errors = Counter()
        for _ in 0..<2 {
            DispatchQueue.global().async(group: group) {
                do { _ = try s.engine().run(e) } catch { errors.bump("error") }
            }
        }
        group.wait()
        #expect(errors.count("error") == 0)
        #expect(executions.count("concurrent.a") == 1)
        #expect(executions.count("concurrent.b") == 1)
    }
}
