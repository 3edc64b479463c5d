import Foundation

/// What a running stage sees: its parameters, its inputs (verified, memory-mapped), writers
/// for its outputs, progress and cancellation. Stages never build store paths themselves.
public final class StageContext: @unchecked Sendable {
    public let stageID: String
    public let experimentName: String
    public let parameters: ResolvedParameters
    /// External files named by `.inputFile` parameters, resolved against the experiment file.
    public let files: [String: URL]
    public let progress: ProgressReporter
    let store: ArtifactStore
    let stageType: any Stage.Type
    let inputDigests: [String: String]
    private(set) var writers: [String: ArtifactWriter] = [:]
    private var warningsSink: (String) -> Void

    init(stageID: String, experimentName: String, stageType: any Stage.Type, parameters: ResolvedParameters,
         files: [String: URL], inputDigests: [String: String], store: ArtifactStore,
         progress: ProgressReporter, warn: @escaping (String) -> Void) {
        self.stageID = stageID
        self.experimentName = experimentName
        self.stageType = stageType
        self.parameters = parameters
        self.files = files
        self.inputDigests = inputDigests
        self.store = store
        self.progress = progress
        self.warningsSink = warn
    }

    /// Opens the artifact feeding input `slot`. `maxVersion` is the newest format the caller reads.
    public func input(_ slot: String, maxVersion: UInt16) throws -> ArtifactReader {
        guard let spec = stageType.inputs.first(where: { $0.name == slot }), let digest = inputDigests[slot] else {
            preconditionFailure("stage \(stageType.typeName) has no input \(slot)")
        }
        return try store.open(digest, kind: spec.kind, maxVersion: maxVersion)
    }

    /// A writer for output `name`; the engine commits it when `run` returns.
    public func output(_ name: String, formatVersion: UInt16) throws -> ArtifactWriter {
        guard let spec = stageType.outputs.first(where: { $0.name == name }) else {
            preconditionFailure("stage \(stageType.typeName) has no output \(name)")
        }
        precondition(writers[name] == nil, "output \(name) opened twice")
        let w = try store.makeWriter(kind: spec.kind, formatVersion: formatVersion)
        writers[name] = w
        return w
    }

    public var isCancelled: Bool { Cancellation.isRequested }

    public func checkCancelled() throws {
        if Cancellation.isRequested { throw CancelledError() }
    }

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
