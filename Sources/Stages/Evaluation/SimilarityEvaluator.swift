import Foundation

public struct SimilarityPair: Codable, Sendable, Equatable {
    public var w1: String
    public var w2: String
    /// Human similarity judgement.
    public var score: Double
    /// 1-based line in the source file.
    public var line: Int

    public init(w1: String, w2: String, score: Double, line: Int) {
        self.w1 = w1; self.w2 = w2; self.score = score; self.line = line
    }
}

/// Word-pair similarity judgements (WordSim-353, SimLex-999, MEN, ...):
/// `w1 w2 score` per line, tab- or space-separated; `#` starts a comment line.
public struct SimilarityDataset: Codable, Sendable, Equatable {
    public var source: String
    public var pairs: [SimilarityPair]
    public var lowercased: Bool

    public init(source: String, pairs: [SimilarityPair], lowercased: Bool) {
        self.source = source
        self.pairs = pairs
        self.lowercased = lowercased
    }

    public static func load(_ path: String, lowercase: Bool = true) throws -> SimilarityDataset {
        try parse(EvalText.readText(path), source: path, lowercase: lowercase)
    }

    public static func parse(_ text: String, source: String = "<text>", lowercase: Bool = true) throws -> SimilarityDataset {
        var pairs: [SimilarityPair] = []
        for (n, line) in EvalText.numberedLines(text) {
            if EvalText.isBlank(line) { continue }
            if line.drop(while: { $0 == " " || $0 == "\t" }).hasPrefix("#") { continue }
            let f = EvalText.fields(line)
            guard f.count == 3 else {
                throw DatasetError(kind: .malformedLine, path: source, line: n,
                    message: "expected `word1 word2 score` (tab- or space-separated), found \(f.count) field\(f.count == 1 ? "" : "s"): \(EvalText.quoted(line)); start header or comment lines with `#`")
            }
            guard let score = Double(f[2]), score.isFinite else {
                throw DatasetError(kind: .malformedLine, path: source, line: n,
                    message: "score \(EvalText.quoted(f[2])) is not a number; expected `word1 word2 score`, and header lines must start with `#`")
            }
            let a = lowercase ? f[0].lowercased() : String(f[0])
            let b = lowercase ? f[1].lowercased() : String(f[1])
            pairs.append(SimilarityPair(w1: a, w2: b, score: score, line: n))
        }
        guard !pairs.isEmpty else {
            throw DatasetError(kind: .empty, path: source, message: "no word pairs found; expected lines `word1 word2 score`")
        }
        return SimilarityDataset(source: source, pairs: pairs, lowercased: lowercase)
    }
}

public struct SimilarityReport: Codable, Sendable, Equatable {
    public var dataset: String
    public var lowercased: Bool
    public var totalPairs: Int
    /// Pairs with both words in the (restricted) vocabulary.
    public var pairsUsed: Int
    /// Pairs skipped because a word is out of vocabulary.
    public var pairsSkipped: Int
    public var coverage: Double
    /// Spearman rank correlation (average ranks for ties) of cosine vs human score;
    /// nil with fewer than 2 pairs or when either side is constant.
    public var spearman: Double?
    public var pearson: Double?
    /// Distinct out-of-vocabulary words, sorted.
    public var oovWords: [String]
}

/// Cosine similarity vs human judgements, scored by Spearman's ρ.
public struct SimilarityEvaluator: Sendable {
    /// Only the first N rows count as in-vocabulary (nil: all).
    public var restrictVocabulary: Int?

    public init(restrictVocabulary: Int? = nil) {
        self.restrictVocabulary = restrictVocabulary
    }

    public func evaluate(_ vectors: WordVectors, on dataset: SimilarityDataset) -> SimilarityReport {
        let unit = vectors.isNormalized ? vectors : vectors.normalized()
        let n = min(restrictVocabulary ?? unit.count, unit.count)
        var model: [Double] = [], human: [Double] = []
        var oov = Set<String>()
        for p in dataset.pairs {
            let i = unit.index[p.w1].flatMap { $0 < n ? $0 : nil }
            let j = unit.index[p.w2].flatMap { $0 < n ? $0 : nil }
            if i == nil { oov.insert(p.w1) }
            if j == nil { oov.insert(p.w2) }
            guard let i, let j else { continue }
            model.append(Double(unit.cosine(row: i, row: j)))
            human.append(p.score)
        }
        let total = dataset.pairs.count
        return SimilarityReport(dataset: dataset.source, lowercased: dataset.lowercased,
                                totalPairs: total, pairsUsed: model.count, pairsSkipped: total - model.count,
                                coverage: total > 0 ? Double(model.count) / Double(total) : 0,
                                spearman: Self.spearman(model, human), pearson: Self.pearson(model, human),
                                oovWords: oov.sorted())
    }

    /// 1-based ranks; tied values get the average of the ranks they span.
    public static func averageRanks(_ x: [Double]) -> [Double] {
        let order = x.indices.sorted { x[$0] < x[$1] }
        var ranks = [Double](repeating: 0, count: x.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && x[order[j + 1]] == x[order[i]] { j += 1 }
            let avg = Double(i + j) / 2 + 1
            for k in i...j { ranks[order[k]] = avg }
            i = j + 1
        }
        return ranks
    }

    /// Pearson correlation; nil for fewer than 2 values or zero variance.
    public static func pearson(_ x: [Double], _ y: [Double]) -> Double? {
        precondition(x.count == y.count, "pearson: arrays differ in length")
        let n = Double(x.count)
        guard x.count >= 2 else { return nil }
        let mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for k in x.indices {
            let dx = x[k] - mx, dy = y[k] - my
            sxy += dx * dy; sxx += dx * dx; syy += dy * dy
        }
        guard sxx > 0, syy > 0 else { return nil }
        return sxy / (sxx * syy).squareRoot()
    }

    /// Spearman's ρ: Pearson correlation of average ranks (as scipy.stats.spearmanr).
    public static func spearman(_ x: [Double], _ y: [Double]) -> Double? {
        pearson(averageRanks(x), averageRanks(y))
    }
}
