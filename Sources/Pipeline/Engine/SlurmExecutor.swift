import Foundation

/// Submits a sweep to Slurm: the stages every trial shares run once as one job, then the
/// trials run as a job array depending on it (`afterok`), each task running one trial against
/// the same store, which must be on a filesystem every node sees. Locks are O_EXCL files with
/// host, pid and heartbeat, so they hold across nodes. What each job executes is the caller's
/// (`JobCommands`): the engine knows no command line.
public struct SlurmExecutor {
    /// The command lines of the jobs, supplied by the program that submits them.
    public struct JobCommands: Sendable {
        /// Stands for the array task's index (`$SLURM_ARRAY_TASK_ID`) among a trial job's arguments.
        public static let taskIndex = "\u{0}SLURM_ARRAY_TASK_ID"
        /// Runs the stages every trial shares.
        public var upstream: [String]
        /// Runs one trial; contains `taskIndex` where the trial's index goes.
        public var trial: [String]
        public init(upstream: [String], trial: [String]) {
            self.upstream = upstream
            self.trial = trial
        }
    }

    public struct Options {
        public var partition: String?
        public var maxParallel: Int?
        public var time: String?
        public var cpusPerTrial: Int = 1
        public var extraSbatchArgs: [String] = []
        public var logDirectory: URL
        public init(logDirectory: URL) { self.logDirectory = logDirectory }
    }

    public struct Scripts {
        public var upstream: String
        public var trials: String
    }

    public struct Submission {
        public var upstreamJob: String
        public var arrayJob: String
    }

    public let experiment: Experiment
    public let store: ArtifactStore
    public let commands: JobCommands
    public let options: Options

    public init(experiment: Experiment, store: ArtifactStore, commands: JobCommands, options: Options) {
        self.experiment = experiment
        self.store = store
        self.commands = commands
        self.options = options
    }

    static func quote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    /// `exec` of the arguments, each quoted for the shell, the task index left to the shell.
    static func exec(_ arguments: [String]) -> String {
        "exec " + arguments.map { $0 == JobCommands.taskIndex ? "\"$SLURM_ARRAY_TASK_ID\"" : quote($0) }.joined(separator: " ") + "\n"
    }

    var trialCount: Int { max(1, experiment.trials.count) }

    func header(jobName: String, output: String, array: String?) -> String {
        var lines = ["#!/bin/bash", "#SBATCH --job-name=\(jobName)", "#SBATCH --output=\(output)",
                     "#SBATCH --cpus-per-task=\(options.cpusPerTrial)"]
        if let array { lines.append("#SBATCH --array=\(array)") }
        if let p = options.partition { lines.append("#SBATCH --partition=\(p)") }
        if let t = options.time { lines.append("#SBATCH --time=\(t)") }
        for a in options.extraSbatchArgs { lines.append("#SBATCH \(a)") }
        return lines.joined(separator: "\n")
    }

    /// The two batch scripts (for `plan --emit slurm`, and what `submit` sends).
    public func scripts() -> Scripts {
        let cwd = FileManager.default.currentDirectoryPath
        let logs = options.logDirectory.path
        let name = experiment.name
        let common = "set -euo pipefail\ncd \(Self.quote(cwd))\necho \"w2v-pipe on $(hostname), job ${SLURM_JOB_ID:-?}\""
        let upstream = header(jobName: "w2v-\(name)-upstream", output: "\(logs)/\(name)-upstream-%j.out", array: nil) + "\n" + common + "\n" +
            Self.exec(commands.upstream)
        var array = "0-\(trialCount - 1)"
        if let p = options.maxParallel { array += "%\(p)" }
        let trials = header(jobName: "w2v-\(name)", output: "\(logs)/\(name)-trial-%a-%A.out", array: array) + "\n" + common + "\n" +
            Self.exec(commands.trial)
        return Scripts(upstream: upstream, trials: trials)
    }

    /// Log file of trial `index` in array job `arrayJob`.
    public func logPath(trial index: Int, arrayJob: String) -> String {
        options.logDirectory.appendingPathComponent("\(experiment.name)-trial-\(index)-\(arrayJob).out").path
    }

    /// Writes the scripts to `directory` and submits them.
    public func submit(scriptDirectory: URL) throws -> Submission {
        try FileManager.default.createDirectory(at: options.logDirectory, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: scriptDirectory, withIntermediateDirectories: true)
        let s = scripts()
        let up = scriptDirectory.appendingPathComponent("\(experiment.name)-upstream.sbatch")
        let tr = scriptDirectory.appendingPathComponent("\(experiment.name)-trials.sbatch")
        try s.upstream.write(to: up, atomically: true, encoding: .utf8)
        try s.trials.write(to: tr, atomically: true, encoding: .utf8)
        let a = try Self.command("sbatch", ["--parsable", up.path])
        let jobA = String(a.split(separator: ";").first ?? Substring(a))
        let b = try Self.command("sbatch", ["--parsable", "--dependency=afterok:\(jobA)", "--kill-on-invalid-dep=yes", tr.path])
        let jobB = String(b.split(separator: ";").first ?? Substring(b))
        return Submission(upstreamJob: jobA, arrayJob: jobB)
    }

    /// Blocks until neither job is in the queue. Calls `tick` with the number of queued entries.
    public static func wait(for jobs: [String], poll: TimeInterval = 2, cancellation: CancellationToken = CancellationToken(),
                            tick: (Int) -> Void = { _ in }) throws {
        while true {
            let out = try command("squeue", ["-h", "-j", jobs.joined(separator: ","), "-o", "%i %T"], allowFailure: true)
            let lines = out.split(separator: "\n").filter { !$0.isEmpty }
            if lines.isEmpty { return }
            tick(lines.count)
            try cancellation.check()
            Thread.sleep(forTimeInterval: poll)
        }
    }

    public enum SlurmError: Error, CustomStringConvertible {
        case commandFailed(String, Int32, String)
        case notFound(String)
        public var description: String {
            switch self {
            case .commandFailed(let c, let code, let err): return "`\(c)` failed (exit \(code)): \(err.trimmingCharacters(in: .whitespacesAndNewlines))"
            case .notFound(let c): return "`\(c)` not found: is this a Slurm login node? (install slurm-client, or use `w2v-pipe plan EXP --emit slurm` and submit elsewhere)"
            }
        }
    }

    @discardableResult
    static func command(_ name: String, _ args: [String], allowFailure: Bool = false) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [name] + args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        do { try p.run() } catch { throw SlurmError.notFound(name) }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        if p.terminationStatus == 127 { throw SlurmError.notFound(name) }
        if p.terminationStatus != 0 && !allowFailure {
            throw SlurmError.commandFailed(([name] + args).joined(separator: " "), p.terminationStatus, String(decoding: e, as: UTF8.self))
        }
        return String(decoding: o, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

extension Experiment {
    /// The stages every trial shares (same identity in all of them), as an experiment of their
    /// own: what a cluster runs once before the trials. Without a sweep, the whole experiment.
    public func sharedUpstream(engine: Engine) -> Experiment {
        guard let first = trials.first else { return self }
        let keys = trials.map { engine.virtualKeys($0.experiment) }
        let shared = first.experiment.stages.filter { s in keys.allSatisfy { $0[s.id] == keys[0][s.id] } }
        return Experiment(name: first.name, file: file, stages: shared)
    }
}
