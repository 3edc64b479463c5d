import Foundation
import Testing
@testable import Pipeline

@Suite("SVG charts: tick labels that differ")
struct SVGChartTests {
    /// A tick label back to a number: plain, k/M/G-suffixed or scientific.
    static func parse(_ label: String) -> Double? {
        let scales: [Character: Double] = ["k": 1e3, "M": 1e6, "G": 1e9]
        if let last = label.last, let scale = scales[last] { return Double(label.dropLast()).map { $0 * scale } }
        return Double(label)
    }

    /// Ranges a chart meets: the rounding case that started this (35.9…36.2 all read "36"),
    /// steps of 0.05/0.1/20, tiny spans, negatives, zero-crossing, large and very large values.
    static let ranges: [(Double, Double)] = [
        (35.87, 36.23), (35.9, 36.2), (0, 1), (0.05, 0.3), (0, 100), (0, 113.3), (12.5, 98.1),
        (0.6531, 0.6534), (0.65312, 0.65313), (-3.2, 4.7), (-0.012, -0.003), (-250, -20), (-1e6, 1e6),
        (0, 3.4e5), (9_000, 10_100), (1.2e6, 1.9e6), (16_900_000, 16_950_000), (1e9, 1.0005e9), (2e9, 9e10),
        (2e14, 1.3e15), (1e-7, 5e-7), (-4e-5, 3e-5), (0.999, 1.001), (1.99, 2.01),
    ]

    @Test(arguments: ranges)
    func tickLabelsArePairwiseDistinctAndReadBackAsTheTicks(range: (Double, Double)) throws {
        let axis = SVGChart.axis(range.0, range.1)
        #expect(axis.count >= 2, "\(range): \(axis)")
        let labels = axis.map(\.label)
        #expect(Set(labels).count == labels.count, "\(range): \(labels)")
        let step = zip(axis, axis.dropFirst()).map { $1.value - $0.value }.min() ?? 1
        for t in axis {
            let back = try #require(Self.parse(t.label), "\(range): \(t.label) does not parse")
            #expect(abs(back - t.value) <= step * 1e-6, "\(range): \(t.label) for \(t.value)")
            #expect(t.value >= range.0 - step * 1e-6 && t.value <= range.1 + step * 1e-6, "\(range): tick \(t.value) outside")
        }
    }

    @Test func decimalsFollowTheStep() {
        #expect(SVGChart.tickLabels([0, 0.05, 0.1, 0.15], step: 0.05) == ["0", "0.05", "0.10", "0.15"])
        #expect(SVGChart.tickLabels([35.9, 36.0, 36.1, 36.2], step: 0.1) == ["35.9", "36.0", "36.1", "36.2"])
        #expect(SVGChart.tickLabels([0, 20, 40, 60], step: 20) == ["0", "20", "40", "60"])
        #expect(SVGChart.tickLabels([-0.2, -0.1, 0, 0.1], step: 0.1) == ["-0.2", "-0.1", "0", "0.1"])
        // Compact forms where they stay distinct: 30k style, 1.2M style.
        #expect(SVGChart.tickLabels([0, 100_000, 200_000, 300_000], step: 100_000) == ["0", "100k", "200k", "300k"])
        #expect(SVGChart.tickLabels([1.2e6, 1.4e6, 1.6e6], step: 2e5) == ["1.2M", "1.4M", "1.6M"])
        #expect(SVGChart.tickLabels([16_910_000, 16_920_000], step: 10_000) == ["16.91M", "16.92M"])
        // Tiny spans: as many decimals as it takes.
        #expect(SVGChart.axis(0.6531, 0.6534).map(\.label) == ["0.6531", "0.6532", "0.6533", "0.6534"])
        // The rounding case that started this: 35.9…36.2 no longer all read "36".
        #expect(SVGChart.axis(35.87, 36.23).map(\.label) == ["35.9", "36.0", "36.1", "36.2"])
    }

    @Test func aSingleTickIsLabelled() {
        #expect(SVGChart.axis(42, 42).map(\.label) == ["42"])
        #expect(SVGChart.axis(0.6531, 0.6531).map(\.label) == ["0.6531"])
        #expect(SVGChart.axis(0, 0).map(\.label) == ["0"])
    }

    /// The y-axis labels of a line chart (right-anchored text at the plot's left edge).
    static func yLabels(_ svg: String) -> [String] {
        svg.components(separatedBy: "text-anchor=\"end\">").dropFirst().map { String($0.prefix { $0 != "<" }) }
    }

    @Test func lineChartsLabelTheirAxesDistinctly() {
        let tight = SVGChart.line(title: "t", xLabel: "x", yLabel: "y", series: [
            .init(name: "a", points: [(x: 1, y: 35.9), (x: 2, y: 36.1), (x: 3, y: 36.3)]),
        ])
        let labels = Self.yLabels(tight)
        #expect(labels.count >= 3)
        #expect(Set(labels).count == labels.count, "\(labels)")
        #expect(labels.allSatisfy { $0.contains(".") }, "\(labels)")
        // One value in every series: a margin around it, still distinct labels.
        for v in [0.6531, 0, -12, 3.2e9] {
            let single = SVGChart.line(title: "t", xLabel: "x", yLabel: "y", series: [.init(name: "a", points: [(x: 5, y: v)])])
            let ls = Self.yLabels(single)
            #expect(ls.count >= 2 && Set(ls).count == ls.count, "\(v): \(ls)")
            #expect(!single.contains("nan") && !single.contains("inf"), "\(v)")
        }
        // Bars too.
        let bars = SVGChart.bars(title: "b", yLabel: "y", categories: ["a", "b"], series: [(name: "s", values: [0.031, 0.034])])
        let bl = Self.yLabels(bars)
        #expect(bl.count >= 3 && Set(bl).count == bl.count, "\(bl)")
    }

    @Test func dashedSeriesShareTheirSourceColourAndHaveNoMarkers() {
        let svg = SVGChart.line(title: "t", xLabel: "x", yLabel: "y", series: [
            .init(name: "run", points: [(x: 0.5, y: 2), (x: 1, y: 1)], colorIndex: 3),
            .init(name: "run (epoch mean)", points: [(x: 0, y: 1.5), (x: 1, y: 1.5)], dashed: true, colorIndex: 3),
        ])
        let color = SVGChart.palette[3]
        #expect(svg.components(separatedBy: "stroke=\"\(color)\" stroke-width=\"2\" points=").count - 1 == 1)
        #expect(svg.contains("stroke=\"\(color)\" stroke-width=\"2\" stroke-dasharray=\"6 4\" points="))
        #expect(svg.components(separatedBy: "<circle").count - 1 == 2) // the solid series' two points only
        #expect(svg.contains(">run (epoch mean)</text>"))
    }

    @Test func extremeRangesDoNotTrap() {
        for (lo, hi) in [(-1e308, 1e308), (0, Double.greatestFiniteMagnitude), (-Double.greatestFiniteMagnitude, -1e300)] {
            let axis = SVGChart.axis(lo, hi)
            #expect(!axis.isEmpty)
        }
        #expect(SVGChart.tickLabels([1, .infinity], step: .infinity).count == 2)
        #expect(SVGChart.tickLabels([.nan, 1], step: 1).count == 2)
    }
}
