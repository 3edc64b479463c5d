import ArgumentParser
import Foundation
import Pipeline
import Stages

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare experiments or the trials of a sweep: the settings that vary, then the metrics.",
        discussion: """
        One row per trial (or per experiment without a sweep); the best value of each column is marked with *. Reads run records and report artifacts from the store; nothing is recomputed, and trials that have not run yet show —.

        Examples:
          w2v-pipe compare experiments/sgns-vs-cbow.json
          w2v-pipe compare experiments/sweep-window-negatives.json --sort analogy --markdown
          w2v-pipe compare experiments/quickstart.json experiments/baseline.json --csv
        """
    )

    @Argument(help: "Experiment files.") var experiments: [String]
    @Option(help: "Sort by a metric: \(Comparison.metrics.map(\.key).joined(separator: ", ")) (best first).") var sort: String?
    @Flag(help: "Markdown table.") var markdown = false
    @Flag(help: "CSV.") var csv = false
    @Flag(help: "JSON.") var json = false
    @Option(help: ArgumentHelp("Also write a self-contained HTML report with charts.", valueName: "file.html")) var html: String?
    @OptionGroup var storeOptions: StoreOptions

    func run() throws {
        do {
            let loaded = try experiments.map(loadExperiment)
            let store = try storeOptions.openStore()
            var rows = Comparison.collect(loaded, store: store)
            if let sort {
                guard let m = Comparison.metrics.first(where: { $0.key == sort || $0.key.hasPrefix(sort) || $0.title == sort }) else {
                    throw ValidationError("unknown metric \(sort)" + Suggestions.didYouMean(sort, in: Comparison.metrics.map(\.key)))
                }
                rows.sort { a, b in
                    switch (a.metrics[m.key], b.metrics[m.key]) {
                    case let (x?, y?): return m.higherIsBetter ? x > y : x < y
                    case (_?, nil): return true
                    default: return false
                    }
                }
            }
            if json { print(JSONValue.array([Comparison.json(rows)]).canonicalText.dropFirst().dropLast()) }
            else if csv { print(Comparison.csv(rows), terminator: "") }
            else { print(Comparison.table(rows, markdown: markdown)) }
            if rows.contains(where: { !$0.complete }) {
                CLIExit.printError("note: some trials have not run yet (—); `w2v-pipe run` them first")
            }
            if let html {
                let swept = loaded.flatMap { e in e.trials.first?.assignments.map(\.key) ?? [] }
                let keys = swept.isEmpty ? Comparison.varyingSettings(rows) : Array(Set(swept)).sorted()
                // Experiments that compare methods on the same tokens get the space comparison.
                let methods = loaded.filter { $0.trials.isEmpty }.map { e in
                    MethodReport.html(rows: Comparison.collect([e], store: store), experiment: e, store: store)
                }.joined()
                let maps = MapReport.html(rows: rows, experiments: loaded, store: store)
                let page = Comparison.html(title: "w2v-pipe: " + loaded.map(\.name).joined(separator: ", "), rows: rows, sweptKeys: keys,
                                           extra: maps + methods)
                try page.write(toFile: html, atomically: true, encoding: .utf8)
                CLIExit.printError("wrote \(html)")
            }
        } catch let e as ExitCode { throw e } catch { throw CLIExit.fail(error) }
    }
}
