import Foundation
import Testing
@testable import Pipeline

/// The `number` artifact of the test stages, as a typed input.
struct NumberArtifact: ArtifactType {
    static let artifactKind = "number"
    static let formatVersion: UInt16 = 1
    let value: Int64
    init(_ reader: ArtifactReader) throws { value = try readNumber(reader) }
}

/// Adds an optional `offset` input to its required `number` input.
enum OffsetStage: Stage {
    static let typeName = "offset"
    static let summary = "adds an optional number to a number"
    static let implementationVersion = 1
    typealias Parameters = NoParameters
    static let number = Input<NumberArtifact>("number")
    static let offset = OptionalInput<NumberArtifact>("offset")
    static let inputs = [number.spec, offset.spec]
    static let outputs = [OutputSpec("number", kind: "number")]
    static func run(_ context: StageContext, parameters: Parameters) throws -> StageOutcome {
        executions.bump("\(context.experimentName).\(context.stageID)")
        let n = try context.read(number).value
        let o = try context.read(offset)
        try writeNumber(context, "number", n + (o?.value ?? 1000))
        return StageOutcome(summary: o == nil ? "no offset" : "offset")
    }
}

/// Writes a text artifact (another kind), to wire where a number is expected.
enum TextStage: Stage {
    static let typeName = "text"
    static let summary = "writes text"
    static let implementationVersion = 1
    typealias Parameters = NoParameters
    static let inputs: [InputSpec] = []
    static let outputs = [OutputSpec("text", kind: "text")]
    static func run(_ context: StageContext, parameters: Parameters) throws -> StageOutcome {
        let w = try context.output("text", formatVersion: 1)
        try w.write(UInt64(7))
        return StageOutcome(summary: "text")
    }
}

@Suite("optional inputs", .serialized)
struct OptionalInputTests {
    static let registry = StageRegistry([SourceStage.self, OffsetStage.self, TextStage.self])

    func experiment(_ name: String, offset: String?) -> String {
        let wiring = offset.map { #", "offset": "\#($0)""# } ?? ""
        return """
        {"name": "\(name)", "stages": {
          "a": {"type": "source", "params": {"value": 5}},
          "b": {"type": "source", "params": {"value": 20}},
          "t": {"type": "text"},
          "x": {"type": "offset", "inputs": {"number": "a.number"\(wiring)}}
        }}
        """
    }

    func result(_ s: Sandbox, _ e: Experiment) throws -> (value: Int64, record: RunRecord) {
        let engine = s.engine()
        for (stage, outcome) in try engine.run(e) where stage.id == "x" {
            let record: RunRecord
            switch outcome { case .ran(let r), .reused(let r, _): record = r }
            let reader = try s.store.open(record.outputs["number"]!.digest, kind: "number", maxVersion: 1)
            return (try readNumber(reader), record)
        }
        throw CancelledError()
    }

    @Test func anUnwiredOptionalInputIsValidAndReadsAsNil() throws {
        let s = try Sandbox()
        let e = try s.load("e.json", experiment("opt", offset: nil), registry: Self.registry)
        #expect(e.stage("x")?.inputs.keys.sorted() == ["number"])
        let (value, record) = try result(s, e)
        #expect(value == 1005)
        #expect(record.summary == "no offset")
        // The key of the unwired stage is the key it would have without the optional slot.
        #expect(record.inputs.keys.sorted() == ["number"])
    }

    @Test func aWiredOptionalInputIsReadAndEntersTheKey() throws {
        let s = try Sandbox()
        let unwired = try result(s, try s.load("e.json", experiment("opt2", offset: nil), registry: Self.registry))
        let wired = try result(s, try s.load("e.json", experiment("opt2", offset: "b.number"), registry: Self.registry))
        #expect(wired.value == 25)
        #expect(wired.record.inputs.keys.sorted() == ["number", "offset"])
        #expect(wired.record.key != unwired.record.key)
        #expect(executions.count("opt2.x") == 2)
        // Unwiring it again: stale because the input is gone (the old record is then reused).
        let back = try s.load("e.json", experiment("opt2", offset: nil), registry: Self.registry)
        let plan = s.engine().plan(back)
        guard case .fresh? = plan.first(where: { $0.stage.id == "x" })?.status else {
            Issue.record("the unwired run's record should be reused"); return
        }
        // A plan against the last ref (wired) explains the change when its record is missing.
        let identity = StageIdentity(type: "offset", implementationVersion: 1, parameters: [:],
                                     inputs: unwired.record.inputs, files: [:])
        let ref = StageRef(key: wired.record.key, type: "offset", implementationVersion: 1, parameters: [:],
                           inputs: wired.record.inputs, files: [:], outputs: wired.record.outputs, updatedAt: Date())
        #expect(identity.reasons(comparedTo: ref, inputProducers: [:]) == [.inputChanged(slot: "offset", from: "no stage: it is no longer wired")])
    }

    @Test func aWiredOptionalInputMustHaveTheRightKind() throws {
        let s = try Sandbox()
        do {
            _ = try s.load("e.json", experiment("opt3", offset: "t.text"), registry: Self.registry)
            Issue.record("expected a kind error")
        } catch let e as SpecError {
            #expect(e.problems.count == 1)
            #expect(e.problems.first?.path == "stages.x.inputs.offset")
            #expect(e.problems.first?.message.contains("is a text artifact, but this input needs a number artifact") == true)
        }
        // A required input is still required.
        let missing = #"{"stages": {"x": {"type": "offset", "inputs": {"offset": "b.number"}}, "b": {"type": "source"}}}"#
        do {
            _ = try s.load("m.json", missing, registry: Self.registry)
            Issue.record("expected a missing-input error")
        } catch let e as SpecError {
            #expect(e.problems.map(\.path) == ["stages.x.inputs.number"])
        }
    }

    @Test func existingKeysDoNotDependOnOptionalSlots() {
        // The canonical identity has no entry for an unwired slot: the same key as a stage type
        // that never declared it.
        let a = StageIdentity(type: "offset", implementationVersion: 1, parameters: [:], inputs: ["number": "d1"], files: [:])
        #expect(a.key == sha256Hex(#"{"files":{},"inputs":{"number":"d1"},"params":{},"type":"offset","version":1}"#))
        #expect(OffsetStage.inputs.map(\.optional) == [false, true])
    }
}
