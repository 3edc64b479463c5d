import Foundation

/// Submits a sweep to Slurm: the stages every trial shares run once as one job, then the
/// trials run as a job array depending on it (`afterok`), each task running
/// `w2v-pipe run EXP --trial $SLURM_ARRAY_TASK_ID` against the same store, which must be on a
/// filesystem every node sees. Locks are O_EXCL files with host, pid and heartbeat, so they
/// hold across nodes.
public struct SlurmExecutor {
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
    public let binary: String
    public let options: Options

    public init(experiment: Experiment, store: ArtifactStore, binary: String, options: Options) {
        self.experiment = experiment
        self.store = store
        self.binary = binary
        self.options = options
    }

    static func quote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

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
        let exp = experiment.file.standardizedFileURL.path
        let logs = options.logDirectory.path
        let name = experiment.name
        let common = "set -euo pipefail\ncd \(Self.quote(cwd))\necho \"w2v-pipe on $(hostname), job ${SLURM_JOB_ID:-?}\""
        let upstream = header(jobName: "w2v-\(name)-upstream", output: "\(logs)/\(name)-upstream-%j.out", array: nil) + "\n" + common + "\n" +
            "exec \(Self.quote(binary)) run \(Self.quote(exp)) --upstream --store \(Self.quote(store.root.path)) --progress lines\n"
        var array = "0-\(trialCount - 1)"
        if let p = options.maxParallel { array += "%\(p)" }
        let trialArg = experiment.trials.isEmpty ? "" : " --trial \"$SLURM_ARRAY_TASK_ID\""
        let trials = header(jobName: "w2v-\(name)", output: "\(logs)/\(name)-trial-%a-%A.out", array: array) + "\n" + common + "\n" +
            "exec \(Self.quote(binary)) run \(Self.quote(exp))\(trialArg) --store \(Self.quote(store.root.path)) --progress lines\n"
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
