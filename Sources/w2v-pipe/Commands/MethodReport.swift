import Foundation
import Pipeline
import Stages

/// The report's section for experiments that compare methods on the same tokens: how alike
/// their spaces are, and the Levy–Goldberg check of skip-gram against shifted PMI.
enum MethodReport {
    /// The embeddings a row's producing stage wrote, if it ran.
    static func embeddings(_ row: ComparisonRow, _ experiment: Experiment, store: ArtifactStore) -> EmbeddingTable? {
        guard let producer = row.producer, let ref = store.ref(experiment: experiment.name, stage: producer),
              let out = ref.outputs["embeddings"],
              let reader = try? store.open(out.digest, kind: ArtifactKind.embeddings, maxVersion: EmbeddingTable.formatVersion) else { return nil }
        return try? EmbeddingTable(reader)
    }

    /// HTML for the rows of one experiment (empty when it compares fewer than two methods).
    static func html(rows: [ComparisonRow], experiment: Experiment, store: ArtifactStore) -> String {
        let methods = rows.filter { $0.producer != nil }
        guard methods.count >= 2 else { return "" }
        var spaces: [(name: String, vectors: WordVectors)] = []
        for r in methods {
            if let table = embeddings(r, experiment, store: store), let v = try? table.wordVectors() { spaces.append((r.name, v)) }
        }
        var body = ""
        if spaces.count >= 2 {
            let threads = ProcessInfo.processInfo.activeProcessorCount
            let overlaps = SpaceComparison.neighbourOverlaps(spaces.map(\.vectors), queries: 1000, k: 10, threads: threads)
            let words = overlaps.flatMap { $0.map(\.words) }.max() ?? 0
            body += "<h2>How alike the spaces are</h2>\n"
            let cells: [[String]] = spaces.indices.map { i in
                spaces.indices.map { j in i == j ? "—" : String(format: "%.2f", overlaps[i][j].overlap) }
            }
            body += "<p>Share of common words in the top-10 neighbour lists (cosine) of the \(Format.grouped(words)) most frequent words: 1 = the same neighbours, 0 = none in common.</p>\n"
            body += "<table class=\"overlap\"><thead><tr><th></th>" + spaces.map { "<th>\(SVGChart.escape($0.name))</th>" }.joined() + "</tr></thead><tbody>\n"
            for (i, a) in spaces.enumerated() {
                body += "<tr><th>\(SVGChart.escape(a.name))</th>" + cells[i].map { "<td class=\"num\">\($0)</td>" }.joined() + "</tr>\n"
            }
            body += "</tbody></table>\n"
        }
        body += levyGoldberg(methods, experiment: experiment, store: store)
        return body
    }

    /// For each skip-gram row: the correlation of its w·c with PMI_cds − log K on pairs of a
    /// co-occurrence matrix in the same experiment with the same window.
    static func levyGoldberg(_ rows: [ComparisonRow], experiment e: Experiment, store: ArtifactStore) -> String {
        var lines: [String] = []
        for r in rows where r.settings["method"] == "sgns" {
            guard let producer = r.producer, let train = e.stage(producer),
                  let p = train.parameters(as: TrainStage.Parameters.self),
                  let ref = store.ref(experiment: e.name, stage: producer), let out = ref.outputs["model"],
                  let reader = try? store.open(out.digest, kind: ArtifactKind.model, maxVersion: ModelState.formatVersion),
                  let model = try? ModelState(reader) else { continue }
            // A cooccur stage of the same window, preferring word2vec weighting and subsampling (what SGNS sees).
            let candidates = e.stages.filter { $0.type.typeName == CooccurStage.typeName }
                .compactMap { s -> (StageInstance, CooccurStage.Parameters)? in s.parameters(as: CooccurStage.Parameters.self).map { (s, $0) } }
                .filter { $0.1.window == p.window }
                .sorted { ($0.1.weighting == .word2vec ? 0 : 1, $0.0.inputs["subsample"] == nil ? 1 : 0) < ($1.1.weighting == .word2vec ? 0 : 1, $1.0.inputs["subsample"] == nil ? 1 : 0) }
            guard let (stage, cp) = candidates.first, let cref = store.ref(experiment: e.name, stage: stage.id),
                  let cout = cref.outputs["cooccur"],
                  let creader = try? store.open(cout.digest, kind: ArtifactKind.cooccur, maxVersion: CooccurrenceMatrix.formatVersion),
                  let matrix = try? CooccurrenceMatrix(creader), matrix.size == model.vocabularySize else { continue }
            for minimum: Float in [0, 10, 100] {
                let result = matrix.withCSR { csr in
                    SpaceComparison.levyGoldberg(input: model.inputVectors, output: model.outputVectors, dimension: model.dimension,
                                                 matrix: csr, negatives: p.negatives, cds: p.nsExponent, samples: 10_000, minimumCount: minimum)
                }
                guard let result else { continue }
                lines.append("<tr><td>\(SVGChart.escape(r.name))</td><td>\(SVGChart.escape(stage.id)) (window \(cp.window), \(cp.weighting.rawValue))</td><td class=\"num\">\(minimum == 0 ? "all" : "≥ \(Int(minimum))")</td><td class=\"num\">\(Format.grouped(result.pairs))</td><td class=\"num\">\(String(format: "%.3f", result.pearson))</td><td class=\"num\">\(String(format: "%.3f", result.spearman))</td></tr>")
            }
        }
        guard !lines.isEmpty else { return "" }
        return """
        <h2>Levy–Goldberg check</h2>
        <p>Skip-gram with K negatives drawn from counts<sup>0.75</sup> implicitly factorises the shifted PMI matrix PMI<sub>0.75</sub>(w, c) − log K (Levy &amp; Goldberg 2014). For word–context pairs drawn from the co-occurrence matrix (all of them, or those seen at least 10 or 100 times, by weighted count), the correlation of the trained w·c̃ with that value. Rare pairs are where a 100-dimensional model cannot follow PMI (and PMI itself is noise), so expect the correlation to grow with the count.</p>
        <table><thead><tr><th>model</th><th>co-occurrence</th><th>pairs seen</th><th>pairs drawn</th><th>Pearson</th><th>Spearman</th></tr></thead><tbody>
        \(lines.joined(separator: "\n"))
        </tbody></table>

        """
    }
}
