/// "Did you mean" support: Levenshtein distance over Unicode scalars.
public enum Suggestions {
    public static func editDistance(_ a: String, _ b: String) -> Int {
        let x = Array(a.unicodeScalars), y = Array(b.unicodeScalars)
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var previous = Array(0...y.count)
        var current = [Int](repeating: 0, count: y.count + 1)
        for i in 1...x.count {
            current[0] = i
            for j in 1...y.count {
                let cost = x[i - 1] == y[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            swap(&previous, &current)
        }
        return previous[y.count]
    }

    /// The candidates closest to `word`, nearest first, within a distance that scales with the word's length.
    public static func closest(to word: String, in candidates: some Sequence<String>, limit: Int = 3) -> [String] {
        let maxDistance = max(2, word.count / 3)
        var scored: [(String, Int)] = []
        for candidate in candidates {
            let d = editDistance(word.lowercased(), candidate.lowercased())
            if d <= maxDistance { scored.append((candidate, d)) }
        }
        scored.sort { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }
        return scored.prefix(limit).map(\.0)
    }

    /// " (did you mean `x`?)" or "" when nothing is close.
    public static func didYouMean(_ word: String, in candidates: some Sequence<String>) -> String {
        let close = closest(to: word, in: candidates, limit: 2)
        guard !close.isEmpty else { return "" }
        return "; did you mean " + close.map { "`\($0)`" }.joined(separator: " or ") + "?"
    }
}
