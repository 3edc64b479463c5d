import Foundation
@testable import Pipeline

/// Tiny stages for engine tests: a source that writes a number, a transform that scales it,
/// and a reader of an external file. Each counts its executions.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [String: Int] = [:]
    func bump(_ key: String) { lock.lock(); counts[key, default: 0] += 1; lock.unlock() }
    func count(_ key: String) -> Int { lock.lock(); defer { lock.unlock() }; return counts[key, default: 0] }
}

nonisolated(unsafe) var executions = Counter()

func writeNumber(_ context: StageContext, _ name: String, _ value: Int64) throws {
    let w = try context.output(name, formatVersion: 1)
    try w.write(UInt64(bitPattern: value))
}

func readNumber(_ reader: ArtifactReader) throws -> Int64 {
    var c = reader.cursor()
    return Int64(bitPattern: try c.read(UInt64.self))
}

enum SourceStage: Stage {
    static let typeName = "source"
    static let summary = "writes a number"
    static let implementationVersion = 1
    struct Parameters: StageParameters {
        var value = 1
        var label: String? = nil
        init() {}
        static let fields: [ParameterField<Self>] = [
            .integer("value", \.value, in: 0...1000, help: "the number"),
            .string("label", \.label, identity: .ignored, help: "not part of the key"),
        ]
    }
    static let inputs: [InputSpec] = []
    static let outputs = [OutputSpec("number", kind: "number")]
    static func run(_ context: StageContext, parameters: Parameters) throws -> StageOutcome {
        executions.bump("\(context.experimentName).\(context.stageID)")
        try writeNumber(context, "number", Int64(parameters.value))
        return StageOutcome(summary: "wrote \(parameters.value)")
    }
}

enum ScaleStage: Stage {
    static let typeName = "scale"
    static let summary = "multiplies a number"
    static let implementationVersion = 1
    struct Parameters: StageParameters {
        var factor = 2
        init() {}
        static let fields: [ParameterField<Self>] = [.integer("factor", \.factor, in: 0...1000, help: "the factor")]
    }
    static let inputs = [InputSpec("number", kind: "number")]
    static let outputs = [OutputSpec("number", kind: "number")]
    static func run(_ context: StageContext, parameters: Parameters) throws -> StageOutcome {
        executions.bump("\(context.experimentName).\(context.stageID)")
        let n = try readNumber(try context.input("number", maxVersion: 1))
        try writeNumber(context, "number", n * Int64(parameters.factor))
        return StageOutcome(summary: "scaled")
    }
}

/// Same type name as ScaleStage, newer implementation.
enum ScaleStageV2: Stage {
    static let typeName = "scale"
    static let summary = "multiplies a number (v2)"
    static let implementationVersion = 2
    typealias Parameters = ScaleStage.Parameters
    static let inputs = ScaleStage.inputs
    static let outputs = ScaleStage.outputs
    static func run(_ context: StageContext, parameters: Parameters) throws -> StageOutcome { try ScaleStage.run(context, parameters: parameters) }
}

enum FileLengthStage: Stage {
    static let typeName = "file-length"
    static let summary = "writes the length of a file"
    static let implementationVersion = 1
    struct Parameters: StageParameters {
        var path: InputFile? = nil
        init() {}
        static let fields: [ParameterField<Self>] = [.file("path", \.path, required: true, nullable: false, help: "a file")]
    }
    static let inputs: [InputSpec] = []
    static let outputs = [OutputSpec("number", kind: "number")]
    static func run(_ context: StageContext, parameters: Parameters) throws -> StageOutcome {
        executions.bump("\(context.experimentName).\(context.stageID)")
        guard let url = parameters.path?.url else { throw FailingStage.Boom() }
        let data = try Data(contentsOf: url)
        try writeNumber(context, "number", Int64(data.count))
        return StageOutcome(summary: "\(data.count) bytes")
    }
}

/// A stage that fails, to check nothing is left behind.
enum FailingStage: Stage {
    static let typeName = "fail"
    static let summary = "writes half an output, then throws"
    static let implementationVersion = 1
    typealias Parameters = NoParameters
    static let inputs = [InputSpec("number", kind: "number")]
    static let outputs = [OutputSpec("number", kind: "number")]
    struct Boom: Error {}
    static func run(_ context: StageContext, parameters: Parameters) throws -> StageOutcome {
        let w = try context.output("number", formatVersion: 1)
        try w.write(UInt64(42))
        throw Boom()
    }
}

let testRegistry = StageRegistry([SourceStage.self, ScaleStage.self, FileLengthStage.self, FailingStage.self])

/// A temporary directory holding a store and experiment files; removed on deinit.
final class Sandbox: Sendable {
    let dir: URL
    let store: ArtifactStore
    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("w2v-pipe-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        store = try ArtifactStore(root: dir.appendingPathComponent("store"))
    }
    deinit { try? FileManager.default.removeItem(at: dir) }

    func write(_ name: String, _ text: String) throws -> URL {
        let url = dir.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    func load(_ name: String, _ text: String, registry: StageRegistry = testRegistry) throws -> Experiment {
        try ExperimentLoader.load(try write(name, text), registry: registry)
    }

    func engine() -> Engine {
        let e = Engine(store: store)
        e.progressMode = .quiet
        return e
    }
}

func chain(value: Int = 1, factor: Int = 2, name: String = "exp") -> String {
    """
    {"name": "\(name)", "stages": {
      "a": {"type": "source", "params": {"value": \(value)}},
      "b": {"type": "scale", "inputs": {"number": "a.number"}, "params": {"factor": \(factor)}}
    }}
    """
}
