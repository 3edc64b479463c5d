import Foundation
import Testing
#if canImport(FoundationXML)
import FoundationXML
#endif

@Suite("sweeps, compare and the HTML report end to end", .serialized)
struct CompareTests {
    func project() throws -> URL {
        let dir = try CLI.makeSliceProject(words: 150000)
        _ = try CLI.python("""
        import json
        d = {"name": "grid", "stages": {
          "corpus": {"type": "unzip", "params": {"path": "../data/slice.zip"}},
          "tokens": {"type": "tokenize", "inputs": {"text": "corpus.text"}},
          "vocab": {"type": "build-vocab", "inputs": {"tokens": "tokens.tokens"}, "params": {"min_count": 3}},
          "subsample": {"type": "subsample", "inputs": {"vocab": "vocab.vocab"}},
          "train": {"type": "train", "inputs": {"tokens": "tokens.tokens", "vocab": "vocab.vocab", "subsample": "subsample.subsample"},
                    "params": {"dim": 24, "epochs": 1, "threads": 1, "seed": 3}},
          "evaluate": {"type": "evaluate", "inputs": {"embeddings": "train.embeddings"}}},
          "sweep": {"variants": [{"name": "sgns", "params": {"train.model": "sgns"}}, {"name": "cbow", "params": {"train.model": "cbow"}}],
                    "grid": {"train.window": [2, 4]}}}
        json.dump(d, open('\(dir.path)/experiments/grid.json', 'w'))
        """)
        return dir
    }

    @Test func sweepRunCompareAndReport() throws {
        let dir = try project()
        defer { try? FileManager.default.removeItem(at: dir) }
        let dry = try CLI.run(["run", "experiments/grid.json", "--dry-run"], cwd: dir)
        // 4 data stages shared + 4 × (train, evaluate).
        #expect(dry.stdout.contains("sweep grid: 4 trials, 12 distinct stage executions"), "\(dry.stdout)")
        let r = try CLI.run(["run", "experiments/grid.json", "--jobs", "2"], cwd: dir)
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("all 4 trials done"))
        #expect(try CLI.run(["run", "experiments/grid.json"], cwd: dir).stdout.contains("0 ran, 6 reused"))

        // The table: settings that vary, then the metrics; best values starred.
        let table = try CLI.run(["compare", "experiments/grid.json"], cwd: dir).stdout.split(separator: "\n").map(String.init)
        #expect(table[0].split(separator: " ", omittingEmptySubsequences: true).map(String.init) ==
                ["trial", "model", "window", "learning_rate", "analogy", "semantic", "syntactic", "coverage", "WS-353", "ρ", "words/s", "train", "s", "loss"])
        #expect(table.count == 6) // header, 4 trials, footnote
        #expect(table[1].hasPrefix("sgns window=2"))
        #expect(table[4].hasPrefix("cbow window=4"))
        #expect(table.dropFirst().joined().contains("*"))

        let csv = try CLI.run(["compare", "experiments/grid.json", "--csv", "--sort", "loss"], cwd: dir).stdout.split(separator: "\n")
        #expect(csv[0] == "trial,model,window,learning_rate,analogy_total,analogy_semantic,analogy_syntactic,analogy_coverage,wordsim_spearman,words_per_second,train_seconds,final_loss")
        let losses = csv.dropFirst().map { Double($0.split(separator: ",").last!)! }
        #expect(losses == losses.sorted())

        let json = try CLI.run(["compare", "experiments/grid.json", "--json"], cwd: dir).stdout
        let rows = try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [[String: Any]]
        #expect(rows.count == 4)
        #expect((rows[0]["metrics"] as! [String: Double])["analogy_total"] != nil)

        // The HTML report: well-formed, one chart per swept parameter, loss curves, bars.
        let html = dir.appendingPathComponent("report.html")
        #expect(try CLI.run(["report", "experiments/grid.json", "--html", html.path], cwd: dir).status == 0)
        let page = try String(contentsOf: html, encoding: .utf8)
        let parser = XMLParser(data: Data(page.replacingOccurrences(of: "<!DOCTYPE html>", with: "").utf8))
        #expect(parser.parse(), "not well-formed: \(String(describing: parser.parserError))")
        #expect(page.components(separatedBy: "class=\"param-chart\"").count - 1 == 2) // train.model, train.window
        #expect(page.contains("data-param=\"train.window\""))
        #expect(page.contains("word2vec: loss per positive pair, mean over each ~1% of training"))
        #expect(page.contains(">sgns window=2 (epoch mean)</text>"))
        // The learning rate follows the model (each model's default): a note, not a third chart.
        #expect(page.contains("learning_rate varies with model (sgns: 0.025, cbow: 0.05)"))
        #expect(page.contains("3CosAdd accuracy per section"))
        #expect(!page.contains("<script"))
        #expect(!page.contains("http://") || page.contains("xmlns=\"http://www.w3.org/2000/svg\""))
    }
}
