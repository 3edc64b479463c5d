import Foundation

/// A reference to one output of one stage, written `stage.output` in experiment files.
public struct OutputReference: Hashable, Sendable, CustomStringConvertible {
    public let stage: String
    public let output: String
    public var description: String { "\(stage).\(output)" }
}

/// One stage of a validated experiment: its type, its parameters with defaults filled in,
/// where its inputs come from, and the external files it reads.
public struct StageInstance: Sendable {
    public let id: String
    public let type: any Stage.Type
    /// The decoded parameters: a value of `type.Parameters`.
    public let parameters: any StageParameters
    public let inputs: [String: OutputReference]

    /// Files on disk the stage reads, by parameter, resolved against the experiment's directory.
    public var files: [String: URL] { parameters.inputFiles.compactMapValues(\.url) }

    /// Files the stage reads that the product carries, by parameter.
    public var builtinFiles: [String: BuiltinFile] { parameters.inputFiles.compactMapValues(\.builtin) }

    /// The parameters that take part in the stage key (ignored ones and file paths left out;
    /// files enter the key by content digest).
    public var keyParameters: [String: JSONValue] { parameters.keyValues }

    /// The parameters as a value of their concrete type (nil for another stage type's).
    public func parameters<P: StageParameters>(as type: P.Type) -> P? { parameters as? P }
}

/// A validated experiment: stages in an order where every stage follows its inputs.
public struct Experiment: Sendable {
    public let name: String
    public let file: URL
    public let stages: [StageInstance]
    /// The trials of a `sweep` block (empty when the file has none). Each is a complete
    /// experiment of its own, named `<name>@<assignments>`.
    public internal(set) var trials: [Trial] = []

    public func stage(_ id: String) -> StageInstance? { stages.first { $0.id == id } }
}

/// Everything wrong with an experiment file, each with where it is and what to do.
public struct SpecError: Error, CustomStringConvertible {
    public struct Problem: Sendable {
        public let path: String
        public let message: String
    }
    public let file: String
    public let problems: [Problem]

    public var description: String {
        problems.map { "\(file): \($0.path.isEmpty ? "" : $0.path + ": ")\($0.message)" }.joined(separator: "\n")
    }
}

public enum ExperimentLoader {
    static let topLevelKeys = ["name", "description", "stages", "sweep"]
    static let stageKeys = ["type", "params", "inputs", "outputs", "description"]

    /// Reads and validates an experiment file. Nothing runs before this succeeds.
    public static func load(_ url: URL, registry: StageRegistry) throws -> Experiment {
        let display = url.relativePathForDisplay
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw SpecError(file: display, problems: [.init(path: "", message: "no such experiment file; `ls experiments/` shows the shipped ones")])
        }
        let data = try Data(contentsOf: url)
        let json: JSONValue
        do {
            json = try JSONValue.parse(data)
        } catch let e as JSONSyntaxError {
            throw SpecError(file: display, problems: [.init(path: "", message: e.description)])
        }
        let defaultName = url.deletingPathExtension().lastPathComponent
        return try validate(json, file: url, defaultName: defaultName, registry: registry)
    }

    public static func validate(_ json: JSONValue, file: URL, defaultName: String, registry: StageRegistry) throws -> Experiment {
        var problems: [SpecError.Problem] = []
        func problem(_ path: String, _ message: String) { problems.append(.init(path: path, message: message)) }
        let display = file.relativePathForDisplay
        let baseDirectory = file.deletingLastPathComponent()

        guard case .object(let top) = json else {
            throw SpecError(file: display, problems: [.init(path: "", message: "expected a JSON object with a `stages` member, got \(json.typeDescription)")])
        }
        for key in top.keys.sorted() where !topLevelKeys.contains(key) {
            problem(key, "unknown key" + Suggestions.didYouMean(key, in: topLevelKeys) + " (allowed: \(topLevelKeys.joined(separator: ", ")))")
        }
        var name = defaultName
        if let n = top["name"] {
            if case .string(let s) = n, isValidIdentifier(s) { name = s }
            else { problem("name", "expected a name of letters, digits, `-` and `_`, got \(n.displayText)") }
        }
        guard let stagesValue = top["stages"] else {
            problem("stages", "missing; an experiment needs at least one stage (see README, \"The experiment file\")")
            throw SpecError(file: display, problems: problems)
        }
        guard case .object(var stageObjects) = stagesValue, !stageObjects.isEmpty else {
            problem("stages", "expected an object mapping stage names to stages, got \(stagesValue.typeDescription)")
            throw SpecError(file: display, problems: problems)
        }
        if top["sweep"] == nil {
            // Outside a sweep (and in each trial, already named), `{trial}` is the experiment's name.
            stageObjects = DestinationNaming.apply(stageObjects, trial: name, inSweep: false, registry: registry)
        }

        // First pass: types and parameters, so that input references can be checked against outputs.
        struct Draft { var id: String; var type: any Stage.Type; var params: any StageParameters; var inputs: [String: OutputReference] }
        var drafts: [String: Draft] = [:]
        for id in stageObjects.keys.sorted() {
            let path = "stages.\(id)"
            if !isValidIdentifier(id) { problem(path, "stage names may hold letters, digits, `-` and `_` only") }
            guard case .object(let body) = stageObjects[id]! else {
                problem(path, "expected an object with `type`, `params` and `inputs`, got \(stageObjects[id]!.typeDescription)")
                continue
            }
            for key in body.keys.sorted() where !stageKeys.contains(key) {
                problem("\(path).\(key)", "unknown key" + Suggestions.didYouMean(key, in: stageKeys))
            }
            guard case .string(let typeName)? = body["type"] else {
                problem("\(path).type", body["type"] == nil ? "missing; one of: \(registry.names.joined(separator: ", "))" : "expected a string")
                continue
            }
            guard let type = registry[typeName] else {
                problem("\(path).type", "unknown stage type \"\(typeName)\"" + Suggestions.didYouMean(typeName, in: registry.names) + " (known: \(registry.names.joined(separator: ", ")))")
                continue
            }
            let given: [String: JSONValue]
            switch body["params"] {
            case nil: given = [:]
            case .object(let o)?: given = o
            case let other?:
                problem("\(path).params", "expected an object, got \(other.typeDescription)")
                given = [:]
            }
            let decoded = type.decodeParameters(given, path: "\(path).params", context: ParameterDecodingContext(baseDirectory: baseDirectory))
            problems += decoded.problems
            var inputs: [String: OutputReference] = [:]
            let givenInputs: [String: JSONValue]
            switch body["inputs"] {
            case nil: givenInputs = [:]
            case .object(let o)?: givenInputs = o
            case let other?:
                problem("\(path).inputs", "expected an object mapping input names to `stage.output`, got \(other.typeDescription)")
                givenInputs = [:]
            }
            let slotNames = type.inputs.map(\.name)
            for key in givenInputs.keys.sorted() where !slotNames.contains(key) {
                problem("\(path).inputs.\(key)", "unknown input of stage type `\(typeName)`" + Suggestions.didYouMean(key, in: slotNames) + (slotNames.isEmpty ? " (it reads none)" : " (it reads: \(slotNames.joined(separator: ", ")))"))
            }
            for slot in type.inputs {
                let ipath = "\(path).inputs.\(slot.name)"
                guard let value = givenInputs[slot.name] else {
                    if !slot.optional {
                        problem(ipath, "missing; name the stage output that provides the \(slot.kind) artifact, e.g. \"<stage>.\(slot.kind)\"")
                    }
                    continue
                }
                guard case .string(let ref) = value, let dot = ref.lastIndex(of: "."), dot != ref.startIndex, ref.index(after: dot) != ref.endIndex else {
                    problem(ipath, "expected \"stage.output\", got \(value.displayText)")
                    continue
                }
                inputs[slot.name] = OutputReference(stage: String(ref[..<dot]), output: String(ref[ref.index(after: dot)...]))
            }
            if let declared = body["outputs"] {
                let outputNames = type.outputs.map(\.name)
                if case .array(let items) = declared {
                    for (i, item) in items.enumerated() {
                        guard case .string(let o) = item, outputNames.contains(o) else {
                            problem("\(path).outputs[\(i)]", "stage type `\(typeName)` writes \(outputNames.map { "\"\($0)\"" }.joined(separator: ", ")), not \(item.displayText)")
                            continue
                        }
                    }
                } else {
                    problem("\(path).outputs", "expected a list of output names")
                }
            }
            drafts[id] = Draft(id: id, type: type, params: decoded.value, inputs: inputs)
        }

        // Second pass: references resolve to a stage and an output of the right kind.
        for id in drafts.keys.sorted() {
            let draft = drafts[id]!
            for slot in draft.type.inputs {
                guard let ref = draft.inputs[slot.name] else { continue }
                let ipath = "stages.\(id).inputs.\(slot.name)"
                guard let producer = drafts[ref.stage] else {
                    if stageObjects[ref.stage] == nil {
                        problem(ipath, "refers to stage `\(ref.stage)`, which does not exist" + Suggestions.didYouMean(ref.stage, in: stageObjects.keys))
                    }
                    continue
                }
                guard let output = producer.type.outputs.first(where: { $0.name == ref.output }) else {
                    let names = producer.type.outputs.map(\.name)
                    problem(ipath, "stage `\(ref.stage)` (\(producer.type.typeName)) has no output `\(ref.output)`" + Suggestions.didYouMean(ref.output, in: names) + " (it writes: \(names.joined(separator: ", ")))")
                    continue
                }
                if output.kind != slot.kind {
                    problem(ipath, "`\(ref)` is a \(output.kind) artifact, but this input needs a \(slot.kind) artifact")
                }
                if ref.stage == id { problem(ipath, "a stage cannot read its own output") }
            }
        }
        if !problems.isEmpty { throw SpecError(file: display, problems: problems) }

        // Order: every stage after its inputs; ties by name so the order is stable.
        var order: [String] = []
        var state: [String: Int] = [:] // 1 visiting, 2 done
        var cycle: [String]? = nil
        func visit(_ id: String, _ trail: [String]) {
            if cycle != nil { return }
            if state[id] == 2 { return }
            if state[id] == 1 {
                let start = trail.firstIndex(of: id) ?? 0
                cycle = Array(trail[start...]) + [id]
                return
            }
            state[id] = 1
            for ref in drafts[id]!.inputs.values.sorted(by: { $0.stage < $1.stage }) { visit(ref.stage, trail + [id]) }
            state[id] = 2
            order.append(id)
        }
        for id in drafts.keys.sorted() { visit(id, []) }
        if let cycle {
            throw SpecError(file: display, problems: [.init(path: "stages", message: "the inputs form a cycle: \(cycle.joined(separator: " → ")); a stage cannot depend on its own results")])
        }
        let stages = order.map { id -> StageInstance in
            let d = drafts[id]!
            return StageInstance(id: id, type: d.type, parameters: d.params, inputs: d.inputs)
        }
        var experiment = Experiment(name: name, file: file, stages: stages)
        if let sweep = top["sweep"] {
            experiment.trials = try SweepExpander.expand(sweep, base: top, experiment: experiment, file: file, registry: registry)
        }
        return experiment
    }

    static func isValidIdentifier(_ s: String) -> Bool {
        !s.isEmpty && s.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) && $0.isASCII || $0 == "-" || $0 == "_" }
    }

}

extension URL {
    /// The path relative to the current directory when it lies below it, for messages.
    public var relativePathForDisplay: String {
        let cwd = FileManager.default.currentDirectoryPath
        let p = self.standardizedFileURL.path
        if p.hasPrefix(cwd + "/") { return String(p.dropFirst(cwd.count + 1)) }
        return p
    }
}
