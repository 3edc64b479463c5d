import ArgumentParser
import Foundation
import Pipeline
import Stages

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run an experiment, redoing only the stages that are stale.",
        discussion: """
        Prints, per stage, whether it ran or was reused, how long it took and a one-line summary. Two runs sharing a store compute each stage once (the second waits for the first). Ctrl-C stops cleanly: temporary files are removed and no partial artifact is kept.

        Examples:
          w2v-pipe run experiments/quickstart.json
          w2v-pipe run experiments/quickstart.json --dry-run
          w2v-pipe run experiments/baseline.json --store /data/w2v-store
        """
    )

    @Argument(help: "The experiment file (JSON).")
    var experiment: String

    @Flag(name: .long, help: "Print the plan (what would run and why) without running anything.")
    var dryRun = false

    @Flag(name: .long, help: "Re-hash every artifact instead of trusting verification stamps.")
    var verify = false

    @Flag(name: [.short, .long], help: "Print only errors and the final line.")
    var quiet = false

    @Option(name: .long, help: "Progress display: auto (a live line on a terminal, else a line every 10 s), lines, none.")
    var progress: ProgressChoice = .auto

    @Option(name: .long, help: "Sweeps: run this many trials at once (training threads are divided between them).")
    var jobs = 1

    @Flag(name: .long, help: "Sweeps: stop starting new trials after the first failure.")
    var failFast = false

    @Option(name: .long, help: ArgumentHelp("Sweeps: run only trial N (0-based, as `--dry-run` lists them).", valueName: "N"))
    var trial: Int?

    @Flag(name: .long, help: "Run only the stages every trial of the sweep shares (what a cluster runs first).")
    var upstream = false

    @OptionGroup(title: "Cluster") var slurm: SlurmOptions

    @OptionGroup var storeOptions: StoreOptions

    enum ProgressChoice: String, ExpressibleByArgument, CaseIterable {
        case auto, lines, none

        func mode(quiet: Bool = false) -> ProgressMode {
            switch (self, quiet) {
            case (_, true), (.none, _): return .quiet
            case (.lines, _): return .lines(every: 5)
            case (.auto, _): return .automatic
            }
        }
    }

    func run() throws {
        do {
            var experiment = try loadExperiment(self.experiment)
            let store = try storeOptions.openStore()
            let quiet = self.quiet
            if let trial { experiment = try experiment.trial(trial, file: self.experiment) }
            if !dryRun {
                // Every input file of every trial, every destination: all problems now, exit 2.
                try Preflight.check(experiment.trials.isEmpty ? [experiment] : experiment.trials.map(\.experiment), file: experiment.file)
            }
            if slurm.executor == .slurm {
                if dryRun { print(slurm.executor(experiment, store: store).scripts().trials); return }
                if !(try SlurmCLI.submit(experiment, store: store, options: slurm)) { throw ExitCode(1) }
                return
            }
            if upstream { experiment = experiment.sharedUpstream(engine: Engine(store: store)) }
            if !experiment.trials.isEmpty {
                let probe = Engine(store: store)
                probe.forceVerify = verify
                if dryRun { SweepCLI.dryRun(experiment, engine: probe); return }
                CancellationToken.installSignalHandlers()
                let verify = self.verify, progress = self.progress
                let ok = SweepCLI.run(experiment, store: store, jobs: jobs, failFast: failFast, quiet: quiet) { engine in
                    engine.cancellation = .process
                    engine.forceVerify = verify
                    engine.progressMode = progress.mode(quiet: quiet)
                }
                try CancellationToken.process.check()
                if !ok { throw ExitCode(1) }
                return
            }
            let engine = Engine(store: store) { event in
                if quiet, case .warning = event {} else if quiet { return }
                Output.print(event)
            }
            engine.forceVerify = verify
            if let cpus = ProcessInfo.processInfo.environment["SLURM_CPUS_PER_TASK"].flatMap(Int.init) { engine.coreBudget = cpus }
            engine.progressMode = progress.mode(quiet: quiet)
            if dryRun {
                print("plan for \(experiment.name) (\(self.experiment)), store \(store.root.relativePathForDisplay)/")
                let plan = engine.plan(experiment)
                Output.printPlan(plan, verb: true)
                let toRun = plan.filter { !$0.status.isFresh }.count
                print(toRun == 0 ? "nothing to do: all \(plan.count) stages are up to date" : "\(toRun) of \(plan.count) stages would run (those waiting on an upstream stage run only if its output changes)")
                return
            }
            CancellationToken.installSignalHandlers()
            engine.cancellation = .process
            let start = Date()
            if !quiet {
                print("experiment \(experiment.name) (\(self.experiment)), store \(store.root.relativePathForDisplay)/")
                fflush(nil)
            }
            let results = try engine.run(experiment)
            let ran = results.filter { if case .ran = $0.1 { return true }; return false }.count
            let elapsed = Date().timeIntervalSince(start)
            if ran == 0 {
                print("nothing to do: all \(results.count) stages up to date (\(Format.seconds(elapsed)))")
            } else {
                print("\(results.count) stages: \(ran) ran, \(results.count - ran) reused, in \(Format.seconds(elapsed))")
            }
        } catch let e as ExitCode {
            throw e
        } catch {
            let exit = CLIExit.fail(error)
            if let hint = FetchCommand.hint(self.experiment) { CLIExit.printError(hint) }
            throw exit
        }
    }
}

/// Formatting of engine events and plans for the terminal.
enum Output {
    static func print(_ event: EngineEvent) {
        switch event {
        case .starting(let stage, let reasons):
            Swift.print("  \(pad(stage.id)) \(pad(stage.type.typeName, 12)) running: \(reasons.map(\.description).joined(separator: "; "))")
        case .finished(let stage, let record):
            Swift.print("  \(pad(stage.id)) \(pad(stage.type.typeName, 12)) ran in \(Format.seconds(record.seconds)): \(record.summary)")
        case .reused(let stage, let record, let shared):
            let from = shared.map { " (shared with experiment \($0))" } ?? ""
            Swift.print("  \(pad(stage.id)) \(pad(stage.type.typeName, 12)) reused\(from): \(record.summary)")
        case .waitingForLock(let stage, let owner):
            Swift.print("  \(pad(stage.id)) \(pad(stage.type.typeName, 12)) waiting: \(owner) is computing it")
        case .warning(let message):
            CLIExit.printError("warning: \(message)")
        case .note(let stage, let message):
            Swift.print("  \(pad(stage.id)) \(pad(stage.type.typeName, 12)) \(message)")
        case .published(let stage, let paths):
            Swift.print("  \(pad(stage.id)) \(pad(stage.type.typeName, 12)) wrote \(paths.joined(separator: ", "))")
        }
        fflush(nil)
    }

    static func printPlan(_ plan: [PlannedStage], verb: Bool) {
        for item in plan {
            let state: String
            switch item.status {
            case .fresh(_, let shared):
                state = (verb ? "reuse" : "fresh") + (shared.map { " (shared with experiment \($0))" } ?? "")
            case .stale(let reasons, _):
                let waitsOnly = reasons.count == 1 && { if case .upstreamPending = reasons[0] { return true }; return false }()
                state = (verb ? (waitsOnly ? "maybe" : "run  ") : "stale") + ": " + reasons.map(\.description).joined(separator: "; ")
            }
            Swift.print("  \(pad(item.stage.id)) \(pad(item.stage.type.typeName, 12)) \(state)")
        }
    }

    static func pad(_ s: String, _ width: Int = 10) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }
}
