import Foundation

/// Small self-contained SVG charts for HTML reports (no scripts, no network).
public enum SVGChart {
    public struct Series {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public init(name: String, points: [(x: Double, y: Double)]) { self.name = name; self.points = points }
    }

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

    public static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func fmt(_ v: Double) -> String {
        if v == 0 { return "0" }
        if abs(v) >= 1000 { return Format.compact(v) }
        if abs(v) >= 10 { return String(format: "%.0f", v) }
        if abs(v) >= 1 { return String(format: "%.2g", v) }
        return String(format: "%.3g", v)
    }

    /// Nice tick values covering lo…hi.
    static func ticks(_ lo: Double, _ hi: Double, count: Int = 5) -> [Double] {
        guard hi > lo else { return [lo] }
        let raw = (hi - lo) / Double(count)
        let mag = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? raw
        var t = (lo / step).rounded(.down) * step
        var out: [Double] = []
        while t <= hi + step * 1e-9 { if t >= lo - step * 1e-9 { out.append(t) }; t += step }
        return out
    }

    /// A line chart. `categoricalX` labels the x positions instead of numbers.
    public static func line(title: String, xLabel: String, yLabel: String, series: [Series],
                            categoricalX: [String]? = nil, width: Int = 640, height: Int = 360) -> String {
        let left = 64.0, right = 150.0, top = 36.0, bottom = 48.0
        let w = Double(width) - left - right, h = Double(height) - top - bottom
        let xs = series.flatMap { $0.points.map(\.x) }, ys = series.flatMap { $0.points.map(\.y) }.filter(\.isFinite)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\"\(escape(title))\">"
        svg += "<text x=\"\(Int(left))\" y=\"20\" font-size=\"15\" font-weight=\"bold\">\(escape(title))</text>"
        guard let xMin0 = xs.min(), let xMax0 = xs.max(), let yMin0 = ys.min(), let yMax0 = ys.max() else {
            return svg + "<text x=\"\(Int(left))\" y=\"\(Int(top + 20))\">no data yet</text></svg>"
        }
        let xMin = xMin0, xMax = xMax0 == xMin0 ? xMin0 + 1 : xMax0
        let pad = (yMax0 - yMin0) * 0.08
        let yMin = yMax0 == yMin0 ? yMin0 - 1 : yMin0 - pad, yMax = yMax0 == yMin0 ? yMax0 + 1 : yMax0 + pad
        func X(_ v: Double) -> Double { left + (v - xMin) / (xMax - xMin) * w }
        func Y(_ v: Double) -> Double { top + h - (v - yMin) / (yMax - yMin) * h }
        svg += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(w)\" height=\"\(h)\" fill=\"none\" stroke=\"#999\"/>"
        for t in ticks(yMin, yMax) {
            svg += "<line x1=\"\(left)\" x2=\"\(left + w)\" y1=\"\(Y(t))\" y2=\"\(Y(t))\" stroke=\"#eee\"/>"
            svg += "<text x=\"\(left - 6)\" y=\"\(Y(t) + 4)\" font-size=\"11\" text-anchor=\"end\">\(fmt(t))</text>"
        }
        if let cats = categoricalX {
            for (i, c) in cats.enumerated() {
                svg += "<text x=\"\(X(Double(i)))\" y=\"\(top + h + 16)\" font-size=\"11\" text-anchor=\"middle\">\(escape(c))</text>"
            }
        } else {
            for t in ticks(xMin, xMax) {
                svg += "<text x=\"\(X(t))\" y=\"\(top + h + 16)\" font-size=\"11\" text-anchor=\"middle\">\(fmt(t))</text>"
            }
        }
        svg += "<text x=\"\(left + w / 2)\" y=\"\(Double(height) - 10)\" font-size=\"12\" text-anchor=\"middle\">\(escape(xLabel))</text>"
        svg += "<text transform=\"translate(16 \(top + h / 2)) rotate(-90)\" font-size=\"12\" text-anchor=\"middle\">\(escape(yLabel))</text>"
        for (i, s) in series.enumerated() {
            let color = palette[i % palette.count]
            let pts = s.points.filter { $0.y.isFinite }.map { "\(X($0.x)),\(Y($0.y))" }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(pts)\"/>"
            if s.points.count <= 30 {
                for p in s.points where p.y.isFinite { svg += "<circle cx=\"\(X(p.x))\" cy=\"\(Y(p.y))\" r=\"3\" fill=\"\(color)\"/>" }
            }
            let ly = top + 14 + Double(i) * 16
            svg += "<rect x=\"\(left + w + 10)\" y=\"\(ly - 9)\" width=\"10\" height=\"10\" fill=\"\(color)\"/>"
            svg += "<text x=\"\(left + w + 24)\" y=\"\(ly)\" font-size=\"11\">\(escape(String(s.name.prefix(22))))</text>"
        }
        return svg + "</svg>"
    }

    /// Grouped bars: one group per category, one bar per series.
    public static func bars(title: String, yLabel: String, categories: [String], series: [(name: String, values: [Double])],
                            width: Int = 900, height: Int = 380) -> String {
        let left = 56.0, right = 120.0, top = 36.0, bottom = 110.0
        let w = Double(width) - left - right, h = Double(height) - top - bottom
        let yMax = max(1e-9, series.flatMap(\.values).filter(\.isFinite).max() ?? 1) * 1.1
        func Y(_ v: Double) -> Double { top + h - v / yMax * h }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\"\(escape(title))\">"
        svg += "<text x=\"\(Int(left))\" y=\"20\" font-size=\"15\" font-weight=\"bold\">\(escape(title))</text>"
        svg += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(w)\" height=\"\(h)\" fill=\"none\" stroke=\"#999\"/>"
        for t in ticks(0, yMax) {
            svg += "<line x1=\"\(left)\" x2=\"\(left + w)\" y1=\"\(Y(t))\" y2=\"\(Y(t))\" stroke=\"#eee\"/>"
            svg += "<text x=\"\(left - 6)\" y=\"\(Y(t) + 4)\" font-size=\"11\" text-anchor=\"end\">\(fmt(t))</text>"
        }
        svg += "<text transform=\"translate(14 \(top + h / 2)) rotate(-90)\" font-size=\"12\" text-anchor=\"middle\">\(escape(yLabel))</text>"
        let groupW = w / Double(max(1, categories.count))
        let barW = groupW * 0.8 / Double(max(1, series.count))
        for (ci, c) in categories.enumerated() {
            let gx = left + Double(ci) * groupW + groupW * 0.1
            for (si, s) in series.enumerated() where ci < s.values.count && s.values[ci].isFinite {
                let v = s.values[ci]
                svg += "<rect x=\"\(gx + Double(si) * barW)\" y=\"\(Y(v))\" width=\"\(barW * 0.95)\" height=\"\(top + h - Y(v))\" fill=\"\(palette[si % palette.count])\"><title>\(escape(s.name)) \(escape(c)): \(fmt(v))</title></rect>"
            }
            let cx = gx + groupW * 0.4
            svg += "<text transform=\"translate(\(cx) \(top + h + 8)) rotate(40)\" font-size=\"10\">\(escape(c))</text>"
        }
        for (i, s) in series.enumerated() {
            let ly = top + 14 + Double(i) * 16
            svg += "<rect x=\"\(left + w + 10)\" y=\"\(ly - 9)\" width=\"10\" height=\"10\" fill=\"\(palette[i % palette.count])\"/>"
            svg += "<text x=\"\(left + w + 24)\" y=\"\(ly)\" font-size=\"11\">\(escape(s.name))</text>"
        }
        return svg + "</svg>"
    }
}
