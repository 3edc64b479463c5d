import Foundation

/// An input slot of a stage, filled by another stage's output.
///
/// An optional slot may be left unwired: validation does not ask for it (but still checks the
/// kind of what is wired to it), the stage key includes it only when it is wired (so declaring
/// a new optional slot changes no existing key), and the stage reads it with
/// `StageContext.read(_: OptionalInput<A>)`, which gives nil when it is not wired.
public struct InputSpec: Sendable {
    public let name: String
    public let kind: String
    public let optional: Bool
    public init(_ name: String, kind: String, optional: Bool = false) {
        self.name = name
        self.kind = kind
        self.optional = optional
    }
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
public protocol Stage: Sendable {
    /// The stage's parameters: one typed value with its defaults, ranges and help.
    associatedtype Parameters: StageParameters
    /// Stable name used in experiment files, e.g. `build-vocab`.
    static var typeName: String { get }
    /// One line for `--help` and `w2v-pipe stages`.
    static var summary: String { get }
    /// Bump whenever the same inputs and parameters would now give different bytes.
    static var implementationVersion: Int { get }
    static var inputs: [InputSpec] { get }
    static var outputs: [OutputSpec] { get }

    /// Reads inputs and writes outputs through the context. Must not invent paths.
    static func run(_ context: StageContext, parameters: Parameters) throws -> StageOutcome

    /// Whether the outputs name the stage's input files by path instead of copying them (a
    /// corpus read in place): the files' paths then enter the stage key beside their contents,
    /// so a moved file reruns the stage. Default false: a file is keyed by its content only.
    static var outputsReferToInputFiles: Bool { get }

    /// File parameters that may also name a folder (checked before any stage runs: it must be
    /// a readable folder; its files' contents key the stage). Default: none, a file is needed.
    static var fileParametersAcceptingFolders: Set<String> { get }
}

/// A stage whose input files can be explained or downloaded when missing (`w2v-pipe fetch`).
public protocol FetchableInputs: Stage {
    /// The message when a file parameter names a file that does not exist.
    static func explainMissingFile(parameter: String, url: URL, parameters: Parameters) -> String
    /// Where the file of a file parameter can be downloaded from, if the stage knows.
    static func remoteSource(parameter: String, parameters: Parameters) -> RemoteSource?
}

/// A stage that places copies of its outputs outside the store (e.g. exported vector files)
/// after it ran or was reused.
public protocol PublishingStage: Stage {
    /// The destinations it would write, for checks before any stage runs (writable folder, no
    /// two stages writing one path).
    static func destinations(parameters: Parameters, experimentFile: URL) -> [URL]
    /// Copies the outputs out; returns the paths it wrote (unchanged files are skipped).
    static func publish(outputs: [String: ArtifactReader], parameters: Parameters, experimentFile: URL) throws -> [String]
}

/// A stage was handed parameters of another stage type (an engine bug, never user input).
public struct ParameterTypeMismatch: Error, CustomStringConvertible {
    public let stage: String
    public var description: String { "internal error: stage type `\(stage)` was given parameters of another type" }
}

extension Stage {
    public static var outputsReferToInputFiles: Bool { false }
    public static var fileParametersAcceptingFolders: Set<String> { [] }

    /// The parameter declarations, for help, validation messages and sweeps.
    public static var parameters: [ParameterSpec] { Parameters.specs }

    /// Decodes a `params` object into this stage's parameters.
    static func decodeParameters(_ given: [String: JSONValue], path: String, context: ParameterDecodingContext)
        -> (value: any StageParameters, problems: [SpecError.Problem]) {
        let (value, problems) = Parameters.decode(given, path: path, stageType: typeName, context: context)
        return (value, problems)
    }

    static func typed(_ parameters: any StageParameters) throws -> Parameters {
        guard let p = parameters as? Parameters else { throw ParameterTypeMismatch(stage: typeName) }
        return p
    }

    static func run(_ context: StageContext, erased parameters: any StageParameters) throws -> StageOutcome {
        try run(context, parameters: typed(parameters))
    }

    /// The default message for a missing input file.
    static func defaultMissingFileMessage(parameter: String, url: URL) -> String {
        "input file not found: \(url.relativePathForDisplay) (parameter `\(parameter)`; paths are relative to the experiment file)"
    }

    /// What to say about a missing input file: the stage's own explanation when it has one.
    public static func explainMissing(parameter: String, url: URL, parameters: any StageParameters) -> String {
        if let fetchable = self as? any FetchableInputs.Type {
            return fetchable.explainErased(parameter: parameter, url: url, parameters: parameters)
        }
        return defaultMissingFileMessage(parameter: parameter, url: url)
    }

    /// Where a missing input file can be downloaded from, when the stage knows.
    public static func remoteSource(parameter: String, parameters: any StageParameters) -> RemoteSource? {
        (self as? any FetchableInputs.Type)?.remoteErased(parameter: parameter, parameters: parameters)
    }
}

extension FetchableInputs {
    static func explainErased(parameter: String, url: URL, parameters: any StageParameters) -> String {
        guard let p = parameters as? Parameters else { return defaultMissingFileMessage(parameter: parameter, url: url) }
        return explainMissingFile(parameter: parameter, url: url, parameters: p)
    }
    static func remoteErased(parameter: String, parameters: any StageParameters) -> RemoteSource? {
        (parameters as? Parameters).flatMap { remoteSource(parameter: parameter, parameters: $0) }
    }
}

extension PublishingStage {
    static func destinationsErased(_ parameters: any StageParameters, experimentFile: URL) -> [URL] {
        (parameters as? Parameters).map { destinations(parameters: $0, experimentFile: experimentFile) } ?? []
    }
    static func publishErased(outputs: [String: ArtifactReader], parameters: any StageParameters, experimentFile: URL) throws -> [String] {
        try publish(outputs: outputs, parameters: typed(parameters), experimentFile: experimentFile)
    }
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

