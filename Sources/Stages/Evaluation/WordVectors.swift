import Foundation

/// A ranked neighbour: `score` is the cosine similarity for `nearest`, and the
/// method's score for `analogy` (3CosAdd: cosine to the normalised b − a + c;
/// 3CosMul: Levy & Goldberg's shifted-cosine product ratio).
public struct Neighbor: Codable, Sendable, Equatable {
    public var word: String
    public var index: Int
    public var score: Float

    public init(word: String, index: Int, score: Float) {
        self.word = word
        self.index = index
        self.score = score
    }
}

/// How an analogy a : b :: c : ? is answered.
public enum AnalogyMethod: String, Codable, Sendable, CaseIterable {
    /// argmax cos(x,b) − cos(x,a) + cos(x,c)
    case add = "3CosAdd"
    /// argmax cos'(x,b)·cos'(x,c) / (cos'(x,a) + ε), cos' = (cos + 1)/2 (Levy & Goldberg 2014)
    case mul = "3CosMul"
}

/// Word embeddings, like gensim's KeyedVectors: row i of `vectors` (row-major,
/// `count × dimension`) is the vector of `words[i]`. Vectors from our trainer are
/// ordered by corpus frequency, most frequent first, so "the first N rows" is
/// "the N most frequent words".
public struct WordVectors: Sendable {
    public let words: [String]
    public let dimension: Int
    public let vectors: [Float]
    public let index: [String: Int]
    /// True when every non-zero row has unit length (the result of `normalized()`).
    public let isNormalized: Bool

    public var count: Int { words.count }

    /// Throws `WordVectorsError` if `vectors.count != words.count * dimension`,
    /// `dimension < 1`, or a word occurs twice.
    public init(words: [String], dimension: Int, vectors: [Float]) throws {
        guard dimension > 0 else {
            throw WordVectorsError(kind: .shapeMismatch, message: "dimension must be at least 1, got \(dimension)")
        }
        guard vectors.count == words.count * dimension else {
            throw WordVectorsError(kind: .shapeMismatch,
                message: "\(words.count) words × dimension \(dimension) needs \(words.count * dimension) floats, got \(vectors.count); pass the vectors row-major, one row per word")
        }
        var idx = [String: Int](minimumCapacity: words.count)
        for (i, w) in words.enumerated() {
            if let prev = idx.updateValue(i, forKey: w) {
                throw WordVectorsError(kind: .duplicateWord, word: w,
                    message: "word `\(w)` occurs twice (rows \(prev) and \(i)); every word needs exactly one vector")
            }
        }
        self.init(unchecked: words, dimension: dimension, vectors: vectors, index: idx, isNormalized: false)
    }

    init(unchecked words: [String], dimension: Int, vectors: [Float], index: [String: Int], isNormalized: Bool) {
        self.words = words
        self.dimension = dimension
        self.vectors = vectors
        self.index = index
        self.isNormalized = isNormalized
    }

    /// The vector of `word`, or nil if it is not in the vocabulary.
    public func vector(_ word: String) -> ArraySlice<Float>? {
        guard let i = index[word] else { return nil }
        return vector(at: i)
    }

    public func vector(at i: Int) -> ArraySlice<Float> {
        vectors[(i * dimension)..<((i + 1) * dimension)]
    }

    /// A copy with every row scaled to unit length; all-zero rows stay zero.
    public func normalized() -> WordVectors {
        if isNormalized { return self }
        var out = vectors
        let d = dimension
        out.withUnsafeMutableBufferPointer { p in
            let base = p.baseAddress!
            for r in 0..<count {
                let row = base + r * d
                let n2 = EvalKernels.dot(row, row, d)
                if n2 > 0 && n2.isFinite {
                    let inv = 1 / n2.squareRoot()
                    for j in 0..<d { row[j] *= inv }
                }
            }
        }
        return WordVectors(unchecked: words, dimension: d, vectors: out, index: index, isNormalized: true)
    }

    /// The first `n` rows (the `n` most frequent words for trainer output).
    public func prefix(_ n: Int) -> WordVectors {
        let m = max(0, min(n, count))
        if m == count { return self }
        let ws = Array(words[0..<m])
        var idx = [String: Int](minimumCapacity: m)
        for (i, w) in ws.enumerated() { idx[w] = i }
        return WordVectors(unchecked: ws, dimension: dimension, vectors: Array(vectors[0..<(m * dimension)]),
                           index: idx, isNormalized: isNormalized)
    }

    /// Cosine similarity of two words, nil if either is unknown.
    public func similarity(_ w1: String, _ w2: String) -> Float? {
        guard let i = index[w1], let j = index[w2] else { return nil }
        return cosine(row: i, row: j)
    }

    func cosine(row i: Int, row j: Int) -> Float {
        vectors.withUnsafeBufferPointer { p in
            let a = p.baseAddress! + i * dimension, b = p.baseAddress! + j * dimension
            let ab = EvalKernels.dot(a, b, dimension)
            if isNormalized { return ab }
            let na = EvalKernels.dot(a, a, dimension).squareRoot()
            let nb = EvalKernels.dot(b, b, dimension).squareRoot()
            return (na > 0 && nb > 0) ? ab / (na * nb) : 0
        }
    }

    /// Cosine similarity of `query` with each of the first `n` rows.
    func cosines(to query: [Float], rows n: Int) -> [Float] {
        precondition(query.count == dimension, "query has \(query.count) components, vectors have \(dimension)")
        let qn = query.withUnsafeBufferPointer { EvalKernels.dot($0.baseAddress!, $0.baseAddress!, dimension) }.squareRoot()
        var out = [Float](repeating: 0, count: n)
        if !(qn > 0) { return out }
        let d = dimension
        let normalizedRows = isNormalized
        query.withUnsafeBufferPointer { qb in
            vectors.withUnsafeBufferPointer { vb in
                out.withUnsafeMutableBufferPointer { ob in
                    let q = qb.baseAddress!, v = vb.baseAddress!
                    for r in 0..<n {
                        let row = v + r * d
                        let dp = EvalKernels.dot(q, row, d)
                        if normalizedRows {
                            ob[r] = dp / qn
                        } else {
                            let rn = EvalKernels.dot(row, row, d).squareRoot()
                            ob[r] = rn > 0 ? dp / (qn * rn) : 0
                        }
                    }
                }
            }
        }
        return out
    }

    private func topK(_ scores: [Float], k: Int, excluding: Set<Int>) -> [Neighbor] {
        let kk = max(0, min(k, scores.count))
        if kk == 0 { return [] }
        var best: [(score: Float, index: Int)]
        if kk * 8 >= scores.count {
            best = scores.indices.filter { !excluding.contains($0) && !scores[$0].isNaN }.map { (scores[$0], $0) }
            best.sort { $0.score > $1.score || ($0.score == $1.score && $0.index < $1.index) }
            if best.count > kk { best.removeLast(best.count - kk) }
        } else {
            var t = TopK(k: kk)
            for (i, s) in scores.enumerated() where !excluding.contains(i) { t.offer(s, i) }
            best = t.items
        }
        return best.map { Neighbor(word: words[$0.index], index: $0.index, score: $0.score) }
    }

    private func rowLimit(_ restrictTo: Int?) -> Int {
        guard let r = restrictTo else { return count }
        return max(0, min(r, count))
    }

    /// The `k` rows most cosine-similar to `query` (need not be normalised), best first.
    /// Rows in `excluding` are skipped; with `restrictTo` only the first N rows are searched.
    public func nearest(to query: [Float], k: Int = 10, excluding: Set<Int> = [], restrictTo: Int? = nil) -> [Neighbor] {
        topK(cosines(to: query, rows: rowLimit(restrictTo)), k: k, excluding: excluding)
    }

    /// The `k` words most similar to `word` (the word itself excluded).
    /// Throws `WordVectorsError.unknownWord` with spelling suggestions.
    public func nearest(to word: String, k: Int = 10, restrictTo: Int? = nil) throws -> [Neighbor] {
        let i = try lookup(word)
        return nearest(to: Array(vector(at: i)), k: k, excluding: [i], restrictTo: restrictTo)
    }

    /// Index of `word`, or a `WordVectorsError.unknownWord` with suggestions.
    public func lookup(_ word: String) throws -> Int {
        if let i = index[word] { return i }
        throw WordVectorsError.unknown(word, suggestions: unknownWordSuggestions(word), vocabularySize: count)
    }

    /// Answers a : b :: c : ? (b − a + c, so analogy("man", "king", "woman") → queen),
    /// excluding the three question words.
    public func analogy(_ a: String, _ b: String, _ c: String, k: Int = 10,
                        method: AnalogyMethod = .add, restrictTo: Int? = nil,
                        epsilon: Float = 1e-3) throws -> [Neighbor] {
        let ia = try lookup(a), ib = try lookup(b), ic = try lookup(c)
        let n = rowLimit(restrictTo)
        let unit = normalized()
        let excl: Set<Int> = [ia, ib, ic]
        switch method {
        case .add:
            var q = [Float](repeating: 0, count: dimension)
            let va = unit.vector(at: ia), vb = unit.vector(at: ib), vc = unit.vector(at: ic)
            for j in 0..<dimension {
                q[j] = vb[vb.startIndex + j] - va[va.startIndex + j] + vc[vc.startIndex + j]
            }
            return unit.nearest(to: q, k: k, excluding: excl, restrictTo: n)
        case .mul:
            let ca = unit.cosines(to: Array(unit.vector(at: ia)), rows: n)
            let cb = unit.cosines(to: Array(unit.vector(at: ib)), rows: n)
            let cc = unit.cosines(to: Array(unit.vector(at: ic)), rows: n)
            var s = [Float](repeating: 0, count: n)
            for j in 0..<n {
                s[j] = ((cb[j] + 1) * 0.5) * ((cc[j] + 1) * 0.5) / ((ca[j] + 1) * 0.5 + epsilon)
            }
            return topK(s, k: k, excluding: excl)
        }
    }

    /// Up to `limit` vocabulary words spelled like `word` (optimal-string-alignment
    /// edit distance, ASCII case folded), closest first, then most frequent
    /// (lowest row) first. For "unknown word `kng`; did you mean king, ...".
    public func unknownWordSuggestions(_ word: String, limit: Int = 5) -> [String] {
        let q = Array(word.unicodeScalars.map { EvalKernels.foldASCII($0.value) })
        if q.isEmpty || limit <= 0 { return [] }
        let maxDist = q.count <= 4 ? 1 : (q.count <= 8 ? 2 : 3)
        var found: [(dist: Int, index: Int)] = []
        var prev = [Int](repeating: 0, count: q.count + 1)
        var cur = prev, prev2 = prev
        var w: [UInt32] = []
        for (i, cand) in words.enumerated() {
            let len = cand.unicodeScalars.count
            if abs(len - q.count) > maxDist { continue }
            w.removeAll(keepingCapacity: true)
            for s in cand.unicodeScalars { w.append(EvalKernels.foldASCII(s.value)) }
            if let d = EvalKernels.osaDistance(q, w, maxDist: maxDist, &prev2, &prev, &cur) {
                if d == 0 && cand == word { continue }
                found.append((d, i))
            }
        }
        found.sort { $0.dist < $1.dist || ($0.dist == $1.dist && $0.index < $1.index) }
        return found.prefix(limit).map { words[$0.index] }
    }
}

extension EvalKernels {
    @inline(__always)
    static func foldASCII(_ v: UInt32) -> UInt32 { (v >= 65 && v <= 90) ? v + 32 : v }

    /// Optimal string alignment distance (Levenshtein + adjacent transposition),
    /// or nil when it exceeds `maxDist`. Scratch rows are reused by the caller.
    static func osaDistance(_ a: [UInt32], _ b: [UInt32], maxDist: Int,
                            _ prev2: inout [Int], _ prev: inout [Int], _ cur: inout [Int]) -> Int? {
        let n = a.count, m = b.count
        if abs(n - m) > maxDist { return nil }
        if prev.count < n + 1 { prev = .init(repeating: 0, count: n + 1); cur = prev; prev2 = prev }
        for i in 0...n { prev[i] = i }
        if m == 0 { return n <= maxDist ? n : nil }
        for j in 1...m {
            cur[0] = j
            var rowMin = cur[0]
            for i in 1...n {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var v = min(prev[i] + 1, cur[i - 1] + 1, prev[i - 1] + cost)
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    v = min(v, prev2[i - 2] + 1)
                }
                cur[i] = v
                rowMin = min(rowMin, v)
            }
            if rowMin > maxDist { return nil }
            swap(&prev2, &prev)
            swap(&prev, &cur)
        }
        return prev[n] <= maxDist ? prev[n] : nil
    }
}
