import Foundation

/// Small self-contained SVG charts for HTML reports (no scripts, no network).
public enum SVGChart {
    public struct Series {
        public var name: String
        public var points: [(x: Double, y: Double)]
        /// Drawn dashed, without point markers (e.g. a summary of another series).
        public var dashed: Bool
        /// Palette index to draw with, so a derived series can share its source's colour; by
        /// default the series' position.
        public var colorIndex: Int?
        public init(name: String, points: [(x: Double, y: Double)], dashed: Bool = false, colorIndex: Int? = nil) {
            self.name = name; self.points = points; self.dashed = dashed; self.colorIndex = colorIndex
        }
    }

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

    public static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// A single value (e.g. a bar's tooltip): four significant digits, from 10⁴ on a grouped whole number.
    static func fmt(_ v: Double) -> String {
        if v == 0 { return "0" }
        if abs(v) >= 1e4 && abs(v) < 1e15 { return Format.grouped(Int64(v.rounded())) }
        return String(format: "%.4g", v)
    }

    /// The step between nice ticks (1, 2 or 5 × a power of ten) covering lo…hi with about `count` steps.
    static func tickStep(_ lo: Double, _ hi: Double, count: Int = 5) -> Double {
        let raw = (hi - lo) / Double(max(1, count))
        let mag = pow(10, floor(log10(raw)))
        return [1.0, 2, 5, 10].map { $0 * mag }.first { $0 >= raw * (1 - 1e-12) } ?? raw
    }

    /// Nice tick values covering lo…hi: the multiples of `tickStep` inside it.
    static func ticks(_ lo: Double, _ hi: Double, count: Int = 5) -> [Double] {
        guard hi > lo, lo.isFinite, hi.isFinite else { return [lo] }
        let step = tickStep(lo, hi, count: count)
        let first = (lo / step - 1e-9).rounded(.up), last = (hi / step + 1e-9).rounded(.down)
        // A range too narrow for its magnitude (steps below the doubles' resolution): its ends.
        guard last >= first, last - first <= Double(4 * max(1, count)), first * step != (first + 1) * step else { return [lo, hi] }
        // k / (1/step) rather than k × step for steps below 1, so 359 × 0.1 comes out as 35.9.
        let inverse = step < 1 ? (1 / step).rounded() : 0
        return stride(from: first, through: last, by: 1).map { k in
            inverse > 0 && abs(1 / inverse - step) <= step * 1e-12 ? k / inverse : k * step
        }
    }

    /// Ticks covering lo…hi with their labels.
    static func axis(_ lo: Double, _ hi: Double, count: Int = 5) -> [(value: Double, label: String)] {
        let values = ticks(lo, hi, count: count)
        // One tick has no step to follow: six significant digits.
        guard values.count > 1 else { return values.map { (value: $0, label: $0 == 0 ? "0" : String(format: "%.6g", $0)) } }
        let step = zip(values, values.dropFirst()).map { $1 - $0 }.min()!
        return Array(zip(values, tickLabels(values, step: step)))
    }

    /// Labels for ticks `step` apart, with the decimals the step implies (step 0.05 → 2, 0.1 → 1,
    /// 20 → 0), so distinct ticks never read alike: plain below 10⁴ (and above 10⁻⁴), k/M/G up to
    /// 10¹², scientific beyond either end. If rounding still made two alike, one more digit until
    /// they differ.
    static func tickLabels(_ ticks: [Double], step: Double) -> [String] {
        guard let maxAbs = ticks.map(abs).max() else { return [] }
        // Values no chart should meet (overflowing ranges): plain text rather than a trap below.
        guard maxAbs.isFinite, step.isFinite, step > 0 else { return ticks.map { String(format: "%.6g", $0) } }
        let stepExponent = step > 0 && step.isFinite ? Int(floor(log10(step) + 1e-9)) : 0
        enum Style { case plain, scaled(Double, String), scientific }
        let style: Style
        if maxAbs >= 1e12 || (maxAbs > 0 && maxAbs < 1e-4) { style = .scientific }
        else if maxAbs >= 1e9 { style = .scaled(1e9, "G") }
        else if maxAbs >= 1e6 { style = .scaled(1e6, "M") }
        else if maxAbs >= 1e4 { style = .scaled(1e3, "k") }
        else { style = .plain }
        func labels(extra: Int) -> [String] {
            ticks.map { t in
                if t == 0 || abs(t) < step * 1e-9 { return "0" }
                switch style {
                case .plain:
                    return String(format: "%.\(Swift.max(0, -stepExponent) + extra)f", t)
                case .scaled(let scale, let suffix):
                    let decimals = Swift.max(0, Int(log10(scale).rounded()) - stepExponent) + extra
                    return String(format: "%.\(decimals)f", t / scale) + suffix
                case .scientific:
                    let digits = Swift.max(0, Int(floor(log10(maxAbs) + 1e-9)) - stepExponent) + extra
                    return String(format: "%.\(digits)e", t)
                }
            }
        }
        var out = labels(extra: 0)
        var extra = 0
        while Set(out).count < out.count && extra < 17 {
            extra += 1
            out = labels(extra: extra)
        }
        return out
    }

    /// The legend's entries: one row each at the right of the plot, `<title>` holding a long name in full.
    static func legend(_ entries: [(name: String, color: String, dashed: Bool)], x: Double, top: Double, maxChars: Int) -> String {
        var svg = ""
        for (i, e) in entries.enumerated() {
            let ly = top + 14 + Double(i) * 16
            if e.dashed {
                svg += "<line x1=\"\(x)\" x2=\"\(x + 14)\" y1=\"\(ly - 4)\" y2=\"\(ly - 4)\" stroke=\"\(e.color)\" stroke-width=\"2\" stroke-dasharray=\"4 2\"/>"
            } else {
                svg += "<rect x=\"\(x)\" y=\"\(ly - 9)\" width=\"10\" height=\"10\" fill=\"\(e.color)\"/>"
            }
            let shown = e.name.count > maxChars ? String(e.name.prefix(maxChars - 1)) + "…" : e.name
            let full = shown == e.name ? "" : "<title>\(escape(e.name))</title>"
            svg += "<text x=\"\(x + 18)\" y=\"\(ly)\" font-size=\"11\">\(full)\(escape(shown))</text>"
        }
        return svg
    }

    /// Room for a legend of these names at 11 px: at least `minimum`, at most 40 characters' worth.
    static func legendWidth(_ names: [String], minimum: Double) -> (width: Double, chars: Int) {
        let chars = Swift.min(40, names.map(\.count).max() ?? 0)
        return (Swift.max(minimum, 34 + 6.2 * Double(chars)), Swift.max(chars, 22))
    }

    /// A line chart. `categoricalX` labels the x positions instead of numbers. The plot keeps
    /// `width` minus 214 px; the legend's column widens (and the chart with it) for long names,
    /// and the chart grows taller when the legend needs it.
    public static func line(title: String, xLabel: String, yLabel: String, series: [Series],
                            categoricalX: [String]? = nil, width: Int = 640, height: Int = 360) -> String {
        let left = 64.0, top = 36.0, bottom = 48.0
        let (right, legendChars) = legendWidth(series.map(\.name), minimum: 150)
        let w = Double(width) - 214
        let h = Swift.max(Double(height), top + 24 + Double(series.count) * 16 + bottom) - top - bottom
        let fullWidth = Int(left + w + right), fullHeight = Int(top + h + bottom)
        let xs = series.flatMap { $0.points.map(\.x) }.filter(\.isFinite), ys = series.flatMap { $0.points.map(\.y) }.filter(\.isFinite)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"\(fullWidth)\" height=\"\(fullHeight)\" viewBox=\"0 0 \(fullWidth) \(fullHeight)\" role=\"img\" aria-label=\"\(escape(title))\">"
        svg += "<text x=\"\(Int(left))\" y=\"20\" font-size=\"15\" font-weight=\"bold\">\(escape(title))</text>"
        guard let xMin0 = xs.min(), let xMax0 = xs.max(), let yMin0 = ys.min(), let yMax0 = ys.max() else {
            return svg + "<text x=\"\(Int(left))\" y=\"\(Int(top + 20))\">no data yet</text></svg>"
        }
        // A single x or y value gets a margin around it: ±½ position for one category, else ±5%
        // of the value (±1 for 0).
        func around(_ v: Double) -> Double { v == 0 ? 1 : abs(v) * 0.05 }
        let xPad = xMax0 > xMin0 ? 0 : (categoricalX != nil ? 0.5 : around(xMin0))
        let xMin = xMin0 - xPad, xMax = xMax0 + xPad
        let yPad = yMax0 > yMin0 ? (yMax0 - yMin0) * 0.08 : around(yMin0)
        let yMin = yMin0 - yPad, yMax = yMax0 + yPad
        func X(_ v: Double) -> Double { left + (v - xMin) / (xMax - xMin) * w }
        func Y(_ v: Double) -> Double { top + h - (v - yMin) / (yMax - yMin) * h }
        svg += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(w)\" height=\"\(h)\" fill=\"none\" stroke=\"#999\"/>"
        for t in axis(yMin, yMax) {
            svg += "<line x1=\"\(left)\" x2=\"\(left + w)\" y1=\"\(Y(t.value))\" y2=\"\(Y(t.value))\" stroke=\"#eee\"/>"
            svg += "<text x=\"\(left - 6)\" y=\"\(Y(t.value) + 4)\" font-size=\"11\" text-anchor=\"end\">\(escape(t.label))</text>"
        }
        if let cats = categoricalX {
            for (i, c) in cats.enumerated() {
                svg += "<text x=\"\(X(Double(i)))\" y=\"\(top + h + 16)\" font-size=\"11\" text-anchor=\"middle\">\(escape(c))</text>"
            }
        } else {
            for t in axis(xMin, xMax) {
                svg += "<text x=\"\(X(t.value))\" y=\"\(top + h + 16)\" font-size=\"11\" text-anchor=\"middle\">\(escape(t.label))</text>"
            }
        }
        svg += "<text x=\"\(left + w / 2)\" y=\"\(Double(fullHeight) - 10)\" font-size=\"12\" text-anchor=\"middle\">\(escape(xLabel))</text>"
        svg += "<text transform=\"translate(16 \(top + h / 2)) rotate(-90)\" font-size=\"12\" text-anchor=\"middle\">\(escape(yLabel))</text>"
        var entries: [(name: String, color: String, dashed: Bool)] = []
        for (i, s) in series.enumerated() {
            let color = palette[(s.colorIndex ?? i) % palette.count]
            let pts = s.points.filter { $0.x.isFinite && $0.y.isFinite }.map { "\(X($0.x)),\(Y($0.y))" }.joined(separator: " ")
            let dash = s.dashed ? " stroke-dasharray=\"6 4\"" : ""
            svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"\(dash) points=\"\(pts)\"/>"
            if s.points.count <= 30 && !s.dashed {
                for p in s.points where p.x.isFinite && p.y.isFinite { svg += "<circle cx=\"\(X(p.x))\" cy=\"\(Y(p.y))\" r=\"3\" fill=\"\(color)\"/>" }
            }
            entries.append((s.name, color, s.dashed))
        }
        svg += legend(entries, x: left + w + 10, top: top, maxChars: legendChars)
        return svg + "</svg>"
    }

    /// Grouped bars: one group per category, one bar per series.
    public static func bars(title: String, yLabel: String, categories: [String], series: [(name: String, values: [Double])],
                            width: Int = 900, height: Int = 380) -> String {
        let left = 56.0, top = 36.0, bottom = 110.0
        let (right, legendChars) = legendWidth(series.map(\.name), minimum: 120)
        let w = Double(width) - 176
        let h = Swift.max(Double(height), top + 24 + Double(series.count) * 16 + bottom) - top - bottom
        let fullWidth = Int(left + w + right), fullHeight = Int(top + h + bottom)
        let yMax = Swift.max(1e-9, series.flatMap(\.values).filter(\.isFinite).max() ?? 1) * 1.1
        func Y(_ v: Double) -> Double { top + h - v / yMax * h }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"\(fullWidth)\" height=\"\(fullHeight)\" viewBox=\"0 0 \(fullWidth) \(fullHeight)\" role=\"img\" aria-label=\"\(escape(title))\">"
        svg += "<text x=\"\(Int(left))\" y=\"20\" font-size=\"15\" font-weight=\"bold\">\(escape(title))</text>"
        svg += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(w)\" height=\"\(h)\" fill=\"none\" stroke=\"#999\"/>"
        for t in axis(0, yMax) {
            svg += "<line x1=\"\(left)\" x2=\"\(left + w)\" y1=\"\(Y(t.value))\" y2=\"\(Y(t.value))\" stroke=\"#eee\"/>"
            svg += "<text x=\"\(left - 6)\" y=\"\(Y(t.value) + 4)\" font-size=\"11\" text-anchor=\"end\">\(escape(t.label))</text>"
        }
        svg += "<text transform=\"translate(14 \(top + h / 2)) rotate(-90)\" font-size=\"12\" text-anchor=\"middle\">\(escape(yLabel))</text>"
        let groupW = w / Double(Swift.max(1, categories.count))
        let barW = groupW * 0.8 / Double(Swift.max(1, series.count))
        for (ci, c) in categories.enumerated() {
            let gx = left + Double(ci) * groupW + groupW * 0.1
            for (si, s) in series.enumerated() where ci < s.values.count && s.values[ci].isFinite {
                let v = s.values[ci]
                svg += "<rect x=\"\(gx + Double(si) * barW)\" y=\"\(Y(v))\" width=\"\(barW * 0.95)\" height=\"\(top + h - Y(v))\" fill=\"\(palette[si % palette.count])\"><title>\(escape(s.name)) \(escape(c)): \(fmt(v))</title></rect>"
            }
            let cx = gx + groupW * 0.4
            svg += "<text transform=\"translate(\(cx) \(top + h + 8)) rotate(40)\" font-size=\"10\">\(escape(c))</text>"
        }
        svg += legend(series.enumerated().map { (name: $1.name, color: palette[$0 % palette.count], dashed: false) },
                      x: left + w + 10, top: top, maxChars: legendChars)
        return svg + "</svg>"
    }
}
