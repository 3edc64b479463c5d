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
        guard let spec = stageType.inputs.first(where: { $0.name == slot }) else {
            throw StageWiringError(message: "stage type `\(stageType.typeName)` read an input `\(slot)` it does not declare")
        }
        guard let digest = inputDigests[slot] else {
            throw StageWiringError(message: "stage type `\(stageType.typeName)` read its optional input `\(slot)`, which is not wired, without asking whether it is (read it through an `OptionalInput`)")
        }
        return try store.open(digest, kind: spec.kind, maxVersion: maxVersion)
    }

    /// Whether input `slot` is wired in this run (always true for a required slot).
    public func isWired(_ slot: String) -> Bool { inputDigests[slot] != nil }

    /// Opens and decodes the artifact feeding a typed input slot.
    public func read<A: ArtifactType>(_ slot: Input<A>) throws -> A {
        try A(try input(slot.name, maxVersion: A.formatVersion))
    }

    /// Opens and decodes the artifact feeding an optional input slot; nil when it is not wired.
    public func read<A: ArtifactType>(_ slot: OptionalInput<A>) throws -> A? {
        guard isWired(slot.name) else { return nil }
        return try A(try input(slot.name, maxVersion: A.formatVersion))
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

    /// A folder for a stage's scratch files (the store's `tmp/`, on the disk its artifacts go
    /// to). Name them `<process id>-…` so that a later run removes them if this process dies,
    /// and remove them before `run` returns (or unlink them right after opening them).
    public var scratchDirectory: String { store.tmpDirectory }

    /// The SHA-256 of a file the stage reads (hex), from the store's cache when the file's size,
    /// inode and times are unchanged since it was last hashed (the engine hashed the stage's
    /// file parameters already, so this is cheap for them).
    public func fileDigest(_ url: URL) throws -> String { try store.fileDigest(url).digest }

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

/// A typed input slot a stage may be run without (e.g. `cooccur`'s `subsample`): listed with
/// `slot.spec` in `inputs`, read with `context.read(slot)`, which is nil when the experiment
/// does not wire it. Wiring a producer of another kind is still a validation error.
public struct OptionalInput<Artifact: ArtifactType>: Sendable {
    public let name: String
    public init(_ name: String) { self.name = name }
    public var spec: InputSpec { InputSpec(name, kind: Artifact.artifactKind, optional: true) }
}
