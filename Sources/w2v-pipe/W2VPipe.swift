import ArgumentParser
import Foundation
import Pipeline
import Stages

@main
struct W2VPipe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "w2v-pipe",
        abstract: "Reproducible word2vec experiments: train, evaluate and compare embeddings without redoing work that has not changed.",
        discussion: """
        An experiment is a JSON file of stages (unzip → tokenize → build-vocab → subsample → train → evaluate → export). Each stage writes versioned, checksummed artifacts into a content-addressed store (./artifacts by default); a rerun redoes only the stages whose inputs, parameters or implementation changed, and `status` says why.

        Start here:
          w2v-pipe run experiments/quickstart.json
          w2v-pipe status experiments/quickstart.json
          w2v-pipe report experiments/quickstart.json
          w2v-pipe nearest king -e experiments/quickstart.json
          w2v-pipe stages          (every stage type and its parameters)

        Exit codes: 0 success; 1 a stage failed (or `status` found a corrupted artifact, or `gc` refused); 2 invalid experiment file or arguments, or a problem found before any stage ran (a missing or unreadable input file, an unwritable or shared destination); 130 interrupted (Ctrl-C; nothing half-written is kept).
        """,
        version: Engine.toolVersion,
        subcommands: [RunCommand.self, StatusCommand.self, ReportCommand.self, NearestCommand.self, AnalogyCommand.self,
                      EvaluateCommand.self, CompareCommand.self, ExploreCommand.self, PlanCommand.self, StagesCommand.self, FetchCommand.self, GCCommand.self, ProbeCommand.self]
    )
}

/// Options every store-using command shares.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The artifact store directory (default: $W2V_PIPE_STORE, else ./artifacts).", valueName: "dir"))
    var store: String?

    func openStore() throws -> ArtifactStore {
        let path = store ?? ProcessInfo.processInfo.environment["W2V_PIPE_STORE"] ?? "artifacts"
        return try ArtifactStore(root: URL(fileURLWithPath: path))
    }
}

/// Turns our errors into a message on stderr and the documented exit code.
enum CLIExit {
    static func fail(_ error: Error) -> ExitCode {
        switch error {
        case let e as SpecError:
            printError(e.description)
            return ExitCode(2)
        case let e as ValidationError:
            printError("error: \(e.message)")
            return ExitCode(2)
        case is CancelledError:
            printError("interrupted: stopped cleanly; no partial artifact was kept")
            return ExitCode(130)
        default:
            printError("error: \(error)")
            return ExitCode(1)
        }
    }

    static func printError(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }
}

extension Experiment {
    /// The experiment of trial `index` of this sweep (for `--trial`); `file` is for the message.
    func trial(_ index: Int, file: String) throws -> Experiment {
        guard trials.indices.contains(index) else {
            throw ValidationError(trials.isEmpty ? "--trial: \(file) has no sweep" : "--trial: \(file) has trials 0…\(trials.count - 1)")
        }
        return trials[index].experiment
    }
}

func loadExperiment(_ path: String) throws -> Experiment {
    try ExperimentLoader.load(URL(fileURLWithPath: path), registry: Word2VecStages.registry)
}
