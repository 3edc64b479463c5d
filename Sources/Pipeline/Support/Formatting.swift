import Foundation

public enum Format {
    /// 16943072 → "16,943,072".
    public static func grouped<T: BinaryInteger>(_ n: T) -> String {
        let s = String(n.magnitude)
        var out = ""
        for (i, ch) in s.enumerated() {
            if i > 0 && (s.count - i) % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return (n < 0 ? "-" : "") + out
    }

    /// Bytes in MB/GB with one decimal.
    public static func bytes<T: BinaryInteger>(_ n: T) -> String {
        let d = Double(n)
        if d >= 1e9 { return String(format: "%.2f GB", d / 1e9) }
        if d >= 1e6 { return String(format: "%.1f MB", d / 1e6) }
        if d >= 1e3 { return String(format: "%.1f kB", d / 1e3) }
        return "\(n) B"
    }

    /// "1.23M", "456k".
    public static func compact(_ d: Double) -> String {
        if d >= 1e6 { return String(format: "%.2fM", d / 1e6) }
        if d >= 1e3 { return String(format: "%.0fk", d / 1e3) }
        return String(format: "%.0f", d)
    }

    /// Seconds as "0.42 s", "12.3 s", "2:05".
    public static func seconds(_ s: Double) -> String {
        if s < 10 { return String(format: "%.2f s", s) }
        if s < 60 { return String(format: "%.1f s", s) }
        return ProgressReporter.formatDuration(s)
    }
}
