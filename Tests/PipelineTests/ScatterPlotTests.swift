import Foundation
import Testing
@testable import Pipeline

@Suite("Word-map scatter: labels that never overlap")
struct ScatterPlotTests {
    @Test func placedLabelsStayApartAndInside() {
        // A dense blob and a sparse ring: many labels must be dropped in the blob.
        var candidates: [(index: Int, x: Double, y: Double, text: String)] = []
        var state: UInt64 = 42
        func next() -> Double { state = state &* 6364136223846793005 &+ 1; return Double(state >> 11) * 0x1p-53 }
        for i in 0..<300 {
            let dense = i % 2 == 0
            let x = dense ? 200 + next() * 60 : 20 + next() * 460, y = dense ? 200 + next() * 60 : 20 + next() * 460
            candidates.append((i, x, y, String(repeating: "w", count: 3 + i % 9)))
        }
        let bounds = ScatterPlot.Box(left: 0, top: 0, right: 500, bottom: 500)
        let placed = ScatterPlot.placeLabels(candidates, fontSize: 10, bounds: bounds)
        #expect(placed.count > 30 && placed.count < 300)
        for (a, p) in placed.enumerated() {
            #expect(p.box.left >= 0 && p.box.right <= 500 && p.box.top >= 0 && p.box.bottom <= 500)
            for q in placed[(a + 1)...] { #expect(!p.box.overlaps(q.box), "labels \(p.index) and \(q.index) overlap") }
            // The box is the estimated text extent next to its own point.
            let c = candidates[p.index]
            #expect(abs((p.box.right - p.box.left) - ScatterPlot.labelWidth(c.text, fontSize: 10)) < 1e-9)
            #expect(p.box.left - 4 <= c.x && c.x <= p.box.right + 4 && p.box.top - 4 <= c.y && c.y <= p.box.bottom + 4)
        }
        // Priority: the first candidate always gets a label when it fits anywhere.
        #expect(placed.first?.index == 0)
        // Every dropped candidate really had no free position: each of its eight boxes hits a
        // placed label or the edge (so the greedy pass did not drop labels it could place).
        let placedSet = Set(placed.map(\.index))
        for c in candidates where !placedSet.contains(c.index) {
            let again = ScatterPlot.placeLabels(placed.map { (index: $0.index, x: candidates[$0.index].x, y: candidates[$0.index].y, text: candidates[$0.index].text) } + [c],
                                                fontSize: 10, bounds: bounds)
            #expect(!again.contains { $0.index == c.index }, "candidate \(c.index) could have been labelled")
        }
    }

    @Test func svgDrawsEveryPointWithItsGroupAndTitle() {
        var points: [ScatterPlot.Point] = []
        for i in 0..<50 {
            let group: Int? = i % 5 == 0 ? 1 : (i % 7 == 0 ? 0 : nil)
            let title = i == 3 ? "a<b" : "w\(i)"
            points.append(ScatterPlot.Point(x: Double(i % 10), y: Double(i / 10), title: title, group: group))
        }
        let plot = ScatterPlot(title: "t", points: points, groups: [.init(name: "g0", colour: "#123456"), .init(name: "g1", colour: "#abcdef")],
                               labelled: Array(0..<20))
        let (svg, labels) = plot.svg()
        #expect(svg.components(separatedBy: "<circle").count - 1 == 50)
        #expect(svg.contains("<title>a&lt;b</title>"))
        #expect(svg.contains("data-group=\"g1\""))
        #expect(labels > 0 && labels <= 20)
        #expect(svg.components(separatedBy: "<text").count - 1 == labels + 1)  // + the title
        let legend = plot.legend()
        #expect(legend.contains("g1 (10)") && legend.contains("other words"))
        // Nothing to draw: no trap, a message.
        #expect(ScatterPlot(title: "e", points: [], groups: [], labelled: [0, 1]).svg().svg.contains("no points"))
    }
}
