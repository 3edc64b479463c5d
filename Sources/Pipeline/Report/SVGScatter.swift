import Foundation

/// A labelled scatter plot (a word map) as inline SVG: no scripts, a hover title per point.
public struct ScatterPlot {
    public struct Point {
        public var x: Double
        public var y: Double
        public var title: String
        /// Index into `groups`, or nil for the background.
        public var group: Int?
        public init(x: Double, y: Double, title: String, group: Int?) { self.x = x; self.y = y; self.title = title; self.group = group }
    }

    public struct Group {
        public var name: String
        public var colour: String
        public init(name: String, colour: String) { self.name = name; self.colour = colour }
    }

    public var title: String
    public var points: [Point]
    public var groups: [Group]
    /// Points to label, in priority order (e.g. the most frequent words first).
    public var labelled: [Int]
    public var size = 720
    public var fontSize = 10.0

    public init(title: String, points: [Point], groups: [Group], labelled: [Int]) {
        self.title = title; self.points = points; self.groups = groups; self.labelled = labelled
    }

    /// Colours for groups, distinct from the grey background.
    public static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
                                 "#bcbd22", "#000080", "#808000", "#ff1493"]

    /// An axis-aligned box (left, top, right, bottom) in SVG units.
    public struct Box: Equatable {
        public var left: Double, top: Double, right: Double, bottom: Double
        public init(left: Double, top: Double, right: Double, bottom: Double) {
            self.left = left; self.top = top; self.right = right; self.bottom = bottom
        }
        public func overlaps(_ o: Box) -> Bool { left < o.right && o.left < right && top < o.bottom && o.top < bottom }
    }

    /// Advance widths (em) of Arial / Helvetica / Liberation Sans for ASCII letters, digits and
    /// common marks; other characters count as 0.6 em, wide scripts (CJK and beyond) as 1 em.
    static let advance: [Character: Double] = {
        var w: [Character: Double] = [:]
        for c in "abcdeghnopqsuvxyz0123456789" { w[c] = 0.556 }
        for c in "ijl" { w[c] = 0.222 }
        for c in "ftr" { w[c] = 0.333 }
        w["k"] = 0.5; w["m"] = 0.833; w["w"] = 0.722
        for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" { w[c] = 0.667 }
        for c in "CDGHNOQRU" { w[c] = 0.722 }
        for c in "IJ" { w[c] = 0.278 }
        w["M"] = 0.833; w["W"] = 0.944
        for c in " .,:;'!|" { w[c] = 0.278 }
        for c in "-()[]" { w[c] = 0.333 }
        return w
    }()

    /// An estimate of a label's rendered width (SVG has no text metrics without a renderer):
    /// the font's advance widths plus 5% and a pixel of air, so estimated boxes that do not
    /// overlap leave the rendered text apart too (checked in headless Chromium by the tests).
    public static func labelWidth(_ text: String, fontSize: Double) -> Double {
        let em = text.reduce(0.0) { sum, c in
            if let w = advance[c] { return sum + w }
            return sum + ((c.unicodeScalars.first?.value ?? 0) >= 0x2E80 ? 1.0 : 0.6)
        }
        return em * fontSize * 1.05 + 1
    }

    /// A label's box height in em: the font's ascent and descent (0.905 + 0.212) plus air.
    static let lineHeight = 1.2
    /// The baseline's offset below the box's top, in em.
    static let baseline = 0.95

    /// Greedy label placement: for each point in priority order, the first of eight positions
    /// (right, left, above, below the point, then diagonally) whose box stays inside `bounds` and overlaps no
    /// label placed before; points with no free position stay unlabelled.
    /// Returns (point index, box, text anchor x, baseline y) for each placed label.
    public static func placeLabels(_ candidates: [(index: Int, x: Double, y: Double, text: String)], fontSize: Double,
                                   bounds: Box) -> [(index: Int, box: Box, x: Double, y: Double)] {
        let cell = 32.0
        var grid: [Int: [Box]] = [:]
        func cells(_ b: Box) -> [Int] {
            let x0 = Int((b.left / cell).rounded(.down)), x1 = Int((b.right / cell).rounded(.down))
            let y0 = Int((b.top / cell).rounded(.down)), y1 = Int((b.bottom / cell).rounded(.down))
            var out: [Int] = []
            for cx in x0...max(x0, x1) { for cy in y0...max(y0, y1) { out.append(cx &* 100_003 &+ cy) } }
            return out
        }
        var placed: [(Int, Box, Double, Double)] = []
        for c in candidates {
            let w = labelWidth(c.text, fontSize: fontSize), h = fontSize * lineHeight, b = fontSize * baseline
            let gap = 3.0
            // Right of the point, left, above, below, then the four diagonals: (box top-left
            // corner) → the text's start and baseline.
            let corners: [(Double, Double)] = [(c.x + gap, c.y - h / 2), (c.x - gap - w, c.y - h / 2),
                                               (c.x - w / 2, c.y - gap - h), (c.x - w / 2, c.y + gap),
                                               (c.x + gap, c.y - gap - h), (c.x - gap - w, c.y - gap - h),
                                               (c.x + gap, c.y + gap), (c.x - gap - w, c.y + gap)]
            let options = corners.map { (Box(left: $0.0, top: $0.1, right: $0.0 + w, bottom: $0.1 + h), $0.0, $0.1 + b) }
            for (box, tx, ty) in options {
                guard box.left >= bounds.left, box.right <= bounds.right, box.top >= bounds.top, box.bottom <= bounds.bottom else { continue }
                let keys = cells(box)
                if keys.contains(where: { k in grid[k]?.contains(where: { $0.overlaps(box) }) ?? false }) { continue }
                for k in keys { grid[k, default: []].append(box) }
                placed.append((c.index, box, tx, ty))
                break
            }
        }
        return placed.map { (index: $0.0, box: $0.1, x: $0.2, y: $0.3) }
    }

    /// The SVG, and how many of the requested labels were placed.
    public func svg() -> (svg: String, labels: Int) {
        let side = Double(size), margin = 12.0, top = 30.0
        let plot = Box(left: margin, top: top, right: side - margin, bottom: side - margin)
        let xs = points.map(\.x).filter(\.isFinite), ys = points.map(\.y).filter(\.isFinite)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"map\" width=\"\(size)\" height=\"\(size)\" viewBox=\"0 0 \(size) \(size)\" role=\"img\" aria-label=\"\(SVGChart.escape(title))\">"
        svg += "<rect x=\"0\" y=\"0\" width=\"\(size)\" height=\"\(size)\" fill=\"#fff\"/>"
        svg += "<text x=\"\(margin)\" y=\"20\" font-size=\"14\" font-weight=\"bold\">\(SVGChart.escape(title))</text>"
        guard let x0 = xs.min(), let x1 = xs.max(), let y0 = ys.min(), let y1 = ys.max() else {
            return (svg + "<text x=\"\(margin)\" y=\"50\">no points</text></svg>", 0)
        }
        // One scale for both axes (distances on a map mean the same in every direction).
        let span = max(x1 - x0, y1 - y0, 1e-12)
        let inner = min(plot.right - plot.left, plot.bottom - plot.top) - 8
        let scale = inner / span
        let ox = plot.left + 4 + (inner - (x1 - x0) * scale) / 2, oy = plot.top + 4 + (inner - (y1 - y0) * scale) / 2
        func X(_ v: Double) -> Double { ox + (v - x0) * scale }
        func Y(_ v: Double) -> Double { oy + (y1 - v) * scale }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        svg += "<rect x=\"\(plot.left)\" y=\"\(plot.top)\" width=\"\(plot.right - plot.left)\" height=\"\(plot.bottom - plot.top)\" fill=\"none\" stroke=\"#ccc\"/>"
        // Background points first, then each group, so group colours stay visible.
        svg += "<g fill=\"#9a9a9a\" fill-opacity=\"0.55\">"
        for p in points where p.group == nil && p.x.isFinite && p.y.isFinite {
            svg += "<circle cx=\"\(f(X(p.x)))\" cy=\"\(f(Y(p.y)))\" r=\"1.6\"><title>\(SVGChart.escape(p.title))</title></circle>"
        }
        svg += "</g>"
        for (g, group) in groups.enumerated() {
            svg += "<g fill=\"\(group.colour)\" class=\"group\" data-group=\"\(SVGChart.escape(group.name))\">"
            for p in points where p.group == g && p.x.isFinite && p.y.isFinite {
                svg += "<circle cx=\"\(f(X(p.x)))\" cy=\"\(f(Y(p.y)))\" r=\"2.8\"><title>\(SVGChart.escape(p.title)) (\(SVGChart.escape(group.name)))</title></circle>"
            }
            svg += "</g>"
        }
        let candidates = labelled.filter { points.indices.contains($0) && points[$0].x.isFinite && points[$0].y.isFinite }
            .map { (index: $0, x: X(points[$0].x), y: Y(points[$0].y), text: points[$0].title) }
        let labels = ScatterPlot.placeLabels(candidates, fontSize: fontSize, bounds: plot)
        svg += "<g font-size=\"\(fontSize)\" font-family=\"Arial, Helvetica, 'Liberation Sans', sans-serif\" class=\"labels\">"
        for l in labels {
            let p = points[l.index]
            let colour = p.group.map { groups[$0].colour } ?? "#333"
            svg += "<text x=\"\(f(l.x))\" y=\"\(f(l.y))\" fill=\"\(colour)\">\(SVGChart.escape(p.title))</text>"
        }
        svg += "</g></svg>"
        return (svg, labels.count)
    }

    /// A legend for the groups (HTML), with the number of points in each.
    public func legend() -> String {
        var counts = [Int](repeating: 0, count: groups.count)
        for p in points { if let g = p.group, counts.indices.contains(g) { counts[g] += 1 } }
        var out = "<ul class=\"legend\">"
        for (g, group) in groups.enumerated() {
            out += "<li><span class=\"swatch\" style=\"background:\(group.colour)\"></span>\(SVGChart.escape(group.name)) (\(counts[g]))</li>"
        }
        out += "<li><span class=\"swatch\" style=\"background:#9a9a9a\"></span>other words</li></ul>"
        return out
    }
}
