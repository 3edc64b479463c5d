import Foundation
import Testing
@testable import w2v_pipe

/// The HTML report's logic on rows built here (no store, no training).
@Suite("compare --html: coupled parameters and loss charts")
struct ComparisonReportTests {
    static func row(_ name: String, _ settings: [(String, String)], accuracy: Double = 0.3,
                    curve: [(x: Double, y: Double)] = []) -> ComparisonRow {
        ComparisonRow(name: name, settings: Dictionary(uniqueKeysWithValues: settings), settingOrder: settings.map(\.0),
                      metrics: ["analogy_total": accuracy], lossCurve: curve, sections: [], complete: true)
    }

    static func count(_ needle: String, in page: String) -> Int { page.components(separatedBy: needle).count - 1 }

    /// experiments/sgns-vs-cbow.json: each variant sets train.model and train.learning_rate.
    @Test func aParameterThatVariesWithAnotherGetsANoteNotAChart() {
        let rows = [
            Self.row("sgns", [("model", "sgns"), ("dim", "100"), ("window", "5"), ("epochs", "5"), ("learning_rate", "0.025")], accuracy: 0.31),
            Self.row("cbow", [("model", "cbow"), ("dim", "100"), ("window", "5"), ("epochs", "5"), ("learning_rate", "0.05")], accuracy: 0.28),
        ]
        // The compare command passes the swept keys sorted: learning_rate comes first, model is kept.
        let plan = Comparison.parameterPlan(sweptKeys: ["train.learning_rate", "train.model"], rows: rows)
        #expect(plan.charts.map(\.param) == ["model"])
        #expect(plan.charts[0].key == "train.model")
        #expect(plan.charts[0].notes.map(\.key) == ["train.learning_rate"])
        #expect(plan.charts[0].notes[0].text.hasPrefix("learning_rate varies with model (sgns: 0.025, cbow: 0.05)"))
        #expect(plan.representatives == ["model"])

        let page = Comparison.html(title: "t", rows: rows, sweptKeys: ["train.learning_rate", "train.model"])
        #expect(Self.count("class=\"param-chart\"", in: page) == 1)
        #expect(page.contains("data-param=\"train.model\""))
        #expect(!page.contains("Analogy accuracy vs learning_rate"))
        #expect(page.contains("<p class=\"param-note\" data-param=\"train.learning_rate\">learning_rate varies with model (sgns: 0.025, cbow: 0.05)"))
        // One series ("all"), not one per learning rate.
        #expect(page.contains(">all</text>"))
        #expect(!page.contains("learning_rate=0.025"))
    }

    /// model × window, with the learning rate following the model (its default differs): two
    /// charts; the model chart's lines are per window only; the unswept learning rate gets a note.
    @Test func aGridKeepsItsChartsAndNamesSeriesByOneSettingPerGroup() {
        var rows: [ComparisonRow] = []
        for (model, lr) in [("sgns", "0.025"), ("cbow", "0.05")] {
            for window in ["2", "4"] {
                rows.append(Self.row("\(model) window=\(window)", [("model", model), ("window", window), ("learning_rate", lr)]))
            }
        }
        let plan = Comparison.parameterPlan(sweptKeys: ["train.model", "train.window"], rows: rows)
        #expect(plan.charts.map(\.param) == ["model", "window"])
        #expect(plan.charts[0].notes.map(\.key) == ["learning_rate"])
        #expect(plan.charts[1].notes.isEmpty)
        #expect(plan.representatives == ["model", "window"])
        let page = Comparison.html(title: "t", rows: rows, sweptKeys: ["train.model", "train.window"])
        #expect(Self.count("class=\"param-chart\"", in: page) == 2)
        #expect(page.contains(">window=2</text>") && page.contains(">model=cbow</text>"))
        #expect(!page.contains("learning_rate=0.05"))
    }

    /// Three settings in one-to-one correspondence, one independent: one chart for the three
    /// (the categorical one, though declared last) plus two notes, one chart for the other.
    @Test func aGroupOfMutuallyCoupledSettingsGetsOneChartAndNotes() {
        var rows: [ComparisonRow] = []
        for (dim, negatives, name) in [("50", "2", "small"), ("100", "5", "medium"), ("300", "15", "large")] {
            for seed in ["1", "2"] {
                rows.append(Self.row("\(name) \(seed)", [("dim", dim), ("negatives", negatives), ("seed", seed), ("preset", name)]))
            }
        }
        let keys = ["train.dim", "train.negatives", "train.preset", "train.seed"]
        #expect(Comparison.coupledGroups(["dim", "negatives", "seed", "preset"], in: rows) == [["dim", "negatives", "preset"], ["seed"]])
        let plan = Comparison.parameterPlan(sweptKeys: keys, rows: rows)
        #expect(plan.charts.map(\.param) == ["preset", "seed"])
        #expect(plan.charts[0].notes.map(\.key) == ["train.dim", "train.negatives"])
        #expect(plan.charts[0].notes[0].text.hasPrefix("dim varies with preset (small: 50, medium: 100, large: 300)"))
        let page = Comparison.html(title: "t", rows: rows, sweptKeys: keys)
        #expect(Self.count("class=\"param-chart\"", in: page) == 2)
        #expect(Self.count("class=\"param-note\"", in: page) == 2)
    }

    /// Two numeric settings that move together: the first in the table's order is charted.
    /// Settings that are merely correlated (not one-to-one) each keep their chart.
    @Test func numericCouplingKeepsTheFirstAndCorrelationIsNotCoupling() {
        let coupled = [("5", "10"), ("10", "20"), ("20", "40")].map { Self.row("w\($0.0)", [("window", $0.0), ("negatives", $0.1)]) }
        let plan = Comparison.parameterPlan(sweptKeys: ["train.negatives", "train.window"], rows: coupled)
        #expect(plan.charts.map(\.param) == ["window"])
        #expect(plan.charts[0].notes.map(\.key) == ["train.negatives"])

        // window 5 goes with two negatives values: not one-to-one.
        let loose = [("5", "10"), ("5", "20"), ("20", "40")].map { Self.row("w\($0.0)n\($0.1)", [("window", $0.0), ("negatives", $0.1)]) }
        let both = Comparison.parameterPlan(sweptKeys: ["train.negatives", "train.window"], rows: loose)
        #expect(both.charts.map(\.param) == ["negatives", "window"])
        #expect(both.charts.allSatisfy { $0.notes.isEmpty })
    }

    @Test func epochMeansWeighEachPointByTheStretchItCovers() {
        // 100 points, the loss equal to the epoch's index: the means are exactly those.
        let curve = (1...100).map { (x: Double($0) / 100, y: Double(($0 - 1) / 25)) }
        #expect(zip(Comparison.epochMeans(curve, epochs: 4), [0.0, 1, 2, 3]).allSatisfy { abs($0 - $1) < 1e-12 })
        // A point whose stretch straddles an epoch boundary counts in both, by length.
        let coarse: [(x: Double, y: Double)] = [(0.3, 1), (0.6, 2), (1.0, 3)]
        let means = Comparison.epochMeans(coarse, epochs: 2)
        #expect(abs(means[0] - (0.3 * 1 + 0.2 * 2) / 0.5) < 1e-12)
        #expect(abs(means[1] - (0.1 * 2 + 0.4 * 3) / 0.5) < 1e-12)
        // A run cut short: the epochs it never reached are NaN.
        #expect(Comparison.epochMeans([(0.2, 1), (0.4, 1)], epochs: 2)[1].isNaN)
        #expect(Comparison.epochSteps([2, 1]).map(\.x) == [0, 0.5, 0.5, 1])
        #expect(Comparison.epochSteps([2, 1]).map(\.y) == [2, 2, 1, 1])
    }

    @Test func lossChartsSayWhatIsPlottedAndAddEpochMeans() {
        let sgnsCurve = (1...100).map { (x: Double($0) / 100, y: 3 - Double($0) / 100) }
        var sgns = Self.row("sgns", [("model", "sgns"), ("epochs", "4")], curve: sgnsCurve)
        sgns.curveStage = "train"
        sgns.curveEpochs = 4
        var glove = Self.row("glove", [("method", "glove"), ("epochs", "2")], curve: [(0.5, 0.2), (1.0, 0.1)])
        glove.curveStage = "glove"
        glove.curveEpochs = 2
        glove.epochLosses = [0.25, 0.125]
        let section = Comparison.lossSection([sgns, glove])
        #expect(section.contains("word2vec: loss per positive pair, mean over each ~1% of training"))
        #expect(section.contains("GloVe: cost per non-zero entry"))
        #expect(section.contains(">sgns (epoch mean)</text>"))
        #expect(section.contains(">glove (epoch mean)</text>"))
        #expect(Self.count("stroke-dasharray=\"6 4\"", in: section) == 2)
        #expect(section.contains("100 points"))
        #expect(section.contains("exact mean cost per entry"))
        // GloVe's epoch means are the recorded ones, not the curve's; word2vec's come from its curve.
        let gloveSeries = Comparison.lossSeries([glove], exactEpochMeans: true)
        #expect(gloveSeries.map(\.name) == ["glove", "glove (epoch mean)"])
        #expect(gloveSeries[1].dashed && gloveSeries[1].colorIndex == gloveSeries[0].colorIndex)
        #expect(gloveSeries[1].points.map(\.y) == [0.25, 0.25, 0.125, 0.125])
        #expect(gloveSeries[1].points.map(\.x) == [0, 0.5, 0.5, 1])
        let sgnsSeries = Comparison.lossSeries([sgns], exactEpochMeans: false)
        let expected = Comparison.epochMeans(sgnsCurve, epochs: 4)
        #expect(sgnsSeries[1].points.map(\.y) == expected.flatMap { [$0, $0] })
        #expect(abs(expected[0] - 2.87) < 1e-9 && abs(expected[3] - 2.12) < 1e-9)
        // The page stays well-formed and script-free.
        let page = Comparison.html(title: "t", rows: [sgns, glove], sweptKeys: [])
        #expect(!page.contains("<script"))
    }
}
