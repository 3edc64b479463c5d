import Foundation
import Synchronization
import Pipeline
import Stages

/// Running and showing sweeps from `run`.
enum SweepCLI {
    static func dryRun(_ experiment: Experiment, engine: Engine) {
        let plan = engine.plan(trials: experiment.trials)
        print("sweep \(experiment.name): \(plan.trials) trials, \(plan.uniqueStages) distinct stage executions (shared work counted once)")
        for (trial, stages) in plan.plans {
            let stale = stages.filter { !$0.status.isFresh }.count
            print("  [\(trial.index)] \(trial.label.isEmpty ? trial.name : trial.label): " + (stale == 0 ? "fresh" : "\(stale) of \(stages.count) stages to run"))
        }
        print(plan.uniqueToRun == 0 ? "nothing to do" : "will run at most \(plan.uniqueToRun) stage executions (stages waiting on an upstream stage run only if its output changes)")
    }

    static func run(_ experiment: Experiment, store: ArtifactStore, jobs: Int, failFast: Bool, quiet: Bool,
                    configure: @escaping @Sendable (Engine) -> Void) -> Bool {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let budget = max(1, cores / max(1, jobs))
        let total = experiment.trials.count
        print("sweep \(experiment.name): \(total) trials, \(jobs) at a time" + (jobs > 1 ? " (\(budget) core(s) each)" : ""))
        let done = Mutex(0) // trials finished; `onFinish` calls are serialised, the lock makes it checkable
        let runner = SweepRunner(store: store, jobs: jobs, failFast: failFast, cancellation: .process) { trial in
            let engine = Engine(store: store) { event in
                guard !quiet, jobs == 1 else {
                    if case .warning(let w) = event { CLIExit.printError("warning: [\(trial.index)] \(w)") }
                    return
                }
                Output.print(event)
            }
            configure(engine)
            if jobs > 1 { engine.progressMode = .quiet; engine.coreBudget = budget }
            if jobs == 1, !quiet { print("[\(trial.index)] \(trial.label)") }
            return engine
        }
        let outcomes = runner.run(experiment.trials) { outcome in
            let done = done.withLock { n in n += 1; return n }
            let label = outcome.trial.label.isEmpty ? outcome.trial.name : outcome.trial.label
            if let error = outcome.error {
                print("[\(done)/\(total)] trial \(outcome.trial.index) (\(label)) FAILED after \(Format.seconds(outcome.seconds)): \(error)")
            } else {
                let ran = outcome.results!.filter { if case .ran = $0.1 { return true }; return false }.count
                print("[\(done)/\(total)] trial \(outcome.trial.index) (\(label)) ok in \(Format.seconds(outcome.seconds)): \(ran) ran, \(outcome.results!.count - ran) reused")
            }
            fflush(nil)
        }
        let failures = outcomes.filter { $0.error != nil }
        let skipped = total - outcomes.count
        if failures.isEmpty && skipped == 0 {
            print("all \(total) trials done; `w2v-pipe compare \(experiment.file.relativePathForDisplay)` shows the results")
            return true
        }
        print("\(failures.count) of \(total) trials failed" + (skipped > 0 ? ", \(skipped) not started" : "") + ":")
        for f in failures { print("  trial \(f.trial.index) (\(f.trial.label)): \(f.error!)") }
        return false
    }
}
