import Foundation
import Testing

/// GloVe and PPMI-SVD beside skip-gram on the same tokens: run, determinism with one thread,
/// the comparison table with one row per method, and the report's space comparison.
@Suite("methods end to end", .serialized)
struct MethodsTests {
    func project() throws -> URL {
        let dir = try CLI.makeSliceProject(words: 120000)
        _ = try CLI.python("""
        import json
        d = {"name": "m", "stages": {
          \(CLI.sliceDataStages)
          "sgns": {"type": "train", "inputs": {"tokens": "tokens.tokens", "vocab": "vocab.vocab", "subsample": "subsample.subsample"},
                   "params": {"dim": 16, "epochs": 1, "threads": 1, "seed": 3}},
          "co10": {"type": "cooccur", "inputs": {"tokens": "tokens.tokens", "vocab": "vocab.vocab"}, "params": {"window": 10}},
          "glove": {"type": "glove", "inputs": {"cooccur": "co10.cooccur", "vocab": "vocab.vocab"},
                    "params": {"dim": 16, "x_max": 10, "epochs": 2, "threads": 1}},
          "co5": {"type": "cooccur", "inputs": {"tokens": "tokens.tokens", "vocab": "vocab.vocab", "subsample": "subsample.subsample"},
                  "params": {"window": 5, "weighting": "word2vec"}},
          "ppmi": {"type": "ppmi-svd", "inputs": {"cooccur": "co5.cooccur", "vocab": "vocab.vocab"}, "params": {"dim": 16, "threads": 1}},
          "evaluate-sgns": {"type": "evaluate", "inputs": {"embeddings": "sgns.embeddings"}},
          "evaluate-glove": {"type": "evaluate", "inputs": {"embeddings": "glove.embeddings"}},
          "evaluate-ppmi": {"type": "evaluate", "inputs": {"embeddings": "ppmi.embeddings"}},
          "export": {"type": "export", "inputs": {"embeddings": "glove.embeddings"}, "params": {"format": "glove-text", "path": "../out/glove.txt"}}}}
        json.dump(d, open('\(dir.path)/experiments/m.json', 'w'))
        """)
        return dir
    }

    @Test func gloveAndPPMIBesideSkipGram() throws {
        let dir = try project()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["run", "experiments/m.json", "--progress", "none"], cwd: dir)
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("epoch(s) over"), "glove summary")
        #expect(r.stdout.contains("positive PMI entries"), "ppmi-svd summary")
        // With one thread and a seed, a second store gets the same bytes.
        let again = try CLI.run(["run", "experiments/m.json", "--progress", "none", "--store", "second"], cwd: dir)
        #expect(again.status == 0)
        let first = try CLI.digests(dir, "experiments/m.json"), second = try CLI.digests(dir, "experiments/m.json", store: "second")
        for output in ["glove.embeddings", "ppmi.embeddings", "co10.cooccur", "co5.cooccur"] {
            #expect(first[output] != nil && first[output] == second[output], "\(output)")
        }
        // The exported GloVe text reads back as vectors.
        let nearest = try CLI.run(["nearest", "the", "--vectors", "out/glove.txt", "-k", "3"], cwd: dir)
        #expect(nearest.status == 0, "\(nearest.stderr)")

        // One row per method, named after the stage that made the vectors.
        let table = try CLI.run(["compare", "experiments/m.json"], cwd: dir).stdout.split(separator: "\n").map(String.init)
        #expect(table[0].hasPrefix("trial") && table[0].contains("method"))
        let names = table.dropFirst().compactMap { $0.split(separator: " ").first.map(String.init) }
        #expect(Set(names).isSuperset(of: ["sgns", "glove", "ppmi"]), "\(table)")

        let html = try CLI.run(["compare", "experiments/m.json", "--html", "m.html"], cwd: dir)
        #expect(html.status == 0, "\(html.stderr)")
        let page = try String(contentsOf: dir.appendingPathComponent("m.html"), encoding: .utf8)
        #expect(page.contains("How alike the spaces are"))
        let overlap = page.components(separatedBy: "<table class=\"overlap\">").last?.components(separatedBy: "</table>").first ?? ""
        #expect(overlap.components(separatedBy: "<tr><th>").count - 1 == 4, "a header and three rows")
        #expect(overlap.components(separatedBy: "<td class=\"num\">0.").count - 1 == 6, "six overlaps between 0 and 1")
        #expect(page.contains("Levy–Goldberg check") && page.contains("co5 (window 5, word2vec)"))
        #expect(page.contains("GloVe: cost per non-zero entry, mean over each ≥1% of training"))
        // GloVe's epoch means are the ones its stage recorded (epoch_costs).
        #expect(page.contains(">glove (epoch mean)</text>") && page.contains("each epoch's exact mean cost per entry"))
    }
}
