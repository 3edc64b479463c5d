import Foundation

/// Counts for one section (or an aggregate) of an analogy evaluation.
/// Accuracies are correct / answered (as word2vec.c compute-accuracy);
/// coverage is answered / total.
public struct AnalogyScore: Codable, Sendable, Equatable {
    public var total: Int
    public var answered: Int
    public var skipped: Int
    public var correctAdd: Int
    public var correctMul: Int
    public var accuracyAdd: Double
    public var accuracyMul: Double
    public var coverage: Double

    public init(total: Int, answered: Int, correctAdd: Int, correctMul: Int) {
        self.total = total
        self.answered = answered
        self.skipped = total - answered
        self.correctAdd = correctAdd
        self.correctMul = correctMul
        self.accuracyAdd = answered > 0 ? Double(correctAdd) / Double(answered) : 0
        self.accuracyMul = answered > 0 ? Double(correctMul) / Double(answered) : 0
        self.coverage = total > 0 ? Double(answered) / Double(total) : 0
    }

    static func + (l: AnalogyScore, r: AnalogyScore) -> AnalogyScore {
        AnalogyScore(total: l.total + r.total, answered: l.answered + r.answered,
                     correctAdd: l.correctAdd + r.correctAdd, correctMul: l.correctMul + r.correctMul)
    }
    static let zero = AnalogyScore(total: 0, answered: 0, correctAdd: 0, correctMul: 0)
}

public struct AnalogySectionReport: Codable, Sendable, Equatable {
    public var name: String
    public var isSyntactic: Bool
    public var score: AnalogyScore
}

public struct AnalogyReport: Codable, Sendable, Equatable {
    public var dataset: String
    public var lowercased: Bool
    public var vocabularySize: Int
    /// Number of leading (most frequent) rows candidates and question words were drawn from.
    public var restrictedTo: Int
    public var epsilon: Float
    public var sections: [AnalogySectionReport]
    /// Sections not named `gram*`.
    public var semantic: AnalogyScore
    /// Sections named `gram*`.
    public var syntactic: AnalogyScore
    public var overall: AnalogyScore
    public var seconds: Double
}

/// Google-analogy evaluation with 3CosAdd and 3CosMul (Levy & Goldberg 2014).
///
/// Only the first `restrictVocabulary` rows (the most frequent words) are used,
/// as in word2vec.c compute-accuracy: questions with any word outside them are
/// skipped and counted. Answers exclude the three question words.
///
/// Cosines of every unique question word against the restricted vocabulary are
/// computed once (a blocked SIMD matrix product across threads), then combined per question.
public struct AnalogyEvaluator: Sendable {
    public var restrictVocabulary: Int?
    public var epsilon: Float
    public var threads: Int?
    /// Upper bound on the similarity matrix kept in memory at once; questions are
    /// processed in batches whose unique words fit.
    public var maxSimilarityMatrixBytes: Int

    public init(restrictVocabulary: Int? = 30_000, epsilon: Float = 1e-3, threads: Int? = nil,
                maxSimilarityMatrixBytes: Int = 256 << 20) {
        self.restrictVocabulary = restrictVocabulary
        self.epsilon = epsilon
        self.threads = threads
        self.maxSimilarityMatrixBytes = maxSimilarityMatrixBytes
    }

    /// Evaluates `vectors` (normalised first if they are not already).
    public func evaluate(_ vectors: WordVectors, on dataset: AnalogyDataset) -> AnalogyReport {
        let start = DispatchTime.now().uptimeNanoseconds
        let unit = vectors.isNormalized ? vectors : vectors.normalized()
        let n = max(0, min(restrictVocabulary ?? unit.count, unit.count))
        let dim = unit.dimension
        let threadCount = EvalKernels.threadCount(threads)

        // Resolve questions to row indices; -1 marks skipped.
        struct Q { var a: Int32; var b: Int32; var c: Int32; var d: Int32; var section: Int32 }
        var qs: [Q] = []
        var totals = [Int](repeating: 0, count: dataset.sections.count)
        func row(_ w: String) -> Int32? {
            guard let i = unit.index[w], i < n else { return nil }
            return Int32(i)
        }
        for (s, sec) in dataset.sections.enumerated() {
            totals[s] = sec.questions.count
            for q in sec.questions {
                if let a = row(q.a), let b = row(q.b), let c = row(q.c), let d = row(q.d) {
                    qs.append(Q(a: a, b: b, c: c, d: d, section: Int32(s)))
                }
            }
        }

        var correctAdd = [UInt8](repeating: 0, count: qs.count)
        var correctMul = [UInt8](repeating: 0, count: qs.count)
        if !qs.isEmpty && n > 0 {
            let panel = EvalKernels.Panel(vectors: unit.vectors, rows: n, dim: dim)
            let stride = panel.paddedRows
            let maxWords = max(3, maxSimilarityMatrixBytes / max(1, stride * 4))
            var batchStart = 0
            while batchStart < qs.count {
                // Grow the batch while its unique words fit.
                var local = [Int32: Int32]()
                var uniq: [Int32] = []
                var end = batchStart
                while end < qs.count {
                    let q = qs[end]
                    let newWords = Set([q.a, q.b, q.c]).filter { local[$0] == nil }
                    if uniq.count + newWords.count > maxWords && end > batchStart { break }
                    for w in [q.a, q.b, q.c] where local[w] == nil {
                        local[w] = Int32(uniq.count)
                        uniq.append(w)
                    }
                    end += 1
                }
                var queries = [Float](repeating: 0, count: uniq.count * dim)
                unit.vectors.withUnsafeBufferPointer { v in
                    queries.withUnsafeMutableBufferPointer { qb in
                        for (k, w) in uniq.enumerated() {
                            for j in 0..<dim { qb[k * dim + j] = v[Int(w) * dim + j] }
                        }
                    }
                }
                let sims = EvalKernels.similarities(queries: queries, count: uniq.count, panel: panel, threads: threadCount)
                let lo = batchStart, hi = end
                let localRows = qs[lo..<hi].map { (local[$0.a]!, local[$0.b]!, local[$0.c]!) }
                let eps = epsilon
                sims.withUnsafeBufferPointer { sb in
                    qs.withUnsafeBufferPointer { qb in
                        correctAdd.withUnsafeMutableBufferPointer { ca in
                            correctMul.withUnsafeMutableBufferPointer { cm in
                                guard let sa = sb.baseAddress, let qa = qb.baseAddress, let caa = ca.baseAddress,
                                      let cma = cm.baseAddress else { return }
                                // Workers read the similarities and questions and write their own
                                // questions' entries of the two result arrays.
                                let s = WorkerPointer(sa), qb = WorkerPointer(qa), ca = WorkerPointer(caa), cm = WorkerPointer(cma)
                                let count = hi - lo
                                let chunks = min(count, threadCount * 16)
                                Parallel.forEach(chunks, threads: threadCount) { ch in
                                    let from = count * ch / chunks, to = count * (ch + 1) / chunks
                                    for k in from..<to {
                                        let q = qb[lo + k]
                                        let (la, lb, lc) = localRows[k]
                                        let r = EvalKernels.bestAnswers(
                                            sa: s + Int(la) * stride, sb: s + Int(lb) * stride, sc: s + Int(lc) * stride,
                                            n: n, blocks: panel.blocks,
                                            excluding: Int(q.a), Int(q.b), Int(q.c), epsilon: eps)
                                        ca[lo + k] = r.add == Int(q.d) ? 1 : 0
                                        cm[lo + k] = r.mul == Int(q.d) ? 1 : 0
                                    }
                                }
                            }
                        }
                    }
                }
                batchStart = end
            }
        }

        var answered = [Int](repeating: 0, count: dataset.sections.count)
        var okAdd = answered, okMul = answered
        for (k, q) in qs.enumerated() {
            let s = Int(q.section)
            answered[s] += 1
            okAdd[s] += Int(correctAdd[k])
            okMul[s] += Int(correctMul[k])
        }
        var sections: [AnalogySectionReport] = []
        var sem = AnalogyScore.zero, syn = AnalogyScore.zero
        for (s, sec) in dataset.sections.enumerated() {
            let score = AnalogyScore(total: totals[s], answered: answered[s], correctAdd: okAdd[s], correctMul: okMul[s])
            sections.append(AnalogySectionReport(name: sec.name, isSyntactic: sec.isSyntactic, score: score))
            if sec.isSyntactic { syn = syn + score } else { sem = sem + score }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return AnalogyReport(dataset: dataset.source, lowercased: dataset.lowercased,
                             vocabularySize: unit.count, restrictedTo: n, epsilon: epsilon,
                             sections: sections, semantic: sem, syntactic: syn, overall: sem + syn,
                             seconds: seconds)
    }
}
