import Foundation

/// The kind of value a parameter takes, with its constraints.
public enum ParameterType: Sendable, Equatable {
    case integer(ClosedRange<Int64>)
    case number(ClosedRange<Double>)
    case string
    case bool
    case choice([String])
    /// A path to a file outside the store, relative to the experiment file.
    /// The stage key depends on the file's content digest, not on its path.
    case inputFile
    /// A list of strings (e.g. probe words).
    case stringList

    var expectation: String {
        switch self {
        case .integer(let r):
            if r.upperBound == .max { return r.lowerBound == 1 ? "a positive integer" : "an integer ≥ \(r.lowerBound)" }
            return "an integer in \(r.lowerBound)…\(r.upperBound)"
        case .number(let r):
            if r.upperBound == .greatestFiniteMagnitude { return "a number ≥ \(r.lowerBound)" }
            return "a number in \(r.lowerBound)…\(r.upperBound)"
        case .string: return "a string"
        case .bool: return "true or false"
        case .choice(let options): return "one of " + options.map { "\"\($0)\"" }.joined(separator: ", ")
        case .inputFile: return "a file path (relative to the experiment file)"
        case .stringList: return "a list of strings"
        }
    }
}

/// How a parameter takes part in the stage key.
public enum ParameterIdentity: Sendable, Equatable {
    /// Its value is part of the key (it changes the output).
    case value
    /// Only for messages or scheduling; changing it never reruns the stage.
    case ignored
}

/// One parameter a stage reads: the schema behind validation, defaults, keys and `--help`.
public struct ParameterSpec: Sendable {
    public let name: String
    public let type: ParameterType
    /// nil means the parameter is required.
    public let defaultValue: JSONValue?
    public let identity: ParameterIdentity
    public let help: String

    public init(_ name: String, _ type: ParameterType, default defaultValue: JSONValue? = nil,
                identity: ParameterIdentity = .value, help: String) {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.identity = identity
        self.help = help
    }

    public var isOptional: Bool { defaultValue != nil }
}

/// An input slot of a stage, filled by another stage's output.
public struct InputSpec: Sendable {
    public let name: String
    public let kind: String
    public init(_ name: String, kind: String) { self.name = name; self.kind = kind }
}

/// An output a stage writes.
public struct OutputSpec: Sendable {
    public let name: String
    public let kind: String
    public init(_ name: String, kind: String) { self.name = name; self.kind = kind }
}

/// What a stage returns besides its artifacts: a one-line summary for the terminal and
/// figures kept in the run record (reports read them later).
public struct StageOutcome: Sendable {
    public var summary: String
    public var metrics: [String: JSONValue]
    public init(summary: String, metrics: [String: JSONValue] = [:]) {
        self.summary = summary
        self.metrics = metrics
    }
}

/// A step of an experiment. Implementations live outside the engine (the word2vec stages);
/// the engine only knows this contract.
public protocol Stage {
    /// Stable name used in experiment files, e.g. `build-vocab`.
    static var typeName: String { get }
    /// One line for `--help` and `w2v-pipe stages`.
    static var summary: String { get }
    /// Bump whenever the same inputs and parameters would now give different bytes.
    static var implementationVersion: Int { get }
    static var parameters: [ParameterSpec] { get }
    static var inputs: [InputSpec] { get }
    static var outputs: [OutputSpec] { get }

    /// Reads inputs and writes outputs through the context. Must not invent paths.
    static func run(_ context: StageContext) throws -> StageOutcome

    /// The message when a `.inputFile` parameter names a file that does not exist
    /// (a default is provided; stages may say where to get the file).
    static func explainMissingFile(parameter: String, url: URL, parameters: ResolvedParameters) -> String

    /// Where the file of an `.inputFile` parameter can be downloaded from, if the stage knows
    /// (`w2v-pipe fetch` uses it). Default: nowhere.
    static func remoteSource(parameter: String, parameters: ResolvedParameters) -> RemoteSource?

    /// Called after the stage ran or was reused, to place copies of its outputs outside the
    /// store (e.g. exported vector files). Returns the paths it wrote. Default: nothing.
    static func publish(outputs: [String: ArtifactReader], parameters: ResolvedParameters, experimentFile: URL) throws -> [String]
    /// Whether `publish` does anything (so the engine skips opening outputs otherwise).
    static var publishes: Bool { get }
}

extension Stage {
    public static func remoteSource(parameter: String, parameters: ResolvedParameters) -> RemoteSource? { nil }
    public static var publishes: Bool { false }
    public static func publish(outputs: [String: ArtifactReader], parameters: ResolvedParameters, experimentFile: URL) throws -> [String] { [] }
}

/// The set of stage types an engine knows, by name.
public struct StageRegistry: Sendable {
    public let types: [String: any Stage.Type]

    public init(_ stages: [any Stage.Type]) {
        var map: [String: any Stage.Type] = [:]
        for stage in stages { map[stage.typeName] = stage }
        types = map
    }

    public subscript(name: String) -> (any Stage.Type)? { types[name] }
    public var names: [String] { types.keys.sorted() }
}

/// Typed access to a stage's validated parameters (defaults already filled in).
public struct ResolvedParameters: Sendable, Equatable {
    public let values: [String: JSONValue]
    public init(_ values: [String: JSONValue]) { self.values = values }

    public func int(_ name: String) -> Int {
        switch values[name] {
        case .integer(let i): return Int(i)
        case .number(let d): return Int(d)
        default: preconditionFailure("parameter \(name) is not an integer; the schema should have rejected it")
        }
    }
    public func optionalInt(_ name: String) -> Int? {
        if case .null = values[name] ?? .null { return nil }
        return int(name)
    }
    public func double(_ name: String) -> Double {
        guard let d = values[name]?.doubleValue else { preconditionFailure("parameter \(name) is not a number") }
        return d
    }
    public func string(_ name: String) -> String {
        guard case .string(let s) = values[name] else { preconditionFailure("parameter \(name) is not a string") }
        return s
    }
    public func optionalString(_ name: String) -> String? {
        if case .string(let s) = values[name] { return s }
        return nil
    }
    public func bool(_ name: String) -> Bool {
        guard case .bool(let b) = values[name] else { preconditionFailure("parameter \(name) is not a boolean") }
        return b
    }
    public func strings(_ name: String) -> [String] {
        guard case .array(let items) = values[name] else { return [] }
        return items.compactMap(\.stringValue)
    }
}
