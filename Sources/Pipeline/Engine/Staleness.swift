import Foundation

/// Why a stage must run. A value, so `status` can explain and tests can assert.
public enum StaleReason: Equatable, Sendable, CustomStringConvertible {
    case neverRun
    case implementationChanged(from: Int, to: Int)
    case typeChanged(from: String, to: String)
    case parameterChanged(name: String, from: JSONValue?, to: JSONValue?)
    case inputChanged(slot: String, from: String)
    case fileChanged(parameter: String, path: String)
    case fileMissing(parameter: String, path: String)
    /// Same content at another path, for a stage whose outputs refer to its files by path.
    case fileMoved(parameter: String, from: String, to: String)
    /// An upstream stage will run first; this one reruns only if that changes its output.
    case upstreamPending([String])
    case outputMissing(String)
    case outputCorrupted(String, detail: String)
    /// Nothing differs from the last run, but its record is gone (e.g. after `gc`).
    case recordMissing

    public var description: String {
        switch self {
        case .neverRun: return "never run"
        case .implementationChanged(let a, let b): return "stage implementation changed (version \(a) → \(b))"
        case .typeChanged(let a, let b): return "stage type changed (\(a) → \(b))"
        case .parameterChanged(let name, let a, let b):
            return "parameter `\(name)` \(a?.displayText ?? "unset") → \(b?.displayText ?? "unset")"
        case .inputChanged(let slot, let from): return "input `\(slot)` changed (from \(from))"
        case .fileChanged(let p, let path): return "input file changed (\(p): \(path))"
        case .fileMissing(let p, let path): return "input file missing (\(p): \(path))"
        case .fileMoved(let p, let a, let b): return "input file moved (\(p): \(a) → \(b)); its output refers to the file by path"
        case .upstreamPending(let stages):
            return "waits on \(stages.map { "`\($0)`" }.joined(separator: ", ")) (reruns only if its output changes)"
        case .outputMissing(let o): return "output `\(o)` missing"
        case .outputCorrupted(let o, let d): return "output `\(o)` corrupted (\(d))"
        case .recordMissing: return "run record missing (store cleaned?)"
        }
    }

    /// Machine-readable tag for `--json`.
    public var code: String {
        switch self {
        case .neverRun: return "never-run"
        case .implementationChanged: return "implementation-changed"
        case .typeChanged: return "type-changed"
        case .parameterChanged: return "parameter-changed"
        case .inputChanged: return "input-changed"
        case .fileChanged: return "file-changed"
        case .fileMissing: return "file-missing"
        case .fileMoved: return "file-moved"
        case .upstreamPending: return "upstream-pending"
        case .outputMissing: return "output-missing"
        case .outputCorrupted: return "output-corrupted"
        case .recordMissing: return "record-missing"
        }
    }
}

public enum StageStatus: Sendable {
    /// Up to date: its record and outputs are in the store. `sharedWith` names the experiment
    /// that produced it when that is another one.
    case fresh(RunRecord, sharedWith: String?)
    case stale([StaleReason], key: String?)

    public var isFresh: Bool { if case .fresh = self { return true }; return false }
}

/// The identity of one stage execution; its SHA-256 is the stage key.
public struct StageIdentity: Sendable {
    public var type: String
    public var implementationVersion: Int
    public var parameters: [String: JSONValue]
    public var inputs: [String: String]
    public var files: [String: FileRecord]
    /// Whether the files' paths, not only their contents, are part of the key (a stage whose
    /// outputs refer to its input files by path: `Stage.outputsReferToInputFiles`).
    public var keysFilePaths = false

    public init(type: String, implementationVersion: Int, parameters: [String: JSONValue], inputs: [String: String],
                files: [String: FileRecord], keysFilePaths: Bool = false) {
        self.type = type
        self.implementationVersion = implementationVersion
        self.parameters = parameters
        self.inputs = inputs
        self.files = files
        self.keysFilePaths = keysFilePaths
    }

    public var key: String {
        var fileDigests: [String: JSONValue] = [:]
        for (k, v) in files {
            fileDigests[k] = keysFilePaths ? .object(["digest": .string(v.digest), "path": .string(v.path)]) : .string(v.digest)
        }
        let canonical: JSONValue = .object([
            "type": .string(type),
            "version": .integer(Int64(implementationVersion)),
            "params": .object(parameters),
            "inputs": .object(inputs.mapValues { .string($0) }),
            "files": .object(fileDigests),
        ])
        return sha256Hex(canonical.canonicalText)
    }

    /// Compares against the last ref of the same stage and lists every difference.
    func reasons(comparedTo ref: StageRef?, inputProducers: [String: OutputReference]) -> [StaleReason] {
        guard let ref else { return [.neverRun] }
        var out: [StaleReason] = []
        if ref.type != type { out.append(.typeChanged(from: ref.type, to: type)) }
        else if ref.implementationVersion != implementationVersion {
            out.append(.implementationChanged(from: ref.implementationVersion, to: implementationVersion))
        }
        for name in Set(ref.parameters.keys).union(parameters.keys).sorted() where ref.parameters[name] != parameters[name] {
            out.append(.parameterChanged(name: name, from: ref.parameters[name], to: parameters[name]))
        }
        // Both sides: an optional input that was wired and no longer is changed too.
        for slot in Set(ref.inputs.keys).union(inputs.keys).sorted() where ref.inputs[slot] != inputs[slot] {
            out.append(.inputChanged(slot: slot, from: inputProducers[slot]?.description ?? (inputs[slot] == nil ? "no stage: it is no longer wired" : "?")))
        }
        for (p, f) in files.sorted(by: { $0.key < $1.key }) {
            if ref.files[p]?.digest != f.digest {
                out.append(.fileChanged(parameter: p, path: f.path))
            } else if keysFilePaths, let old = ref.files[p]?.path, old != f.path {
                out.append(.fileMoved(parameter: p, from: old, to: f.path))
            }
        }
        return out.isEmpty ? [.recordMissing] : out
    }
}
