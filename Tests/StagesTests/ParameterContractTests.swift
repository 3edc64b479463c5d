import Foundation
import Testing
@testable import Pipeline
@testable import Stages

/// The typed parameter contract, for every parameter of every stage type: each value that does
/// not fit is one validation error with its JSON path (never a trap at run time), `null` is
/// refused unless the parameter documents what it means, and defaults come from one place.
@Suite("parameter contract of every stage type")
struct ParameterContractTests {
    /// An experiment using every stage type once (from the key-pin test).
    static func base() throws -> [String: JSONValue] {
        guard case .object(let top) = try JSONValue.parse(Data(StageKeyPinTests.extras.utf8)) else { throw CancelledError() }
        return top
    }

    static let file = URL(fileURLWithPath: "/tmp/contract/experiment.json")

    /// Every (stage id, parameter) pair of the base experiment.
    static func allParameters() throws -> [(stage: String, spec: ParameterSpec)] {
        let top = try base()
        guard case .object(let stages)? = top["stages"] else { return [] }
        var out: [(String, ParameterSpec)] = []
        for id in stages.keys.sorted() {
            guard case .object(let body)? = stages[id], case .string(let type)? = body["type"],
                  let stageType = Word2VecStages.registry[type] else { continue }
            for spec in stageType.parameters { out.append((id, spec)) }
        }
        return out
    }

    /// Validates the base with one parameter replaced by `value`.
    static func validate(stage: String, parameter: String, value: JSONValue) throws -> Experiment {
        var top = try base()
        guard case .object(var stages)? = top["stages"], case .object(var body)? = stages[stage] else { throw CancelledError() }
        var params = body["params"]?.objectValue ?? [:]
        params[parameter] = value
        body["params"] = .object(params)
        stages[stage] = .object(body)
        top["stages"] = .object(stages)
        return try ExperimentLoader.validate(.object(top), file: file, defaultName: "contract", registry: Word2VecStages.registry)
    }

    @Test func everyStageTypeIsCovered() throws {
        let covered = Set(try Self.allParameters().map { $0.stage })
        let types = Set(try Self.base()["stages"]?.objectValue?.values.compactMap { $0.objectValue?["type"]?.stringValue } ?? [])
        #expect(types == Set(Word2VecStages.registry.names), "add the new stage type to StageKeyPinTests.extras")
        #expect(!covered.isEmpty)
    }

    @Test func nullIsRefusedUnlessDocumented() throws {
        for (stage, spec) in try Self.allParameters() {
            let path = "stages.\(stage).params.\(spec.name)"
            if spec.nullable {
                let e = try Self.validate(stage: stage, parameter: spec.name, value: .null)
                #expect(e.stage(stage)?.parameters.jsonValues[spec.name] == .null, "\(path)")
            } else {
                do {
                    _ = try Self.validate(stage: stage, parameter: spec.name, value: .null)
                    Issue.record("\(path): null accepted")
                } catch let e as SpecError {
                    #expect(e.problems.count == 1, "\(path): \(e)")
                    #expect(e.problems.first?.path == path)
                    #expect(e.problems.first?.message == "expected \(spec.type.expectation), got null")
                }
            }
        }
    }

    /// Values of the wrong kind or out of range: one error each, with the path; never a crash.
    @Test func illFittingValuesAreOneErrorEach() throws {
        let hostile: [JSONValue] = [
            .string(""), .string("x"), .bool(true), .integer(-1), .integer(Int64.max), .integer(Int64.min),
            .number(1e308), .number(-1e-300), .number(0.5), .array([]), .array([.integer(1)]), .object([:]),
        ]
        var refused = 0
        for (stage, spec) in try Self.allParameters() {
            for value in hostile {
                let path = "stages.\(stage).params.\(spec.name)"
                do {
                    let e = try Self.validate(stage: stage, parameter: spec.name, value: value)
                    // Accepted: it must be a value of the declared type, and keys must compute.
                    let stored = try #require(e.stage(stage)?.parameters.jsonValues[spec.name])
                    #expect(stored != .null)
                    // What was accepted is what enters the stage key.
                    if spec.identity == .value && spec.type != .inputFile {
                        #expect(e.stage(stage)?.keyParameters[spec.name] == stored, "\(path)")
                    }
                    switch (spec.type, value) {
                    case (.integer(let r), .integer(let i)): #expect(r.contains(i), "\(path) accepted \(i)")
                    case (.integer, _): Issue.record("\(path) accepted \(value.displayText) for \(spec.type.expectation)") // none of these is integral and in range
                    case (.number(let r), _): #expect(value.doubleValue.map(r.contains) == true, "\(path) accepted \(value)")
                    case (.bool, _): #expect(value == .bool(true), "\(path)")
                    case (.string, .string(let s)), (.inputFile, .string(let s)), (.outputPath, .string(let s)):
                        #expect(!s.isEmpty, "\(path) accepted an empty string")
                    case (.stringList, .array(let items)): #expect(items.allSatisfy { $0.stringValue != nil }, "\(path)")
                    // Lists that take one string as a list of one (unzip's members, read-text's files).
                    case (.stringList, .string(let s)): #expect(!s.isEmpty && stored == .array([.string(s)]), "\(path)")
                    default: Issue.record("\(path) accepted \(value.displayText) for \(spec.type.expectation)")
                    }
                } catch let e as SpecError {
                    refused += 1
                    #expect(e.problems.count == 1, "\(path) = \(value.displayText): \(e)")
                    #expect(e.problems.first?.path == path, "\(e)")
                    #expect(e.problems.first?.message.hasPrefix("expected ") == true, "\(e)")
                }
            }
        }
        #expect(refused > 100)
    }

    @Test func emptyPathsAreRefusedAtValidation() throws {
        for (stage, name) in [("corpus", "path"), ("evaluate", "analogies"), ("evaluate", "similarity"), ("export", "path")] {
            #expect(throws: SpecError.self) { _ = try Self.validate(stage: stage, parameter: name, value: .string("")) }
        }
    }

    @Test func builtinEvaluationSetsCanBeNamedAndPathsStayRelative() throws {
        let named = try Self.validate(stage: "evaluate", parameter: "analogies", value: .string("built-in:questions-words.txt"))
        #expect(named.stage("evaluate")?.builtinFiles["analogies"]?.name == "questions-words.txt")
        #expect(named.stage("evaluate")?.files["analogies"] == nil)
        let path = try Self.validate(stage: "evaluate", parameter: "analogies", value: .string("sets/q.txt"))
        #expect(path.stage("evaluate")?.files["analogies"]?.path == "/tmp/contract/sets/q.txt")
        #expect(path.stage("evaluate")?.builtinFiles["analogies"] == nil)
    }

    @Test func defaultsComeFromTheParameterValue() throws {
        #expect(TrainStage.Parameters().window == 5)
        let spec = try #require(TrainStage.parameters.first { $0.name == "window" })
        #expect(spec.defaultValue == .integer(5))
        #expect(spec.type == .integer(1...100))
        // The learning rate a null resolves to is said by the stage, not by its callers.
        var p = TrainStage.Parameters()
        p.model = .cbow
        #expect(p.effectiveValues["learning_rate"] == .number(0.05))
        #expect(p.keyValues["learning_rate"] == .null)
    }

    @Test func parametersRoundTripThroughCodable() throws {
        var p = TrainStage.Parameters()
        p.window = 9
        p.learningRate = 0.01
        let data = try JSONEncoder().encode(p)
        let back = try JSONDecoder().decode(TrainStage.Parameters.self, from: data)
        #expect(back == p)
        #expect(throws: DecodingError.self) {
            _ = try JSONDecoder().decode(TrainStage.Parameters.self, from: Data(#"{"window": null}"#.utf8))
        }
    }

    /// The window travels as one typed value from JSON to the trainer's configuration.
    @Test func windowReachesTheTrainerConfiguration() throws {
        let e = try Self.validate(stage: "train", parameter: "window", value: .number(7.0))
        let p = try #require(e.stage("train")?.parameters(as: TrainStage.Parameters.self))
        #expect(TrainStage.configuration(p, cores: 2).window == 7)
    }
}
