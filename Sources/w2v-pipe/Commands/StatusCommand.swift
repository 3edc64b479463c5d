import ArgumentParser
import Foundation
import Pipeline
import Stages

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show each stage as fresh or stale, and why.",
        discussion: """
        Reasons: never run; parameter `min_count` 5 → 10; input changed; input file changed; stage implementation changed; output missing; output corrupted; waits on an upstream stage (reruns only if that stage's output changes).

        Exit codes: 0 the report was printed (stale stages are not an error); 1 an artifact is corrupted (the full report is still printed) or the store cannot be read; 2 invalid experiment file or arguments.
        """
    )

    @Argument(help: "The experiment file (JSON).")
    var experiment: String

    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false

    @Flag(name: .long, help: "Re-hash every artifact instead of trusting verification stamps.")
    var verify = false

    @Option(name: .long, help: ArgumentHelp("Sweeps: the status of trial N only.", valueName: "N"))
    var trial: Int?

    @OptionGroup var storeOptions: StoreOptions

    func run() throws {
        // Corrupted outputs found (stage ids, with the trial for sweeps): reported, then exit 1.
        var corrupted: [String] = []
        do {
            var experiment = try loadExperiment(self.experiment)
            if let trial {
                experiment = try experiment.trial(trial, file: self.experiment)
            } else if !experiment.trials.isEmpty && !json {
                let store = try storeOptions.openStore()
                let engine = Engine(store: store)
                engine.forceVerify = verify
                print("sweep \(experiment.name): \(experiment.trials.count) trials, store \(store.root.relativePathForDisplay)/")
                for t in experiment.trials {
                    let plan = engine.plan(t.experiment)
                    corrupted += Self.corruptedStages(plan).map { "[\(t.index)] \($0)" }
                    let stale = plan.filter { !$0.status.isFresh }
                    print("  [\(t.index)] \(t.label): " + (stale.isEmpty ? "fresh" : "\(stale.count) stale (" + stale.map { $0.stage.id }.joined(separator: ", ") + ")"))
                }
                print("details of one trial: `w2v-pipe status \(self.experiment) --trial N`")
                try Self.failIfCorrupted(corrupted, experiment: self.experiment)
                return
            }
            let store = try storeOptions.openStore()
            let engine = Engine(store: store)
            engine.forceVerify = verify
            let plan = engine.plan(experiment)
            corrupted = Self.corruptedStages(plan)
            if json {
                var items: [JSONValue] = []
                for item in plan {
                    var o: [String: JSONValue] = ["stage": .string(item.stage.id), "type": .string(item.stage.type.typeName)]
                    switch item.status {
                    case .fresh(let record, let shared):
                        o["status"] = .string("fresh")
                        o["key"] = .string(record.key)
                        o["outputs"] = .object(record.outputs.mapValues { .string($0.digest) })
                        if let shared { o["shared_with"] = .string(shared) }
                    case .stale(let reasons, let key):
                        o["status"] = .string("stale")
                        if let key { o["key"] = .string(key) }
                        o["reasons"] = .array(reasons.map { .object(["code": .string($0.code), "message": .string($0.description)]) })
                    }
                    items.append(.object(o))
                }
                let doc: JSONValue = .object(["experiment": .string(experiment.name), "stages": .array(items)])
                let data = try JSONEncoder.pretty.encode(doc)
                print(String(decoding: data, as: UTF8.self))
                try Self.failIfCorrupted(corrupted, experiment: self.experiment)
                return
            }
            print("experiment \(experiment.name) (\(self.experiment)), store \(store.root.relativePathForDisplay)/")
            Output.printPlan(plan, verb: false)
            let stale = plan.filter { !$0.status.isFresh }.count
            print(stale == 0 ? "all \(plan.count) stages fresh" : "\(stale) of \(plan.count) stages stale; `w2v-pipe run \(self.experiment)` brings them up to date")
            try Self.failIfCorrupted(corrupted, experiment: self.experiment)
        } catch let exit as ExitCode {
            throw exit
        } catch {
            throw CLIExit.fail(error)
        }
    }

    /// The stages of `plan` with an output reported as corrupted.
    static func corruptedStages(_ plan: [PlannedStage]) -> [String] {
        plan.compactMap { item in
            guard case .stale(let reasons, _) = item.status else { return nil }
            let corrupt = reasons.contains { if case .outputCorrupted = $0 { return true }; return false }
            return corrupt ? item.stage.id : nil
        }
    }

    /// After the full report: a corrupted artifact is an error (exit 1), unlike a stale stage,
    /// so scripts and CI notice damage to the store.
    static func failIfCorrupted(_ stages: [String], experiment: String) throws {
        guard !stages.isEmpty else { return }
        let one = stages.count == 1
        CLIExit.printError("error: corrupted \(one ? "artifact" : "artifacts") in the store (stage\(one ? "" : "s") \(stages.joined(separator: ", "))); `w2v-pipe run \(experiment)` recomputes \(one ? "it" : "them") (the damaged \(one ? "file is" : "files are") moved aside)")
        throw ExitCode(1)
    }
}

extension JSONEncoder {
    static var pretty: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return e
    }
}
