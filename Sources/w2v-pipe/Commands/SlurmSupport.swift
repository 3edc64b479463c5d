import ArgumentParser
import Foundation
import Pipeline
import Stages

/// Options for running trials on a Slurm cluster.
struct SlurmOptions: ParsableArguments {
    @Option(name: .long, help: "Where trials run: local (this machine) or slurm (a job array on the cluster; the store must be on a shared filesystem).")
    var executor: Executor = .local

    @Option(name: .long, help: "Slurm partition.") var partition: String?
    @Option(name: .long, help: "Slurm: at most this many trials at once (--array=…%N).") var maxParallel: Int?
    @Option(name: .long, help: ArgumentHelp("Slurm time limit per job.", valueName: "HH:MM:SS")) var time: String?
    @Option(name: .long, help: "Slurm: CPUs per trial (training threads use them).") var cpusPerTrial = 1
    @Option(name: .long, parsing: .singleValue, help: ArgumentHelp("Extra #SBATCH line, e.g. --sbatch-arg=--mem=4G (repeatable).", valueName: "arg"))
    var sbatchArg: [String] = []
    @Option(name: .long, help: ArgumentHelp("Where job logs go (default: <store>/logs).", valueName: "dir")) var logDir: String?
    @Flag(name: .long, help: "Slurm: wait for the jobs, then report failed trials and print the comparison.")
    var wait = false

    enum Executor: String, ExpressibleByArgument, CaseIterable { case local, slurm }

    func executor(_ experiment: Experiment, store: ArtifactStore) -> SlurmExecutor {
        var o = SlurmExecutor.Options(logDirectory: URL(fileURLWithPath: logDir ?? store.root.appendingPathComponent("logs").path).standardizedFileURL)
        o.partition = partition
        o.maxParallel = maxParallel
        o.time = time
        o.cpusPerTrial = cpusPerTrial
        o.extraSbatchArgs = sbatchArg
        // This program's own command lines: the shared stages, then one trial per array task.
        let binary = selfExecutable(), exp = experiment.file.standardizedFileURL.path, root = store.root.path
        let trial = experiment.trials.isEmpty ? [] : ["--trial", SlurmExecutor.JobCommands.taskIndex]
        let commands = SlurmExecutor.JobCommands(
            upstream: [binary, "run", exp, "--upstream", "--store", root, "--progress", "lines"],
            trial: [binary, "run", exp] + trial + ["--store", root, "--progress", "lines"])
        return SlurmExecutor(experiment: experiment, store: store, commands: commands, options: o)
    }
}

/// The absolute path of this binary, for batch scripts.
func selfExecutable() -> String {
    if let p = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return p }
    return URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
}

enum SlurmCLI {
    /// Submits; with `wait`, waits and reports. Returns false if anything failed.
    static func submit(_ experiment: Experiment, store: ArtifactStore, options: SlurmOptions) throws -> Bool {
        let executor = options.executor(experiment, store: store)
        let submission = try executor.submit(scriptDirectory: store.root.appendingPathComponent("slurm"))
        let n = max(1, experiment.trials.count)
        print("submitted to Slurm: shared stages as job \(submission.upstreamJob); \(n) trial(s) as job array \(submission.arrayJob)" +
              (options.maxParallel.map { " (at most \($0) at once)" } ?? "") + ", after it succeeds")
        print("logs: \(executor.options.logDirectory.path)")
        guard options.wait else {
            print("follow with `squeue -j \(submission.upstreamJob),\(submission.arrayJob)`; `w2v-pipe status` and `compare` work on whatever has finished")
            return true
        }
        var last = -1
        CancellationToken.installSignalHandlers()
        try SlurmExecutor.wait(for: [submission.upstreamJob, submission.arrayJob], cancellation: .process) { queued in
            if queued != last { print("  \(queued) job(s) queued or running"); fflush(nil); last = queued }
        }
        let engine = Engine(store: store)
        var ok = true
        let upstream = experiment.sharedUpstream(engine: engine)
        if !engine.plan(upstream).allSatisfy({ $0.status.isFresh }) {
            print("the shared stages did not complete: see \(executor.options.logDirectory.path)/\(experiment.name)-upstream-\(submission.upstreamJob).out")
            ok = false
        }
        let units: [(Int, String, Experiment)] = experiment.trials.isEmpty ? [(0, experiment.name, experiment)]
            : experiment.trials.map { ($0.index, $0.label, $0.experiment) }
        for (i, label, e) in units where !engine.plan(e).allSatisfy({ $0.status.isFresh }) {
            print("trial \(i) (\(label)) FAILED or did not run: log \(executor.logPath(trial: i, arrayJob: submission.arrayJob))")
            ok = false
        }
        print(Comparison.table(Comparison.collect([experiment], store: store), markdown: false))
        print(ok ? "all \(units.count) trial(s) done" : "some trials failed; resubmit the same command to run just those (finished work is reused)")
        return ok
    }
}

struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Write the Slurm batch scripts of an experiment instead of submitting them.",
        discussion: """
        Writes <name>-upstream.sbatch (the stages all trials share) and <name>-trials.sbatch (a job array, one task per trial), then prints the two sbatch commands. Edit the headers for your site if needed.

        Example:
          w2v-pipe plan experiments/sweep-window-negatives.json --emit slurm --out slurm/ --partition cpu --max-parallel 4
        """
    )
    @Argument(help: "The experiment file.") var experiment: String
    @Option(help: "What to emit (slurm).") var emit: String = "slurm"
    @Option(help: "Directory for the scripts.") var out: String = "."
    @OptionGroup var slurm: SlurmOptions
    @OptionGroup var storeOptions: StoreOptions

    func run() throws {
        do {
            guard emit == "slurm" else { throw ValidationError("--emit: only `slurm` is supported") }
            let exp = try loadExperiment(experiment)
            let store = try storeOptions.openStore()
            let s = slurm.executor(exp, store: store).scripts()
            let dir = URL(fileURLWithPath: out)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let up = dir.appendingPathComponent("\(exp.name)-upstream.sbatch"), tr = dir.appendingPathComponent("\(exp.name)-trials.sbatch")
            try s.upstream.write(to: up, atomically: true, encoding: .utf8)
            try s.trials.write(to: tr, atomically: true, encoding: .utf8)
            print("wrote \(up.relativePathForDisplay) and \(tr.relativePathForDisplay); submit with:")
            print("  jid=$(sbatch --parsable \(up.relativePathForDisplay))")
            print("  sbatch --dependency=afterok:$jid \(tr.relativePathForDisplay)")
        } catch { throw CLIExit.fail(error) }
    }
}
