import Foundation

/// Runs the trials of a sweep, several at a time if asked, against one store. Trials share
/// every stage whose key they share: the per-key lock makes the first trial compute it and the
/// others reuse it.
public final class SweepRunner: Sendable {
    /// `@unchecked Sendable`: `error` is any `Error` a stage threw (not all are Sendable); an
    /// outcome is built by one worker and handed over once, under the runner's lock.
    public struct TrialOutcome: @unchecked Sendable {
        public let trial: Trial
        public let results: [(StageInstance, Engine.Outcome)]?
        public let error: Error?
        public let seconds: Double
    }

    public let store: ArtifactStore
    public let jobs: Int
    public let failFast: Bool
    let makeEngine: @Sendable (Trial) -> Engine
    /// Stops starting trials once cancelled (running ones stop through their engines' tokens).
    public let cancellation: CancellationToken

    public init(store: ArtifactStore, jobs: Int, failFast: Bool, cancellation: CancellationToken = CancellationToken(),
                makeEngine: @escaping @Sendable (Trial) -> Engine) {
        self.cancellation = cancellation
        self.store = store
        self.jobs = max(1, jobs)
        self.failFast = failFast
        self.makeEngine = makeEngine
    }

    /// Runs the trials; `onFinish` is called (serialised) as each one ends.
    public func run(_ trials: [Trial], onFinish: @escaping @Sendable (TrialOutcome) -> Void = { _ in }) -> [TrialOutcome] {
        /// `@unchecked Sendable`: touched only under `lock`.
        final class State: @unchecked Sendable {
            var outcomes: [Int: TrialOutcome] = [:]
            var stop = false
        }
        let lock = NSLock()
        let state = State()
        let queue = DispatchQueue(label: "w2v-pipe.sweep", attributes: .concurrent)
        let semaphore = DispatchSemaphore(value: jobs)
        let group = DispatchGroup()
        for trial in trials {
            semaphore.wait()
            lock.lock(); let halted = state.stop || cancellation.isCancelled; lock.unlock()
            if halted { semaphore.signal(); break }
            queue.async(group: group) {
                defer { semaphore.signal() }
                let start = Date()
                let outcome: TrialOutcome
                do {
                    let results = try self.makeEngine(trial).run(trial.experiment)
                    outcome = TrialOutcome(trial: trial, results: results, error: nil, seconds: Date().timeIntervalSince(start))
                } catch {
                    outcome = TrialOutcome(trial: trial, results: nil, error: error, seconds: Date().timeIntervalSince(start))
                }
                lock.lock()
                state.outcomes[trial.index] = outcome
                if outcome.error != nil && self.failFast { state.stop = true }
                onFinish(outcome)
                lock.unlock()
            }
        }
        group.wait()
        return trials.compactMap { state.outcomes[$0.index] }
    }
}

extension Engine {
    /// A stage's identity computed from its inputs' identities rather than their digests, so
    /// it is known before upstream stages run. Equal virtual keys mean one execution.
    func virtualKeys(_ experiment: Experiment) -> [String: String] {
        var keys: [String: String] = [:]
        for stage in experiment.stages {
            var files: [String: JSONValue] = [:]
            for (p, url) in stage.files {
                files[p] = .string((try? store.fileDigest(url).digest) ?? "missing:\(url.path)")
            }
            for (p, file) in stage.builtinFiles { files[p] = .string(file.digest) }
            let canonical: JSONValue = .object([
                "type": .string(stage.type.typeName),
                "version": .integer(Int64(stage.type.implementationVersion)),
                "params": .object(stage.keyParameters),
                "inputs": .object(stage.inputs.mapValues { .string((keys[$0.stage] ?? "") + "." + $0.output) }),
                "files": .object(files),
            ])
            keys[stage.id] = sha256Hex(canonical.canonicalText)
        }
        return keys
    }

    public struct SweepPlan {
        public var trials: Int
        /// Distinct stage executions across all trials.
        public var uniqueStages: Int
        /// Of those, how many are not fresh (at most this many will run).
        public var uniqueToRun: Int
        public var plans: [(Trial, [PlannedStage])]
    }

    /// What a sweep would do: per trial plans, and the distinct executions once shared work is counted once.
    public func plan(trials: [Trial]) -> SweepPlan {
        var all = Set<String>(), toRun = Set<String>()
        var plans: [(Trial, [PlannedStage])] = []
        for trial in trials {
            let keys = virtualKeys(trial.experiment)
            let plan = self.plan(trial.experiment)
            for item in plan {
                let k = keys[item.stage.id]!
                all.insert(k)
                if !item.status.isFresh { toRun.insert(k) }
            }
            plans.append((trial, plan))
        }
        return SweepPlan(trials: trials.count, uniqueStages: all.count, uniqueToRun: toRun.count, plans: plans)
    }
}
