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
    /// The type of the stage whose loss curve this is (`train`, `train-more`, `glove`).
    var curveStage: String? = nil
    /// The `epochs` of the stage whose loss curve this is (the curve's x runs over all of them).
    var curveEpochs: Int? = nil
    /// Each epoch's exact mean loss, when the stage records it (GloVe's `epoch_costs`).
    var epochLosses: [Double]? = nil
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
        var curveStage: String?
        var curveEpochs: Int?
        var epochLosses: [Double]?
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
                // The curve of the stage nearest the evaluated embeddings (e.g. a train-more's
                // rather than its train's: each curve runs over its own stage's epochs).
                curve = []
                curveStage = stage.type.typeName
                epochLosses = nil
                for p in points { if case .array(let xy) = p, xy.count == 2, let x = xy[0].doubleValue, let y = xy[1].doubleValue { curve.append((x, y)) } }
                curveEpochs = values["epochs"]?.doubleValue.map { Int($0) }
                if case .array(let costs)? = record.metrics["epoch_costs"] { epochLosses = costs.compactMap(\.doubleValue) }
            }
            if stage.type.typeName == EvaluateStage.typeName, let out = ref.outputs["report"],
               let reader = try? store.open(out.digest, kind: ArtifactKind.report, maxVersion: EvaluateStage.reportFormatVersion),
               let report = try? EvaluateStage.readReport(reader), let a = report.analogy {
                sections = a.sections.map { ($0.name, $0.score.accuracyAdd) }
            }
        }
        return ComparisonRow(name: name, settings: settings, settingOrder: order, metrics: metrics, lossCurve: curve.map { (x: $0.0, y: $0.1) },
                             sections: sections.map { (name: $0.0, accuracy: $0.1) }, complete: complete,
                             curveStage: curveStage, curveEpochs: curveEpochs, epochLosses: epochLosses)
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

    /// Setting values in chart order: numbers by value, then text.
    static func sortedValues(_ values: [String]) -> [String] {
        values.sorted { (Double($0) ?? 0, $0) < (Double($1) ?? 0, $1) }
    }

    /// Groups of `keys` whose values determine each other across the rows: each value of one
    /// goes with a single value of the other and back (a missing setting counts as the value
    /// "—"). One-to-one correspondence is an equivalence, so the groups partition `keys`; each
    /// keeps `keys`' order, and a key coupled with none is a group of its own.
    static func coupledGroups(_ keys: [String], in rows: [ComparisonRow]) -> [[String]] {
        func oneToOne(_ a: String, _ b: String) -> Bool {
            var ab: [String: String] = [:], ba: [String: String] = [:]
            for r in rows {
                let x = r.settings[a] ?? "—", y = r.settings[b] ?? "—"
                if let seen = ab[x], seen != y { return false }
                if let seen = ba[y], seen != x { return false }
                ab[x] = y
                ba[y] = x
            }
            return true
        }
        var groups: [[String]] = []
        for k in keys {
            if let i = groups.firstIndex(where: { oneToOne($0[0], k) }) { groups[i].append(k) } else { groups.append([k]) }
        }
        return groups
    }

    /// What "Metrics against swept parameters" draws.
    struct ParameterPlan {
        struct Chart {
            /// The swept key (`stage.parameter`) and its settings column.
            var key: String
            var param: String
            /// The settings that vary in step with this one and get no chart of their own: the
            /// swept key or column (`key`) and the sentence saying so.
            var notes: [(key: String, text: String)]
        }
        var charts: [Chart]
        /// One setting per group of coupled varying settings, in the table's order: the ones a
        /// chart's series are named by.
        var representatives: [String]
    }

    /// One chart per swept parameter, except that a group of varying settings in one-to-one
    /// correspondence across the rows (e.g. `model` and `learning_rate` when each variant sets
    /// both) gets one chart, against the swept member that is categorical if one is, else the
    /// first in the table's order; the group's other members get a note under that chart
    /// instead ("learning_rate varies with model (sgns: 0.025, cbow: 0.05)"), whether they were
    /// swept or not. A group with no swept member gets neither.
    static func parameterPlan(sweptKeys: [String], rows: [ComparisonRow]) -> ParameterPlan {
        let varying = varyingSettings(rows)
        let swept = sweptKeys.map { (key: $0, param: settingKey($0, in: rows)) }
        let sweptParams = Set(swept.map(\.param))
        func categorical(_ k: String) -> Bool { rows.contains { r in r.settings[k].map { Double($0) == nil } ?? false } }
        let groups = coupledGroups(varying, in: rows)
        func representative(_ g: [String]) -> String {
            let candidates = g.contains(where: sweptParams.contains) ? g.filter(sweptParams.contains) : g
            return candidates.first(where: categorical) ?? candidates[0]
        }
        var charts: [ParameterPlan.Chart] = []
        for (key, param) in swept where !charts.contains(where: { $0.param == param }) {
            guard let g = groups.first(where: { $0.contains(param) }) else {
                charts.append(.init(key: key, param: param, notes: []))   // swept but the same in every row
                continue
            }
            let rep = representative(g)
            guard rep == param else { continue }
            let notes = g.filter { $0 != rep }.map { dep -> (key: String, text: String) in
                // Pairs in the rows' order (e.g. the variants' order), each once.
                var pairs: [String] = []
                for r in rows {
                    let pair = "\(r.settings[rep] ?? "—"): \(r.settings[dep] ?? "—")"
                    if !pairs.contains(pair) { pairs.append(pair) }
                }
                let shown = pairs.count > 8 ? pairs.prefix(8).joined(separator: ", ") + ", …" : pairs.joined(separator: ", ")
                let depKey = swept.first { $0.param == dep }?.key ?? dep
                return (depKey, "\(dep) varies with \(rep) (\(shown)), so it has no chart of its own.")
            }
            charts.append(.init(key: key, param: param, notes: notes))
        }
        return ParameterPlan(charts: charts, representatives: groups.map(representative))
    }

    /// The mean of a loss curve over each of `epochs` equal shares of training (x is the
    /// fraction of training). Each point is the mean over the stretch since the previous point
    /// (the first since 0), so it counts in an epoch by the length of that stretch inside it.
    /// NaN for an epoch no stretch covers.
    static func epochMeans(_ curve: [(x: Double, y: Double)], epochs: Int) -> [Double] {
        guard epochs > 0 else { return [] }
        var sums = [Double](repeating: 0, count: epochs), weights = [Double](repeating: 0, count: epochs)
        var previous = 0.0
        for p in curve.sorted(by: { $0.x < $1.x }) {
            defer { previous = Swift.max(previous, p.x) }
            guard p.y.isFinite, p.x > previous else { continue }
            for e in 0..<epochs {
                let lo = Double(e) / Double(epochs), hi = Double(e + 1) / Double(epochs)
                let overlap = Swift.min(p.x, hi) - Swift.max(previous, lo)
                if overlap > 0 { sums[e] += p.y * overlap; weights[e] += overlap }
            }
        }
        return zip(sums, weights).map { $1 > 0 ? $0 / $1 : .nan }
    }

    /// Each epoch's value held across its share of training: a step line for the loss charts.
    static func epochSteps(_ means: [Double]) -> [(x: Double, y: Double)] {
        let n = Double(means.count)
        return means.enumerated().flatMap { e, m in [(x: Double(e) / n, y: m), (x: Double(e + 1) / n, y: m)] }
    }

    /// "100 points" or "97–101 points" per run.
    static func pointCount(_ rows: [ComparisonRow]) -> String {
        let counts = rows.map(\.lossCurve.count)
        guard let lo = counts.min(), let hi = counts.max() else { return "no points" }
        return (lo == hi ? "\(lo)" : "\(lo)–\(hi)") + (hi == 1 ? " point" : " points") + (rows.count > 1 ? " per run" : "")
    }

    /// Each row's loss curve, then its epoch means as a dashed step line in the same colour,
    /// named "<row> (epoch mean)": the stage's recorded ones when `exactEpochMeans` (GloVe's
    /// `epoch_costs`), else computed from the curve with the row's `epochs`.
    static func lossSeries(_ rows: [ComparisonRow], exactEpochMeans: Bool) -> [SVGChart.Series] {
        rows.enumerated().flatMap { i, r -> [SVGChart.Series] in
            var out = [SVGChart.Series(name: r.name, points: r.lossCurve, colorIndex: i)]
            let epochs = r.curveEpochs ?? r.settings["epochs"].flatMap { Int($0) }
            let means = exactEpochMeans && r.epochLosses?.isEmpty == false
                ? r.epochLosses! : epochs.map { epochMeans(r.lossCurve, epochs: $0) } ?? []
            if !means.isEmpty {
                out.append(SVGChart.Series(name: "\(r.name) (epoch mean)", points: epochSteps(means), dashed: true, colorIndex: i))
            }
            return out
        }
    }

    /// The training-loss charts: word2vec's loss per positive pair and GloVe's cost per entry
    /// (different quantities: one chart each), each run's curve solid and its epoch means dashed
    /// in the same colour, with a caption saying exactly what the points are.
    static func lossSection(_ rows: [ComparisonRow]) -> String {
        // Series sorted by name, as in the other charts, so a trial tends to keep its colour.
        let withCurves = rows.filter { !$0.lossCurve.isEmpty }.sorted { $0.name < $1.name }
        let gloveRows = withCurves.filter { $0.curveStage == GloVeStage.typeName || ($0.curveStage == nil && $0.settings["method"] == "glove") }
        let word2vecRows = withCurves.filter { r in !gloveRows.contains { $0.name == r.name } }
        var body = "<h2>Training loss</h2>\n"
        if !word2vecRows.isEmpty || gloveRows.isEmpty {
            body += SVGChart.line(title: "word2vec: loss per positive pair, mean over each ~1% of training",
                                  xLabel: "fraction of training (tokens read ÷ corpus tokens × epochs)",
                                  yLabel: "mean loss per positive pair", series: lossSeries(word2vecRows, exactEpochMeans: false)) + "\n"
            if !word2vecRows.isEmpty { body += "<p class=\"caption\">" + SVGChart.escape(
                "Solid: each point is the mean loss per positive pair over the tokens read since the previous point. "
                + "A point is taken each time the count of tokens read passes another multiple of 1% of the run's tokens "
                + "(corpus tokens × epochs, counting those dropped as rare or by subsampling); threads report their counts "
                + "every 10,000 tokens or fewer, so the stretches are about, not exactly, 1%: \(pointCount(word2vecRows)). "
                + "A pair's loss is −log σ(v·u) − Σ log σ(−v·n): the input vector v (skip-gram: one context word; "
                + "CBOW: the mean or sum of the window, one pair per centre word) against the centre word's output vector u and the sampled negatives n, "
                + "taken just before that pair's update: a training loss under vectors that keep changing, not the loss of the final vectors "
                + "and not a held-out one, so it need not fall steadily. (A loss or vector that became non-finite would have stopped the run with an error.) "
                + "Dashed: the curve's mean over each epoch, each point weighted by the share of the epoch its stretch covers; the table's loss "
                + "column is the last epoch's exact mean over its pairs. "
                + "Every epoch reads the corpus in the same order (each thread its own contiguous slice; subsampling draws afresh), so the shape of "
                + "the curve within an epoch also follows which stretch of text is being read, and the epoch means compare the same text. "
                + "The learning rate falls linearly over the whole run, from learning_rate to learning_rate × min_learning_rate_fraction.") + "</p>\n" }
        }
        if !gloveRows.isEmpty {
            let exact = gloveRows.allSatisfy { $0.epochLosses?.isEmpty == false }
            body += SVGChart.line(title: "GloVe: cost per non-zero entry, mean over each ≥1% of training",
                                  xLabel: "fraction of training (entries visited ÷ non-zero entries × epochs)",
                                  yLabel: "mean cost per entry", series: lossSeries(gloveRows, exactEpochMeans: exact)) + "\n"
            body += "<p class=\"caption\">" + SVGChart.escape(
                "Solid: each point is the mean, over the non-zero co-occurrence entries visited since the previous point, of ½ f(X) (w·w̃ + b + b̃ − log X)², "
                + "each taken just before that entry's AdaGrad step. A point is taken once at least another 1% of the run's entries (non-zero entries × epochs) "
                + "has been visited; threads report in chunks of up to 65,536 entries, so on a small matrix the stretches are longer and the points fewer: "
                + "\(pointCount(gloveRows)). Every epoch visits the entries in the same shuffled order. "
                + (exact ? "Dashed: each epoch's exact mean cost per entry, as the stage recorded it; the table's loss column is the last of them."
                         : "Dashed: the curve's mean over each epoch, each point weighted by the share of the epoch its stretch covers.")) + "</p>\n"
        }
        return body
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
        body += lossSection(rows)
        // Metric vs each swept parameter: one chart per group of settings that vary together.
        body += "<h2>Metrics against swept parameters</h2>\n"
        let plan = parameterPlan(sweptKeys: sweptKeys, rows: rows)
        for chart in plan.charts {
            let param = chart.param
            let values = sortedValues(Array(Set(rows.compactMap { $0.settings[param] })))
            let numeric = values.allSatisfy { Double($0) != nil }
            // One line per combination of the other varying settings (one per group of coupled ones).
            let others = plan.representatives.filter { $0 != param }
            var groups: [String: [(Double, Double)]] = [:]
            for r in rows {
                guard let v = r.settings[param], let acc = r.metrics["analogy_total"] else { continue }
                let g = others.map { "\($0)=\(r.settings[$0] ?? "—")" }.joined(separator: " ")
                let x = numeric ? Double(v)! : Double(values.firstIndex(of: v)!)
                groups[g.isEmpty ? "all" : g, default: []].append((x, acc * 100))
            }
            let series = groups.keys.sorted().map { SVGChart.Series(name: $0, points: groups[$0]!.sorted { $0.0 < $1.0 }.map { (x: $0.0, y: $0.1) }) }
            body += "<div class=\"param-chart\" data-param=\"\(SVGChart.escape(chart.key))\">" +
                SVGChart.line(title: "Analogy accuracy vs \(param)", xLabel: param, yLabel: "analogy accuracy (%)", series: series,
                              categoricalX: numeric ? nil : values) + "</div>\n"
            for note in chart.notes {
                body += "<p class=\"param-note\" data-param=\"\(SVGChart.escape(note.key))\">\(SVGChart.escape(note.text))</p>\n"
            }
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
        p.caption { max-width: 60em; font-size: 13px; color: #444; }
        p.param-note { font-size: 13px; color: #444; }
        </style></head><body>
        \(body)
        </body></html>
        """
    }
}
