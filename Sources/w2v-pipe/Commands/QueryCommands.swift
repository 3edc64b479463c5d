import ArgumentParser
import Foundation
import Pipeline
import Stages

struct NearestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nearest",
        abstract: "The nearest words by cosine similarity (of unit-normalised vectors).",
        discussion: """
        Examples:
          w2v-pipe nearest king -e experiments/quickstart.json
          w2v-pipe nearest paris france -k 5 --vectors vectors.bin
        """
    )
    @Argument(help: "One or more words.") var words: [String]
    @Option(name: .short, help: "How many neighbours.") var k = 10
    @OptionGroup var source: VectorSource

    func run() throws {
        do {
            let (raw, _, _) = try source.load()
            let vectors = raw.normalized()
            var failed = false
            for word in words {
                guard vectors.index[word] != nil else {
                    CLIExit.printError(unknown(word, in: vectors)); failed = true; continue
                }
                print("\(word):")
                printNeighbours(try vectors.nearest(to: word, k: k))
            }
            if failed { throw ExitCode(1) }
        } catch let e as ExitCode { throw e } catch { throw CLIExit.fail(error) }
    }
}

struct AnalogyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analogy",
        abstract: "Solve A is to B as C is to ?: the words nearest B − A + C (the three excluded).",
        discussion: """
        Examples:
          w2v-pipe analogy man king woman -e experiments/quickstart.json
          w2v-pipe analogy france paris germany --method 3CosMul --vectors vectors.bin
        """
    )
    @Argument(help: "A") var a: String
    @Argument(help: "B") var b: String
    @Argument(help: "C") var c: String
    @Option(name: .short, help: "How many answers.") var k = 10
    @Option(help: "3CosAdd (cosine with B − A + C) or 3CosMul (Levy & Goldberg 2014).") var method: String = "3CosAdd"
    @OptionGroup var source: VectorSource

    func run() throws {
        do {
            guard let m = AnalogyMethod(rawValue: method) else {
                throw ValidationError("unknown method \(method); use 3CosAdd or 3CosMul")
            }
            let (raw, _, _) = try source.load()
            let vectors = raw.normalized()
            for w in [a, b, c] where vectors.index[w] == nil {
                CLIExit.printError(unknown(w, in: vectors))
                throw ExitCode(1)
            }
            print("\(b) − \(a) + \(c) (\(m.rawValue)):")
            printNeighbours(try vectors.analogy(a, b, c, k: k, method: m))
        } catch let e as ExitCode { throw e } catch { throw CLIExit.fail(error) }
    }
}

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Evaluate any vectors (ours, gensim's, fastText's, word2vec.c's) with the same evaluator as the evaluate stage.",
        discussion: """
        Examples:
          w2v-pipe evaluate --vectors gensim-vectors.bin
          w2v-pipe evaluate --vectors glove.6B.100d.txt
          w2v-pipe evaluate -e experiments/baseline.json --markdown
        """
    )
    @OptionGroup var source: VectorSource
    @Option(help: "Analogy questions (Google format). Default: the built-in Google analogy set.") var analogies: String?
    @Option(help: "Word-similarity pairs (word1 word2 score). Default: the built-in WordSim-353.") var similarity: String?
    @Option(help: "Answer analogies among the N most frequent words.") var restrictVocab = 30000
    @Option(help: "Probe words for nearest neighbours.") var probes: [String] = ["king", "queen", "paris", "computer"]
    @Flag(help: "Print JSON.") var json = false
    @Flag(help: "Print Markdown.") var markdown = false

    func run() throws {
        do {
            let (vectors, description, model) = try source.load()
            let a = try BuiltinDatasets.analogies(at: analogies)
            let s = try BuiltinDatasets.similarity(at: similarity)
            let report = EvaluationReport.evaluate(vectors, source: description, model: model, analogies: a, similarity: s,
                                                   restrictVocabulary: restrictVocab, probes: probes, k: 10)
            if json {
                print(String(decoding: try JSONEncoder.pretty.encode(report), as: UTF8.self))
            } else {
                print(report.render(markdown: markdown))
            }
        } catch { throw CLIExit.fail(error) }
    }
}

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Print the evaluation report of an experiment's latest run.",
        discussion: "Reads the report artifact of the experiment's evaluate stage; nothing is recomputed."
    )
    @Argument(help: "The experiment file.") var experiment: String
    @Option(help: "The evaluate stage (default: the only one).") var stage: String?
    @Option(help: ArgumentHelp("Sweeps: the report of trial N (without it, the comparison table).", valueName: "N")) var trial: Int?
    @Flag(help: "Print JSON.") var json = false
    @Flag(help: "Print Markdown.") var markdown = false
    @Option(help: ArgumentHelp("Write a self-contained HTML page (table, loss curves, metric-vs-parameter charts, per-section bars) instead.", valueName: "file.html"))
    var html: String?
    @OptionGroup var storeOptions: StoreOptions

    func run() throws {
        do {
            var exp = try loadExperiment(experiment)
            let store = try storeOptions.openStore()
            if let trial { exp = try exp.trial(trial, file: experiment) }
            if let html {
                let rows = Comparison.collect([exp], store: store)
                let swept = exp.trials.first.map { _ in Array(Set(exp.trials.flatMap { $0.assignments.map(\.key) })).sorted() } ?? Comparison.varyingSettings(rows)
                try Comparison.html(title: "w2v-pipe: \(exp.name)", rows: rows, sweptKeys: swept).write(toFile: html, atomically: true, encoding: .utf8)
                print("wrote \(html)")
                return
            }
            if !exp.trials.isEmpty {
                print(Comparison.table(Comparison.collect([exp], store: store), markdown: markdown))
                return
            }
            let evaluators = exp.stages.filter { $0.type.typeName == EvaluateStage.typeName && (stage == nil || $0.id == stage) }
            guard !evaluators.isEmpty else { throw ValidationError("experiment \(exp.name) has no evaluate stage\(stage.map { " named `\($0)`" } ?? "")") }
            for s in evaluators {
                guard let ref = store.ref(experiment: exp.name, stage: s.id), let out = ref.outputs["report"] else {
                    throw ValidationError("stage `\(s.id)` has not run yet; run `w2v-pipe run \(experiment)` first")
                }
                let report = try EvaluateStage.readReport(try store.open(out.digest, kind: ArtifactKind.report, maxVersion: EvaluateStage.reportFormatVersion))
                if json { print(String(decoding: try JSONEncoder.pretty.encode(report), as: UTF8.self)) }
                else { print(report.render(markdown: markdown)) }
            }
        } catch { throw CLIExit.fail(error) }
    }
}
