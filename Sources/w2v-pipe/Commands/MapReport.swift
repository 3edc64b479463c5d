import Foundation
import Pipeline
import Stages

/// The report's word maps: one scatter per trained model that has a `map` stage, side by side,
/// coloured by word groups (fixed lists and the analogy set's sections), the most frequent
/// words labelled where the labels do not overlap.
enum MapReport {
    static let labelCount = 300

    /// The analogy set the experiment evaluates with (its first evaluate stage's), else the
    /// built-in Google set; nil when it cannot be read.
    static func analogies(_ e: Experiment) -> AnalogyDataset? {
        let evaluate = e.stages.first { $0.type.typeName == EvaluateStage.typeName }
        let file = evaluate.flatMap { $0.parameters(as: EvaluateStage.Parameters.self) }.map(\.analogies)
            ?? InputFile(BuiltinDatasets.analogies)
        guard let file else { return nil }
        return try? BuiltinDatasets.analogies(file)
    }

    /// HTML for the maps of `rows` (empty when none has run).
    static func html(rows: [ComparisonRow], experiments: [Experiment], store: ArtifactStore) -> String {
        var figures: [String] = []
        var summary: [String] = []
        let groups = WordGroups.groups(analogies: experiments.first.flatMap(analogies))
        for r in rows {
            for m in r.maps {
                guard let reader = try? store.open(m.digest, kind: ArtifactKind.map, maxVersion: WordMap.formatVersion),
                      let map = try? WordMap(reader) else { continue }
                let words = map.words.strings()
                let (kept, membership) = WordGroups.assign(words, groups: groups, limit: ScatterPlot.palette.count)
                let points = (0..<map.count).map { i in
                    ScatterPlot.Point(x: Double(map.coordinates[2 * i]), y: Double(map.coordinates[2 * i + 1]), title: words[i], group: membership[i])
                }
                let title = r.maps.count > 1 ? "\(r.name) · \(m.stage)" : r.name
                let plot = ScatterPlot(title: title, points: points,
                                       groups: kept.enumerated().map { ScatterPlot.Group(name: $1.name, colour: ScatterPlot.palette[$0]) },
                                       labelled: Array(0..<min(labelCount, map.count)))
                let (svg, labels) = plot.svg()
                let method = map.description["method"]?.canonicalText.replacingOccurrences(of: "\"", with: "") ?? "map"
                var facts = ["\(method), \(Format.grouped(map.count)) most frequent words"]
                if let t = map.figure("trustworthiness") { facts.append(String(format: "trustworthiness %.3f (k = 10)", t)) }
                if let kl = map.figure("kl_divergence") { facts.append(String(format: "KL %.3f", kl)) }
                if let seconds = store.runRecord(key: m.key)?.metrics["map_seconds"]?.doubleValue {
                    facts.append(Format.seconds(seconds))
                }
                facts.append("\(labels) of the \(min(labelCount, map.count)) most frequent labelled (the rest would overlap)")
                figures.append("<figure class=\"map\">\(svg)<figcaption>\(SVGChart.escape(facts.joined(separator: "; ")))</figcaption>" +
                               plot.legend() + "</figure>")
                if let t = map.figure("trustworthiness") { summary.append(String(format: "%@ %.3f", SVGChart.escape(title), t)) }
            }
        }
        guard !figures.isEmpty else { return "" }
        return """
        <h2>Word maps</h2>
        <p>Each trained model's most frequent words placed in 2-D by the experiment's <code>map</code> stage (t-SNE keeps each word's near neighbours near; distances between far-apart clusters mean little). Colours mark word groups: days, months, numbers, and the roles in the analogy set's sections; grey points are other words. Hover a point for its word. Trustworthiness (k = 10) is the share of map neighbours that are true neighbours, rank-weighted: 1 is perfect\(summary.isEmpty ? "" : " (" + summary.joined(separator: ", ") + ")").</p>
        <div class="maps">
        \(figures.joined(separator: "\n"))
        </div>

        """
    }
}
