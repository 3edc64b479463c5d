import Foundation

/// What the engine reports while it works; the CLI turns these into lines.
public enum EngineEvent {
    case starting(stage: StageInstance, reasons: [StaleReason])
    case finished(stage: StageInstance, record: RunRecord)
    case reused(stage: StageInstance, record: RunRecord, sharedWith: String?)
    case waitingForLock(stage: StageInstance, owner: String)
    case warning(String)
    case published(stage: StageInstance, paths: [String])
    case note(stage: StageInstance, message: String)
}

public struct StageFailure: Error, CustomStringConvertible {
    public let stage: String
    public let type: String
    public let underlying: Error
    /// Where the failing stage's inputs came from, down to the files they were made of
    /// ("input `text` ← stage `corpus` (unzip) reading data/x.zip, member \"text8\"").
    public var provenance: [String] = []

    public init(stage: String, type: String, underlying: Error, provenance: [String] = []) {
        self.stage = stage
        self.type = type
        self.underlying = underlying
        self.provenance = provenance
    }

    public var description: String {
        "stage `\(stage)` (\(type)) failed: \(underlying)" + provenance.map { "\n  " + $0 }.joined()
    }
}

extension Experiment {
    /// One line per input of `stage`: the chain of stages it came from and the files and
    /// settings at its root, so an error names the data it is about.
    public func provenance(of stage: StageInstance) -> [String] {
        func describe(_ s: StageInstance, depth: Int) -> String {
            var text = "stage `\(s.id)` (\(s.type.typeName))"
            var own: [String] = s.files.sorted { $0.key < $1.key }.map { "reading \($0.value.relativePathForDisplay)" }
            own += s.builtinFiles.sorted { $0.key < $1.key }.map { "reading \($0.value.reference)" }
            if !own.isEmpty {
                // Short string settings say which part of a file (e.g. the zip member).
                let settings = s.keyParameters.sorted { $0.key < $1.key }.compactMap { k, v -> String? in
                    if case .string(let t) = v, t.count <= 40 { return "\(k) \(v.displayText)" } else { return nil }
                }
                text += " " + (own + settings).joined(separator: ", ")
            }
            guard depth < 8 else { return text }
            let upstream = s.inputs.sorted { $0.key < $1.key }.compactMap { _, ref in self.stage(ref.stage) }
            var seen = Set<String>()
            let parents = upstream.filter { seen.insert($0.id).inserted }.map { describe($0, depth: depth + 1) }
            return parents.isEmpty ? text : text + " ← " + parents.joined(separator: " + ")
        }
        return stage.inputs.sorted { $0.key < $1.key }.compactMap { slot, ref in
            guard let producer = self.stage(ref.stage) else { return nil }
            return "input `\(slot)` ← " + describe(producer, depth: 0)
        }
    }
}

/// A plan line: what a run would do with one stage.
public struct PlannedStage {
    public let stage: StageInstance
    public let status: StageStatus
}

/// Runs experiments against a store: computes keys and staleness, runs what is stale under a
/// per-key lock, and records what ran.
public final class Engine {
    public let store: ArtifactStore
    public var progressMode: ProgressMode = .automatic
    /// Re-hash every output instead of trusting verification stamps.
    public var forceVerify = false
    public var lockTimeout: TimeInterval = .infinity
    /// Cores a stage may use when its thread count is "all cores" (a sweep running several
    /// trials at once divides the machine between them).
    public var coreBudget: Int?
    /// Polled between stages and by the running stage; cancel it to stop cleanly.
    public var cancellation = CancellationToken()
    private let events: (EngineEvent) -> Void

    public static let toolVersion = "0.1.0"

    public init(store: ArtifactStore, events: @escaping (EngineEvent) -> Void = { _ in }) {
        self.store = store
        self.events = events
    }

    // MARK: Status

    /// The status of every stage, in run order, without running anything.
    public func plan(_ experiment: Experiment) -> [PlannedStage] {
        var known: [OutputReference: String] = [:]
        var plan: [PlannedStage] = []
        for stage in experiment.stages {
            let status = evaluate(stage, in: experiment, known: known).status
            if case .fresh(let record, _) = status {
                for (name, out) in record.outputs { known[OutputReference(stage: stage.id, output: name)] = out.digest }
            }
            plan.append(PlannedStage(stage: stage, status: status))
        }
        return plan
    }

    struct Evaluation {
        var status: StageStatus
        var identity: StageIdentity?
    }

    func evaluate(_ stage: StageInstance, in experiment: Experiment, known: [OutputReference: String]) -> Evaluation {
        let ref = store.ref(experiment: experiment.name, stage: stage.id)
        var files: [String: FileRecord] = [:]
        var blocking: [StaleReason] = []
        for (param, url) in stage.files.sorted(by: { $0.key < $1.key }) {
            if let record = try? store.fileDigest(url) { files[param] = record }
            else { blocking.append(.fileMissing(parameter: param, path: url.relativePathForDisplay)) }
        }
        for (param, file) in stage.builtinFiles {
            files[param] = FileRecord(path: file.reference, digest: file.digest, bytes: UInt64(file.byteCount))
        }
        var inputs: [String: String] = [:]
        var pending: [String] = []
        for (slot, ref) in stage.inputs.sorted(by: { $0.key < $1.key }) {
            if let d = known[ref] { inputs[slot] = d } else if !pending.contains(ref.stage) { pending.append(ref.stage) }
        }
        let params = stage.keyParameters
        if !blocking.isEmpty || !pending.isEmpty {
            // Explain what we can without the missing digests: own changes, then what we wait on.
            var reasons = blocking
            if let ref {
                let partial = StageIdentity(type: stage.type.typeName, implementationVersion: stage.type.implementationVersion,
                                            parameters: params, inputs: ref.inputs, files: ref.files.merging(files) { $1 },
                                            keysFilePaths: stage.type.outputsReferToInputFiles)
                reasons += partial.reasons(comparedTo: ref, inputProducers: stage.inputs).filter { $0 != .recordMissing }
            } else {
                reasons.append(.neverRun)
            }
            if !pending.isEmpty { reasons.append(.upstreamPending(pending)) }
            return Evaluation(status: .stale(reasons, key: nil), identity: nil)
        }
        let identity = StageIdentity(type: stage.type.typeName, implementationVersion: stage.type.implementationVersion,
                                     parameters: params, inputs: inputs, files: files,
                                     keysFilePaths: stage.type.outputsReferToInputFiles)
        let key = identity.key
        if let record = store.runRecord(key: key) {
            var problems: [StaleReason] = []
            for output in stage.type.outputs {
                guard let out = record.outputs[output.name] else { problems.append(.outputMissing(output.name)); continue }
                switch store.checkObject(out.digest, forceVerify: forceVerify) {
                case .ok: break
                case .missing: problems.append(.outputMissing(output.name))
                case .corrupted(let detail): problems.append(.outputCorrupted(output.name, detail: detail))
                }
            }
            if problems.isEmpty {
                let shared = record.experiment == experiment.name ? nil : record.experiment
                return Evaluation(status: .fresh(record, sharedWith: shared), identity: identity)
            }
            return Evaluation(status: .stale(problems, key: key), identity: identity)
        }
        return Evaluation(status: .stale(identity.reasons(comparedTo: ref, inputProducers: stage.inputs), key: key), identity: identity)
    }

    // MARK: Run

    public enum Outcome {
        case ran(RunRecord)
        case reused(RunRecord, sharedWith: String?)
    }

    /// Runs every stale stage in order; returns what happened to each.
    @discardableResult
    public func run(_ experiment: Experiment) throws -> [(StageInstance, Outcome)] {
        store.cleanTemporaryFiles()
        var known: [OutputReference: String] = [:]
        var results: [(StageInstance, Outcome)] = []
        for stage in experiment.stages {
            try cancellation.check()
            let outcome = try runOne(stage, in: experiment, known: known)
            let record: RunRecord
            switch outcome {
            case .ran(let r): record = r
            case .reused(let r, _): record = r
            }
            for (name, out) in record.outputs { known[OutputReference(stage: stage.id, output: name)] = out.digest }
            try updateRef(experiment: experiment.name, stage: stage, record: record)
            try publish(stage, record: record, experiment: experiment)
            results.append((stage, outcome))
        }
        return results
    }

    func runOne(_ stage: StageInstance, in experiment: Experiment, known: [OutputReference: String]) throws -> Outcome {
        var evaluation = evaluate(stage, in: experiment, known: known)
        if case .fresh(let record, let shared) = evaluation.status {
            events(.reused(stage: stage, record: record, sharedWith: shared))
            return .reused(record, sharedWith: shared)
        }
        guard case .stale(let reasons, _) = evaluation.status, let identity = evaluation.identity else {
            // Blocked: a missing input file. Let the stage explain how to get it.
            if case .stale(let reasons, _) = evaluation.status {
                for case .fileMissing(let param, _) in reasons {
                    guard let url = stage.files[param] else { continue }
                    throw StageFailure(stage: stage.id, type: stage.type.typeName,
                                       underlying: MissingInputFile(message: stage.type.explainMissing(parameter: param, url: url, parameters: stage.parameters)))
                }
            }
            throw StageFailure(stage: stage.id, type: stage.type.typeName,
                               underlying: StageWiringError(message: "inputs of `\(stage.id)` are unknown after their producers ran"))
        }
        let key = identity.key
        let lock = try StageLock.acquire(path: store.lockPath(key), timeout: lockTimeout) { owner in
            self.events(.waitingForLock(stage: stage, owner: owner))
        }
        defer { lock.release() }
        // Another process may have produced it while we waited.
        evaluation = evaluate(stage, in: experiment, known: known)
        if case .fresh(let record, let shared) = evaluation.status {
            events(.reused(stage: stage, record: record, sharedWith: shared))
            return .reused(record, sharedWith: shared)
        }
        for reason in reasons {
            if case .outputCorrupted(let name, let detail) = reason {
                events(.warning("stage `\(stage.id)`: output `\(name)` is corrupted (\(detail)); recomputing it"))
            }
        }
        if let old = store.runRecord(key: key) {
            for out in old.outputs.values where store.checkObject(out.digest) != .ok { store.quarantine(out.digest) }
        }
        events(.starting(stage: stage, reasons: reasons))
        let progress = ProgressReporter(label: stage.id, mode: progressMode)
        let context = StageContext(stageID: stage.id, experimentName: experiment.name, stageType: stage.type,
                                   inputDigests: identity.inputs, cancellation: cancellation,
                                   store: store, progress: progress, warn: { self.events(.warning("stage `\(stage.id)`: \($0)")) })
        if let coreBudget { context.coreBudget = coreBudget }
        context.noteSink = { self.events(.note(stage: stage, message: $0)) }
        let started = Date()
        let outcome: StageOutcome
        do {
            outcome = try stage.type.run(context, erased: stage.parameters)
            progress.finish()
            try context.checkCancelled()
        } catch {
            progress.finish()
            context.abandonAll()
            if error is CancelledError { throw error }
            throw StageFailure(stage: stage.id, type: stage.type.typeName, underlying: error,
                               provenance: experiment.provenance(of: stage))
        }
        var outputs: [String: OutputRecord] = [:]
        // Every output's fsync at once, then each is moved into place.
        do {
            try ArtifactWriter.finishAll(stage.type.outputs.compactMap { context.writers[$0.name] })
        } catch {
            context.abandonAll()
            throw error
        }
        for spec in stage.type.outputs {
            guard let writer = context.writers[spec.name] else {
                context.abandonAll()
                throw StageFailure(stage: stage.id, type: stage.type.typeName, underlying: MissingInputFile(message: "did not write its output `\(spec.name)` (a bug in the stage)"))
            }
            outputs[spec.name] = try store.commit(writer)
        }
        let record = RunRecord(key: key, experiment: experiment.name, stage: stage.id, type: stage.type.typeName,
                               implementationVersion: stage.type.implementationVersion, parameters: identity.parameters,
                               inputs: identity.inputs, files: identity.files, outputs: outputs, startedAt: started,
                               seconds: Date().timeIntervalSince(started), toolVersion: Self.toolVersion,
                               host: StageLock.hostName, summary: outcome.summary, metrics: outcome.metrics)
        try store.save(record)
        events(.finished(stage: stage, record: record))
        return .ran(record)
    }

    /// Lets a stage copy its outputs out of the store (export); cheap when already in place.
    func publish(_ stage: StageInstance, record: RunRecord, experiment: Experiment) throws {
        guard let publisher = stage.type as? any PublishingStage.Type else { return }
        var readers: [String: ArtifactReader] = [:]
        for spec in stage.type.outputs {
            guard let out = record.outputs[spec.name] else { continue }
            readers[spec.name] = try store.open(out.digest, kind: spec.kind, maxVersion: .max)
        }
        do {
            let paths = try publisher.publishErased(outputs: readers, parameters: stage.parameters, experimentFile: experiment.file)
            if !paths.isEmpty { events(.published(stage: stage, paths: paths)) }
        } catch {
            throw StageFailure(stage: stage.id, type: stage.type.typeName, underlying: error)
        }
    }

    func updateRef(experiment: String, stage: StageInstance, record: RunRecord) throws {
        if let existing = store.ref(experiment: experiment, stage: stage.id), existing.key == record.key,
           existing.outputs == record.outputs { return }
        let ref = StageRef(key: record.key, type: record.type, implementationVersion: record.implementationVersion,
                           parameters: record.parameters, inputs: record.inputs, files: record.files,
                           outputs: record.outputs, updatedAt: Date())
        try store.save(ref, experiment: experiment, stage: stage.id)
    }
}

public struct MissingInputFile: Error, CustomStringConvertible {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

