import Foundation
import Testing
@testable import Pipeline

@Suite("Experiment spec validation")
struct SpecTests {
    func problems(_ json: String) throws -> [SpecError.Problem] {
        let sandbox = try Sandbox()
        do {
            _ = try sandbox.load("e.json", json)
        } catch let e as SpecError {
            return e.problems
        }
        Issue.record("expected a SpecError")
        return []
    }

    @Test func validChainLoadsInDependencyOrder() throws {
        let sandbox = try Sandbox()
        let e = try sandbox.load("e.json", """
        {"stages": {"z": {"type": "scale", "inputs": {"number": "a.number"}}, "a": {"type": "source"}}}
        """)
        #expect(e.name == "e")
        #expect(e.stages.map(\.id) == ["a", "z"])
        #expect(e.stages[1].parameters(as: ScaleStage.Parameters.self)?.factor == 2) // default filled in
    }

    @Test func unknownParameterSuggestsTheClosest() throws {
        let p = try problems(#"{"stages": {"a": {"type": "source", "params": {"valeu": 3}}}}"#)
        #expect(p.count == 1)
        #expect(p[0].path == "stages.a.params.valeu")
        #expect(p[0].message.contains("did you mean `value`?"))
    }

    @Test func unknownTopLevelAndStageKeys() throws {
        let p = try problems(#"{"stagse": {}, "stages": {"a": {"type": "source", "parmas": {}}}}"#)
        #expect(p.contains { $0.path == "stagse" && $0.message.contains("`stages`") })
        #expect(p.contains { $0.path == "stages.a.parmas" && $0.message.contains("`params`") })
    }

    @Test func wrongTypesAreNamedWithWhatWasFound() throws {
        let p = try problems(#"{"stages": {"a": {"type": "source", "params": {"value": "5x"}}}}"#)
        #expect(p.first?.path == "stages.a.params.value")
        #expect(p.first?.message.contains("expected an integer in 0…1000, got a string \"5x\"") == true)
        let q = try problems(#"{"stages": {"a": {"type": "source", "params": {"value": 2.5}}}}"#)
        #expect(q.first?.message.contains("2.5") == true)
        let r = try problems(#"{"stages": {"a": {"type": "source", "params": {"value": 5000}}}}"#)
        #expect(r.first?.message.contains("got 5000") == true)
    }

    @Test func unknownStageType() throws {
        let p = try problems(#"{"stages": {"a": {"type": "sourse"}}}"#)
        #expect(p.first?.path == "stages.a.type")
        #expect(p.first?.message.contains("did you mean `source`?") == true)
    }

    @Test func missingRequiredParameter() throws {
        let p = try problems(#"{"stages": {"f": {"type": "file-length"}}}"#)
        #expect(p.first?.path == "stages.f.params.path")
        #expect(p.first?.message.hasPrefix("missing") == true)
    }

    @Test func danglingReferences() throws {
        let p = try problems(#"{"stages": {"a": {"type": "source"}, "b": {"type": "scale", "inputs": {"number": "aa.number"}}}}"#)
        #expect(p.first?.path == "stages.b.inputs.number")
        #expect(p.first?.message.contains("`aa`, which does not exist; did you mean `a`") == true)
        let q = try problems(#"{"stages": {"a": {"type": "source"}, "b": {"type": "scale", "inputs": {"number": "a.numbr"}}}}"#)
        #expect(q.first?.message.contains("has no output `numbr`; did you mean `number`?") == true)
        let r = try problems(#"{"stages": {"a": {"type": "source"}, "b": {"type": "scale"}}}"#)
        #expect(r.first?.path == "stages.b.inputs.number")
    }

    @Test func cyclesAreRejected() throws {
        let p = try problems(#"{"stages": {"a": {"type": "scale", "inputs": {"number": "b.number"}}, "b": {"type": "scale", "inputs": {"number": "a.number"}}}}"#)
        #expect(p.count == 1)
        #expect(p[0].message.contains("cycle: a → b → a"))
    }

    @Test func syntaxErrorsAreReportedWithTheFile() throws {
        let sandbox = try Sandbox()
        #expect(throws: SpecError.self) { try sandbox.load("bad.json", "{\"stages\": {") }
        do { _ = try sandbox.load("bad.json", "{\"stages\": {") } catch let e as SpecError {
            #expect(e.description.contains("bad.json"))
            #expect(e.description.contains("invalid JSON"))
        }
    }

    @Test func everyProblemIsReportedAtOnce() throws {
        let p = try problems(#"{"stages": {"a": {"type": "source", "params": {"valeu": 1}}, "b": {"type": "scale", "params": {"factr": 1}, "inputs": {"number": "a.number"}}}}"#)
        #expect(p.count == 2)
    }

    @Test func canonicalFormIgnoresFormattingAndNumberSpelling() {
        let a: JSONValue = .object(["b": .integer(5), "a": .number(0.0001)])
        let b: JSONValue = .object(["a": .number(1e-4), "b": .number(5.0)])
        #expect(a.canonicalText == b.canonicalText)
        #expect(a.canonicalText == #"{"a":0.0001,"b":5}"#)
    }
}
