import Foundation

/// One trial of a sweep: a complete experiment whose parameters differ from the base by `assignments`.
public struct Trial: Sendable {
    public let index: Int
    /// Stable name, used for its refs in the store: `<experiment>@<variant>,<stage.param>=<value>,…`.
    public let name: String
    /// `stage.param` → value, in a stable order (variant first, then the grid's keys sorted).
    public let assignments: [(key: String, value: JSONValue)]
    public let variant: String?
    public let experiment: Experiment

    /// "sgns window=2 negatives=5": short, for tables.
    public var label: String {
        var parts: [String] = []
        if let variant { parts.append(variant) }
        for (k, v) in assignments where !variantKeys.contains(k) {
            let shortKey = k.split(separator: ".").last.map(String.init) ?? k
            parts.append(shortKey + "=" + v.canonicalText.replacingOccurrences(of: "\"", with: ""))
        }
        return parts.joined(separator: " ")
    }
    let variantKeys: Set<String>
}

/// Expands a `sweep` block:
/// ```json
/// "sweep": {
///   "grid": { "vocab.min_count": [3, 5], "train.window": [2, 5] },
///   "variants": [ { "name": "sgns", "params": { "train.model": "sgns" } },
///                 { "name": "cbow", "params": { "train.model": "cbow", "train.learning_rate": 0.05 } } ]
/// }
/// ```
/// Trials are the variants (or the base alone) × the Cartesian product of the grid.
enum SweepExpander {
    static let keys = ["grid", "variants"]

    static func expand(_ sweep: JSONValue, base: [String: JSONValue], experiment: Experiment, file: URL,
                       registry: StageRegistry) throws -> [Trial] {
        let display = file.relativePathForDisplay
        var problems: [SpecError.Problem] = []
        func problem(_ path: String, _ message: String) { problems.append(.init(path: path, message: message)) }
        guard case .object(let body) = sweep else {
            throw SpecError(file: display, problems: [.init(path: "sweep", message: "expected an object with `grid` and/or `variants`")])
        }
        for key in body.keys.sorted() where !keys.contains(key) {
            problem("sweep.\(key)", "unknown key" + Suggestions.didYouMean(key, in: keys) + " (allowed: grid, variants)")
        }
        /// Checks "stage.param" against the experiment.
        func checkKey(_ key: String, path: String) -> Bool {
            let parts = key.split(separator: ".", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { problem(path, "expected \"stage.parameter\", e.g. \"train.window\""); return false }
            guard let stage = experiment.stage(parts[0]) else {
                problem(path, "no stage `\(parts[0])`" + Suggestions.didYouMean(parts[0], in: experiment.stages.map(\.id)))
                return false
            }
            let names = stage.type.parameters.map(\.name)
            guard names.contains(parts[1]) else {
                problem(path, "stage `\(parts[0])` (\(stage.type.typeName)) has no parameter `\(parts[1])`" + Suggestions.didYouMean(parts[1], in: names))
                return false
            }
            return true
        }
        var grid: [(String, [JSONValue])] = []
        if let g = body["grid"] {
            if case .object(let o) = g {
                for key in o.keys.sorted() {
                    let path = "sweep.grid.\(key)"
                    guard checkKey(key, path: path) else { continue }
                    guard case .array(let values) = o[key]!, !values.isEmpty else {
                        problem(path, "expected a non-empty list of values"); continue
                    }
                    if Set(values.map(\.canonicalText)).count != values.count { problem(path, "lists a value twice") }
                    grid.append((key, values))
                }
            } else { problem("sweep.grid", "expected an object mapping \"stage.parameter\" to a list of values") }
        }
        var variants: [(String?, [(String, JSONValue)])] = []
        if let v = body["variants"] {
            if case .array(let items) = v, !items.isEmpty {
                var seen = Set<String>()
                for (i, item) in items.enumerated() {
                    let path = "sweep.variants[\(i)]"
                    guard case .object(let o) = item, case .string(let name)? = o["name"], ExperimentLoader.isValidIdentifier(name) else {
                        problem(path, "expected {\"name\": \"letters-digits\", \"params\": {\"stage.parameter\": value}}"); continue
                    }
                    if !seen.insert(name).inserted { problem("\(path).name", "variant `\(name)` is named twice") }
                    for k in o.keys.sorted() where k != "name" && k != "params" { problem("\(path).\(k)", "unknown key" + Suggestions.didYouMean(k, in: ["name", "params"])) }
                    var assigns: [(String, JSONValue)] = []
                    if case .object(let params)? = o["params"] {
                        for key in params.keys.sorted() where checkKey(key, path: "\(path).params.\(key)") {
                            if grid.contains(where: { $0.0 == key }) { problem("\(path).params.\(key)", "is also swept by the grid; set it in one place") }
                            assigns.append((key, params[key]!))
                        }
                    }
                    variants.append((name, assigns))
                }
            } else { problem("sweep.variants", "expected a non-empty list of variants") }
        }
        if grid.isEmpty && variants.isEmpty && problems.isEmpty { problem("sweep", "is empty: give a `grid`, `variants`, or both") }
        if !problems.isEmpty { throw SpecError(file: display, problems: problems) }
        if variants.isEmpty { variants = [(nil, [])] }

        // Cartesian product of the grid.
        var combos: [[(String, JSONValue)]] = [[]]
        for (key, values) in grid {
            combos = combos.flatMap { c in values.map { c + [(key, $0)] } }
        }
        var trials: [Trial] = []
        for (variantName, variantAssigns) in variants {
            for combo in combos {
                let assignments = variantAssigns + combo
                var stages = base["stages"]!.objectValue!
                for (key, value) in assignments {
                    let parts = key.split(separator: ".", maxSplits: 1).map(String.init)
                    var stage = stages[parts[0]]!.objectValue!
                    var params = stage["params"]?.objectValue ?? [:]
                    params[parts[1]] = value
                    stage["params"] = .object(params)
                    stages[parts[0]] = .object(stage)
                }
                var nameParts: [String] = []
                if let variantName { nameParts.append(variantName) }
                nameParts += combo.map { "\($0.0)=\($0.1.canonicalText.replacingOccurrences(of: "\"", with: ""))" }
                let trialLabel = nameParts.isEmpty ? "base" : nameParts.joined(separator: ",")
                let name = experiment.name + "@" + trialLabel
                var trialTop = base
                trialTop["stages"] = .object(DestinationNaming.apply(stages, trial: trialLabel, inSweep: true, registry: registry))
                trialTop["sweep"] = nil
                trialTop["name"] = nil
                let trialExperiment: Experiment
                do {
                    trialExperiment = try ExperimentLoader.validate(.object(trialTop), file: file, defaultName: name, registry: registry)
                } catch let e as SpecError {
                    let label = nameParts.joined(separator: ", ")
                    throw SpecError(file: display, problems: e.problems.map { .init(path: $0.path, message: "\($0.message) (in sweep trial \(label))") })
                }
                trials.append(Trial(index: trials.count, name: name, assignments: assignments.map { (key: $0.0, value: $0.1) },
                                    variant: variantName, experiment: trialExperiment,
                                    variantKeys: Set(variantAssigns.map(\.0))))
            }
        }
        return trials
    }
}

/// Where trials write outside the store. `{trial}` in a destination parameter (e.g. export's
/// `path`) becomes the trial's name (`sgns`, `window=2,negatives=5`); in a sweep, a destination
/// without `{trial}` gets the name inserted before its extension (`exports/v.bin` →
/// `exports/v.sgns.bin`; `exports/tsv` → `exports/tsv.sgns`), so trials never overwrite each
/// other's files. Outside a sweep, `{trial}` is the experiment's name.
enum DestinationNaming {
    static let placeholder = "{trial}"

    static func apply(_ stages: [String: JSONValue], trial: String, inSweep: Bool, registry: StageRegistry) -> [String: JSONValue] {
        let safe = trial.replacingOccurrences(of: "/", with: "_")
        var out = stages
        for (id, value) in stages {
            guard case .object(var body) = value, case .string(let typeName)? = body["type"], let type = registry[typeName],
                  case .object(var params)? = body["params"] else { continue }
            var changed = false
            for spec in type.parameters where spec.type == .outputPath {
                guard case .string(let path)? = params[spec.name], !path.isEmpty else { continue }
                let named: String
                if path.contains(placeholder) {
                    named = path.replacingOccurrences(of: placeholder, with: safe)
                } else if inSweep {
                    named = insert(safe, into: path)
                } else {
                    continue
                }
                params[spec.name] = .string(named)
                changed = true
            }
            if changed {
                body["params"] = .object(params)
                out[id] = .object(body)
            }
        }
        return out
    }

    /// `dir/name.ext` → `dir/name.<trial>.ext`; `dir/name` → `dir/name.<trial>`.
    static func insert(_ trial: String, into path: String) -> String {
        let slash = path.lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex
        let file = path[slash...]
        if let dot = file.lastIndex(of: "."), dot != file.startIndex {
            return String(path[..<dot]) + "." + trial + String(path[dot...])
        }
        return path + "." + trial
    }
}
