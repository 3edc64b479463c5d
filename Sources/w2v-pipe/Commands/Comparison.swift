import Foundation
import Pipeline
import Stages

/// One row of a comparison: a trial (or a whole experiment), its settings and its figures,
/// read from the store's refs and run records.
struct ComparisonRow {
    var name: String
    /// Every key parameter of every stage, as the stage declares it (`name`, or `stage.name`
    /// when an earlier stage already has a parameter of that name), in stage order.
    var settings: [String: String]
    var settingOrder: [String]
    var metrics: [String: Double]
    var lossCurve: [(x: Double, y: Double)]
    var sections: [(name: String, accuracy: Double)]
    var complete: Bool
    /// The stage that made the evaluated embeddings, when an experiment compares several.
    var producer: String? = nil
    /// Word maps of this row's embeddings that have run: the map stage, its artifact's digest and
    /// its run's key (for the run record).
    var maps: [(stage: String, digest: String, key: String)] = []
}

struct Metric {
    let key: String
    let title: String
    let higherIsBetter: Bool
    let percent: Bool
}

enum Comparison {
    static let metrics = [
        Metric(key: "analogy_total", title: "analogy", higherIsBetter: true, percent: true),
        Metric(key: "analogy_semantic", title: "semantic", higherIsBetter: true, percent: true),
        Metric(key: "analogy_syntactic", title: "syntactic", higherIsBetter: true, percent: true),
        Metric(key: "analogy_coverage", title: "coverage", higherIsBetter: true, percent: true),
        Metric(key: "wordsim_spearman", title: "WS-353 ρ", higherIsBetter: true, percent: false),
        Metric(key: "words_per_second", title: "words/s", higherIsBetter: true, percent: false),
        Metric(key: "train_seconds", title: "train s", higherIsBetter: false, percent: false),
        Metric(key: "final_loss", title: "loss", higherIsBetter: false, percent: false),
    ]

    /// Rows for each experiment file: one per trial for sweeps, else one — and, when an
    /// experiment evaluates several embeddings (e.g. SGNS, CBOW, GloVe and PPMI-SVD on the same
    /// tokens), one per evaluated embedding, named after the stage that produced it.
    static func collect(_ experiments: [Experiment], store: ArtifactStore) -> [ComparisonRow] {
        var rows: [ComparisonRow] = []
        for e in experiments {
            let units = e.trials.isEmpty ? [(e.name, e)] : e.trials.map { ($0.label.isEmpty ? $0.name : $0.label, $0.experiment) }
            for (name, unit) in units {
                let evaluations = unit.stages.filter { $0.type.typeName == EvaluateStage.typeName }
                let maps = unit.stages.filter { $0.type.typeName == MapStage.typeName }
                func ran(_ stages: [StageInstance]) -> [(stage: String, digest: String, key: String)] {
                    stages.compactMap { m in
                        guard let ref = store.ref(experiment: unit.name, stage: m.id), let out = ref.outputs["map"] else { return nil }
                        return (stage: m.id, digest: out.digest, key: ref.key)
                    }
                }
                if evaluations.count <= 1 {
                    var r = row(name: name, unit, stages: unit.stages, store: store)
                    r.maps = ran(maps)
                    rows.append(r)
                    continue
                }
                for evaluation in evaluations {
                    let chain = upstream(of: evaluation, in: unit)
                    let producer = evaluation.inputs[Slots.embeddings.name].flatMap { unit.stage($0.stage) }
                    let label = producer?.id ?? evaluation.id
                    var r = row(name: e.trials.isEmpty ? label : "\(name) · \(label)", unit, stages: chain, store: store)
                    if let producer {
                        let method = producer.type.typeName == TrainStage.typeName
                            ? (producer.parameters.effectiveValues["model"].map { $0.canonicalText.replacingOccurrences(of: "\"", with: "") } ?? "train")
                            : producer.type.typeName
                        r.settings["method"] = method
                        r.settingOrder.insert("method", at: 0)
                        r.producer = producer.id
                        r.maps = ran(maps.filter { $0.inputs[Slots.embeddings.name]?.stage == producer.id })
                    }
                    rows.append(r)
                }
            }
        }
        return rows
    }

    /// `stage` and every stage it reads from, directly or not, in the experiment's order.
    static func upstream(of stage: StageInstance, in e: Experiment) -> [StageInstance] {
        var wanted: Set<String> = [stage.id]
        var frontier = [stage]
        while let s = frontier.popLast() {
            for ref in s.inputs.values where !wanted.contains(ref.stage) {
                wanted.insert(ref.stage)
                if let up = e.stage(ref.stage) { frontier.append(up) }
            }
        }
        return e.stages.filter { wanted.contains($0.id) }
    }

    static func row(name: String, _ e: Experiment, stages: [StageInstance], store: ArtifactStore) -> ComparisonRow {
        var settings: [String: String] = [:]
        var order: [String] = []
        var metrics: [String: Double] = [:]
        var curve: [(Double, Double)] = []
        var sections: [(String, Double)] = []
        var complete = true
        for stage in stages {
            let values = stage.parameters.effectiveValues
            let declared = stage.type.parameters.map(\.name)
            let names = declared.filter { values[$0] != nil } + values.keys.filter { !declared.contains($0) }.sorted()
            for name in names {
                guard let value = values[name], value != .null else { continue }
                let key = settings[name] == nil ? name : "\(stage.id).\(name)"
                settings[key] = value.canonicalText.replacingOccurrences(of: "\"", with: "")
                order.append(key)
            }
            // Figures come from the stages that make or score embeddings.
            let scored = stage.type.typeName == EvaluateStage.typeName
                || stage.type.outputs.contains { $0.kind == ArtifactKind.embeddings }
            guard scored else { continue }
            guard let ref = store.ref(experiment: e.name, stage: stage.id), let record = store.runRecord(key: ref.key) else {
                complete = false; continue
            }
            for (k, v) in record.metrics { if let d = v.doubleValue { metrics[k] = d } }
            if case .array(let points)? = record.metrics["loss_curve"] {
                for p in points { if case .array(let xy) = p, xy.count == 2, let x = xy[0].doubleValue, let y = xy[1].doubleValue { curve.append((x, y)) } }
            }
            if stage.type.typeName == EvaluateStage.typeName, let out = ref.outputs["report"],
               let reader = try? store.open(out.digest, kind: ArtifactKind.report, maxVersion: EvaluateStage.reportFormatVersion),
               let report = try? EvaluateStage.readReport(reader), let a = report.analogy {
                sections = a.sections.map { ($0.name, $0.score.accuracyAdd) }
            }
        }
        return ComparisonRow(name: name, settings: settings, settingOrder: order, metrics: metrics, lossCurve: curve.map { (x: $0.0, y: $0.1) },
                             sections: sections.map { (name: $0.0, accuracy: $0.1) }, complete: complete)
    }

    /// Settings that differ between rows, in the order the stages declare them.
    /// When rows are methods of one experiment, only the settings every method has (plus
    /// `method`): a GloVe row has no `negatives`, a PPMI row no `x_max`.
    static func varyingSettings(_ rows: [ComparisonRow]) -> [String] {
        var keys: [String] = []
        for r in rows { for k in r.settingOrder where !keys.contains(k) { keys.append(k) } }
        if rows.contains(where: { $0.producer != nil }) { keys = keys.filter { k in rows.allSatisfy { $0.settings[k] != nil } } }
        return keys.filter { k in Set(rows.map { $0.settings[k] ?? "—" }).count > 1 }
    }

    /// The settings column of a swept `stage.parameter` key.
    static func settingKey(_ swept: String, in rows: [ComparisonRow]) -> String {
        if rows.contains(where: { $0.settings[swept] != nil }) { return swept }
        return swept.split(separator: ".").last.map(String.init) ?? swept
    }

    static func format(_ m: Metric, _ v: Double?) -> String {
        guard let v else { return "—" }
        if m.percent { return String(format: "%.1f%%", v * 100) }
        switch m.key {
        case "words_per_second": return Format.compact(v)
        case "train_seconds": return String(format: "%.1f", v)
        default: return String(format: "%.3f", v)
        }
    }

    static func best(_ m: Metric, _ rows: [ComparisonRow]) -> Double? {
        let vals = rows.compactMap { $0.metrics[m.key] }
        return m.higherIsBetter ? vals.max() : vals.min()
    }

    static func table(_ rows: [ComparisonRow], markdown: Bool) -> String {
        let settings = varyingSettings(rows)
        let header = ["trial"] + settings + metrics.map(\.title)
        var cells: [[String]] = []
        for r in rows {
            var line = [r.name] + settings.map { r.settings[$0] ?? "—" }
            for m in metrics {
                var s = format(m, r.metrics[m.key])
                if rows.count > 1, let b = best(m, rows), r.metrics[m.key] == b { s += "*" }
                line.append(s)
            }
            cells.append(line)
        }
        if markdown {
            var out = "| " + header.joined(separator: " | ") + " |\n|" + header.map { _ in " --- |" }.joined() + "\n"
            for c in cells { out += "| " + c.joined(separator: " | ") + " |\n" }
            return out + "\n\\* best in column"
        }
        var widths = header.map(\.count)
        for c in cells { for (i, v) in c.enumerated() { widths[i] = max(widths[i], v.count) } }
        func line(_ c: [String]) -> String {
            c.enumerated().map { i, v in i <= settings.count ? v.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                : String(repeating: " ", count: widths[i] - v.count) + v }.joined(separator: "  ")
        }
        return ([line(header)] + cells.map(line)).joined(separator: "\n") + (rows.count > 1 ? "\n* best in column" : "")
    }

    static func csv(_ rows: [ComparisonRow]) -> String {
        let settings = varyingSettings(rows)
        var out = (["trial"] + settings + metrics.map(\.key)).joined(separator: ",") + "\n"
        for r in rows {
            out += ([csvField(r.name)] + settings.map { csvField(r.settings[$0] ?? "") } + metrics.map { r.metrics[$0.key].map { "\($0)" } ?? "" }).joined(separator: ",") + "\n"
        }
        return out
    }

    static func csvField(_ s: String) -> String { s.contains(",") || s.contains("\"") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s }

    static func json(_ rows: [ComparisonRow]) -> JSONValue {
        .array(rows.map { r in
            .object(["trial": .string(r.name), "complete": .bool(r.complete),
                     "settings": .object(r.settings.mapValues { .string($0) }),
                     "metrics": .object(r.metrics.mapValues { .number($0) })])
        })
    }

    /// A self-contained HTML page: the table, loss curves, metric-vs-parameter charts, and
    /// per-section analogy accuracy by model.
    static func html(title: String, rows: [ComparisonRow], sweptKeys: [String], extra: String = "") -> String {
        var body = "<h1>\(SVGChart.escape(title))</h1>\n"
        body += "<p>Generated by w2v-pipe \(Engine.toolVersion) on \(ISO8601DateFormatter().string(from: Date())). Figures come from the store's run records and report artifacts.</p>\n"
        // Table
        let settings = varyingSettings(rows)
        body += "<table><thead><tr><th>trial</th>" + settings.map { "<th>\(SVGChart.escape($0))</th>" }.joined() + metrics.map { "<th>\(SVGChart.escape($0.title))</th>" }.joined() + "</tr></thead><tbody>\n"
        for r in rows {
            body += "<tr><td>\(SVGChart.escape(r.name))</td>" + settings.map { "<td>\(SVGChart.escape(r.settings[$0] ?? "—"))</td>" }.joined()
            for m in metrics {
                let isBest = rows.count > 1 && best(m, rows) != nil && r.metrics[m.key] == best(m, rows)
                body += "<td class=\"num\(isBest ? " best" : "")\">\(format(m, r.metrics[m.key]))</td>"
            }
            body += "</tr>\n"
        }
        body += "</tbody></table>\n"
        // Loss curves (series sorted by name, as in the other charts, so a trial tends to keep its colour)
        // GloVe's cost per entry and word2vec's loss per pair are different quantities: one chart each.
        let withCurves = rows.filter { !$0.lossCurve.isEmpty }.sorted { $0.name < $1.name }
        let word2vec = withCurves.filter { $0.settings["method"] != "glove" }.map { SVGChart.Series(name: $0.name, points: $0.lossCurve) }
        let glove = withCurves.filter { $0.settings["method"] == "glove" }.map { SVGChart.Series(name: $0.name, points: $0.lossCurve) }
        body += "<h2>Training loss</h2>\n"
        if !word2vec.isEmpty || glove.isEmpty {
            body += SVGChart.line(title: "Running loss per positive pair", xLabel: "fraction of training", yLabel: "loss", series: word2vec) + "\n"
        }
        if !glove.isEmpty {
            body += SVGChart.line(title: "GloVe: weighted squared error per non-zero entry", xLabel: "fraction of training", yLabel: "cost", series: glove) + "\n"
        }
        // Metric vs each swept parameter
        body += "<h2>Metrics against swept parameters</h2>\n"
        for key in sweptKeys {
            let param = settingKey(key, in: rows)
            let values = Array(Set(rows.compactMap { $0.settings[param] })).sorted { (Double($0) ?? 0, $0) < (Double($1) ?? 0, $1) }
            let numeric = values.allSatisfy { Double($0) != nil }
            // One line per combination of the other varying settings.
            let others = varyingSettings(rows).filter { $0 != param }
            var groups: [String: [(Double, Double)]] = [:]
            for r in rows {
                guard let v = r.settings[param], let acc = r.metrics["analogy_total"] else { continue }
                let g = others.map { "\($0)=\(r.settings[$0] ?? "—")" }.joined(separator: " ")
                let x = numeric ? Double(v)! : Double(values.firstIndex(of: v)!)
                groups[g.isEmpty ? "all" : g, default: []].append((x, acc * 100))
            }
            let series = groups.keys.sorted().map { SVGChart.Series(name: $0, points: groups[$0]!.sorted { $0.0 < $1.0 }.map { (x: $0.0, y: $0.1) }) }
            body += "<div class=\"param-chart\" data-param=\"\(SVGChart.escape(key))\">" +
                SVGChart.line(title: "Analogy accuracy vs \(param)", xLabel: param, yLabel: "analogy accuracy (%)", series: series,
                              categoricalX: numeric ? nil : values) + "</div>\n"
        }
        // Per section, one series per value of the varying categorical settings (e.g. the model).
        let categorical = varyingSettings(rows).filter { k in rows.allSatisfy { r in r.settings[k].map { Double($0) == nil } ?? true } }
        let sectionGroups = Dictionary(grouping: rows.filter { !$0.sections.isEmpty }, by: { r in
            categorical.isEmpty ? "all" : categorical.map { r.settings[$0] ?? "—" }.joined(separator: " ")
        })
        if let categories = sectionGroups.values.first?.first?.sections.map(\.name) {
            let series = sectionGroups.sorted { $0.key < $1.key }.map { model, rs -> (name: String, values: [Double]) in
                let vals = categories.map { c in
                    let xs = rs.compactMap { r in r.sections.first { $0.name == c }?.accuracy }
                    return xs.isEmpty ? Double.nan : xs.reduce(0, +) / Double(xs.count) * 100
                }
                return (name: model, values: vals)
            }
            let by = categorical.isEmpty ? "" : ", by " + categorical.joined(separator: " and ")
            body += "<h2>Analogy accuracy per section\(by)</h2>\n<p>Mean over the trials of each group.</p>\n" +
                SVGChart.bars(title: "3CosAdd accuracy per section", yLabel: "accuracy (%)", categories: categories, series: series) + "\n"
        }
        body += extra
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"/><title>\(SVGChart.escape(title))</title>
        <style>
        body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em; color: #222; }
        table { border-collapse: collapse; margin: 1em 0; font-size: 13px; }
        th, td { border: 1px solid #ccc; padding: 4px 8px; }
        th { background: #f3f3f3; }
        td.num { text-align: right; font-variant-numeric: tabular-nums; }
        td.best { font-weight: bold; background: #e8f5e9; }
        svg.chart { display: block; margin: 1em 0; font-family: inherit; }
        div.maps { display: flex; flex-wrap: wrap; gap: 1.5em; }
        figure.map { margin: 0; max-width: 720px; }
        figure.map svg { display: block; max-width: 100%; height: auto; font-family: inherit; }
        figure.map figcaption { font-size: 12px; color: #444; margin: 0.3em 0; }
        ul.legend { list-style: none; padding: 0; margin: 0.3em 0; font-size: 12px; columns: 3; }
        ul.legend li { margin: 1px 0; }
        span.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 5px; border-radius: 50%; }
        </style></head><body>
        \(body)
        </body></html>
        """
    }
}
