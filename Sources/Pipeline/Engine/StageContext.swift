import Foundation

/// What a running stage sees: its parameters, its inputs (verified, memory-mapped), writers
/// for its outputs, progress and cancellation. Stages never build store paths themselves.
/// `@unchecked Sendable`: `writers` is mutated only by the stage's own thread (opening outputs)
/// and read by the engine after `run` returned; everything else is immutable or Sendable.
public final class StageContext: @unchecked Sendable {
    public let stageID: String
    public let experimentName: String
    public let progress: ProgressReporter
    let store: ArtifactStore
    let stageType: any Stage.Type
    let inputDigests: [String: String]
    public let cancellation: CancellationToken
    private(set) var writers: [String: ArtifactWriter] = [:]
    private var warningsSink: (String) -> Void

    init(stageID: String, experimentName: String, stageType: any Stage.Type, inputDigests: [String: String], cancellation: CancellationToken, store: ArtifactStore,
         progress: ProgressReporter, warn: @escaping (String) -> Void) {
        self.stageID = stageID
        self.experimentName = experimentName
        self.stageType = stageType
        self.inputDigests = inputDigests
        self.cancellation = cancellation
        self.store = store
        self.progress = progress
        self.warningsSink = warn
    }

    /// Opens the artifact feeding input `slot`. `maxVersion` is the newest format the caller reads.
    public func input(_ slot: String, maxVersion: UInt16) throws -> ArtifactReader {
        guard let spec = stageType.inputs.first(where: { $0.name == slot }), let digest = inputDigests[slot] else {
            throw StageWiringError(message: "stage type `\(stageType.typeName)` read an input `\(slot)` it does not declare")
        }
        return try store.open(digest, kind: spec.kind, maxVersion: maxVersion)
    }

    /// Opens and decodes the artifact feeding a typed input slot.
    public func read<A: ArtifactType>(_ slot: Input<A>) throws -> A {
        try A(try input(slot.name, maxVersion: A.formatVersion))
    }

    /// A writer for output `name`; the engine commits it when `run` returns.
    public func output(_ name: String, formatVersion: UInt16) throws -> ArtifactWriter {
        guard let spec = stageType.outputs.first(where: { $0.name == name }) else {
            throw StageWiringError(message: "stage type `\(stageType.typeName)` wrote an output `\(name)` it does not declare")
        }
        guard writers[name] == nil else {
            throw StageWiringError(message: "stage type `\(stageType.typeName)` opened its output `\(name)` twice")
        }
        let w = try store.makeWriter(kind: spec.kind, formatVersion: formatVersion)
        writers[name] = w
        return w
    }

    public var isCancelled: Bool { cancellation.isCancelled }

    public func checkCancelled() throws { try cancellation.check() }

    public func warn(_ message: String) { warningsSink(message) }

    /// An informational line shown while the stage runs (e.g. the memory a stage will need).
    public func note(_ message: String) { noteSink(message) }
    var noteSink: (String) -> Void = { _ in }

    /// Cores on this machine (for stages that default their thread count to it).
    public var availableCores: Int { max(1, coreBudget ?? ProcessInfo.processInfo.activeProcessorCount) }
    var coreBudget: Int?

    func abandonAll() {
        for w in writers.values { w.abandon() }
    }
}

/// A stage read or wrote a slot it does not declare (a bug in the stage, never user input).
public struct StageWiringError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { "internal error: \(message)" }
}

/// An artifact kind with a typed reader: what flows through an `Input` slot.
public protocol ArtifactType {
    /// The kind name stored in the artifact header and compared when stages are wired.
    static var artifactKind: String { get }
    /// The newest payload format this build reads and writes.
    static var formatVersion: UInt16 { get }
    init(_ reader: ArtifactReader) throws
}

/// A typed input slot: a stage declares `static let vocab = Input<Vocabulary>("vocab")`, lists
/// `vocab.spec` in `inputs`, and reads it with `context.read(vocab)`, so the slot's name, kind and
/// reader cannot disagree. Wiring a producer of another kind is one validation error.
public struct Input<Artifact: ArtifactType>: Sendable {
    public let name: String
    public init(_ name: String) { self.name = name }
    public var spec: InputSpec { InputSpec(name, kind: Artifact.artifactKind) }
}
