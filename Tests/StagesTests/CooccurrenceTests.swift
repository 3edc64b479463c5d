import Foundation
@testable import Pipeline
import Testing
@testable import Stages

/// The `cooccur` stage: counts checked by hand and against a direct implementation of the
/// definition, the result's independence of threads and memory budget, the payload layout, and
/// runs through the engine with and without the optional subsample input.
@Suite("cooccur stage", .serialized)
struct CooccurrenceTests {
    let dir: URL
    let store: ArtifactStore

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("w2v-cooccur-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        store = try ArtifactStore(root: dir.appendingPathComponent("store"))
    }

    /// Token ids over a word table, the vocabulary's map of that table (`Vocabulary.dropped` for
    /// words outside it), the vocabulary's size, and optionally keep probabilities.
    struct Corpus {
        var tokens: [UInt32]
        var remap: [UInt32]
        var size: Int
        var keep: [Float]? = nil

        /// Tokens that are vocabulary ids already.
        init(_ ids: [UInt32], size: Int) {
            tokens = ids
            remap = (0..<UInt32(size)).map { $0 }
            self.size = size
        }

        init(tokens: [UInt32], remap: [UInt32], size: Int, keep: [Float]? = nil) {
            self.tokens = tokens
            self.remap = remap
            self.size = size
            self.keep = keep
        }
    }

    struct Counted {
        let matrix: CooccurrenceMatrix
        let payload: [UInt8]
        let stats: CooccurrenceCounter.Statistics
    }

    func count(_ c: Corpus, window: Int, weighting: CooccurrenceWeighting = .harmonic, threads: Int = 1, seed: UInt64 = 1,
               memoryMB: Int = 64, _ tweak: (inout CooccurrenceCounter.Configuration) -> Void = { _ in }) throws -> Counted {
        var cfg = CooccurrenceCounter.Configuration(window: window, weighting: weighting, threads: threads, memoryBytes: memoryMB << 20,
                                                    seed: seed, scratchDirectory: store.tmpDirectory)
        tweak(&cfg)
        let writer = try store.makeWriter(kind: ArtifactKind.cooccur, formatVersion: CooccurrenceMatrix.formatVersion)
        let stats = try c.tokens.withUnsafeBufferPointer { tokens in
            try c.remap.withUnsafeBufferPointer { remap in
                try withKeep(c.keep) { keep in
                    try CooccurrenceCounter(tokens: tokens, remap: remap, vocabularySize: c.size, keepProbability: keep, configuration: cfg)
                        .run(writer: writer, progress: { _, _ in }, isCancelled: { false })
                }
            }
        }
        let record = try store.commit(writer)
        let reader = try store.open(record.digest, kind: ArtifactKind.cooccur, maxVersion: CooccurrenceMatrix.formatVersion)
        return Counted(matrix: try CooccurrenceMatrix(reader), payload: reader.withPayload { Array($0) }, stats: stats)
    }

    func withKeep<R>(_ keep: [Float]?, _ body: (UnsafeBufferPointer<Float>?) throws -> R) rethrows -> R {
        guard let keep else { return try body(nil) }
        return try keep.withUnsafeBufferPointer { try body($0) }
    }

    /// The definition, directly: remove, then pair every kept token with the kept ones up to
    /// `window` before it, adding the weight to both (i, j) and (j, i).
    func reference(_ c: Corpus, window: Int, weighting: CooccurrenceWeighting, seed: UInt64 = 1) -> [[Double]] {
        var kept: [Int] = []
        // A sentence end breaks every window: no pair spans it.
        var sentenceStart = 0
        var starts: [Int] = []
        for (p, t) in c.tokens.enumerated() {
            if t == TokenStream.sentenceEnd { sentenceStart = kept.count; continue }
            let id = c.remap[Int(t)]
            if id == Vocabulary.dropped { continue }
            if let keep = c.keep, !(keep[Int(id)] >= 1 || CooccurrenceCounter.subsampleDraw(seed: seed, position: p) < keep[Int(id)]) { continue }
            kept.append(Int(id))
            starts.append(sentenceStart)
        }
        var x = [[Double]](repeating: [Double](repeating: 0, count: c.size), count: c.size)
        for q in kept.indices {
            for d in 1...window where q - d >= starts[q] {
                let wgt = weighting.weight(distance: d, window: window)
                x[kept[q]][kept[q - d]] += wgt
                x[kept[q - d]][kept[q]] += wgt
            }
        }
        return x
    }

    /// Every stored entry and every non-zero of `x` agree (to Float32 rounding).
    func expectMatches(_ m: CooccurrenceMatrix, _ x: [[Double]], sourceLocation: SourceLocation = #_sourceLocation) {
        m.withCSR { csr in
            var stored = 0
            for i in 0..<csr.size {
                for k in csr.entries(ofRow: i) {
                    let j = Int(csr.columns[k])
                    let want = x[i][j]
                    #expect(abs(Double(csr.values[k]) - want) <= 1e-6 * max(1, want), "(\(i), \(j)): \(csr.values[k]) vs \(want)", sourceLocation: sourceLocation)
                    stored += 1
                }
            }
            let nonZeros = x.reduce(0) { $0 + $1.filter { $0 != 0 }.count }
            #expect(stored == nonZeros, sourceLocation: sourceLocation)
        }
    }

    /// A Zipf-like corpus over `size` vocabulary words plus `extra` words outside it.
    static func zipf(tokens n: Int, size: Int, extra: Int = 0, seed: UInt64 = 3) -> Corpus {
        var rng = Word2VecRandom(seed: seed, worker: 0)
        let total = size + extra
        let harmonic = (1...total).reduce(0.0) { $0 + 1 / Double($1) }
        var cumulative: [Double] = []
        var acc = 0.0
        for r in 1...total { acc += 1 / Double(r) / harmonic; cumulative.append(acc) }
        var ids: [UInt32] = []
        ids.reserveCapacity(n)
        for _ in 0..<n {
            let u = Double(rng.unitFloat())
            var lo = 0, hi = total - 1
            while lo < hi { let mid = (lo + hi) / 2; if cumulative[mid] < u { lo = mid + 1 } else { hi = mid } }
            ids.append(UInt32(lo))
        }
        // Word-table order differs from vocabulary order: table word t is vocabulary word
        // (t * 7) mod size for the first `size` table words; the rest are dropped.
        var remap = [UInt32](repeating: Vocabulary.dropped, count: total)
        for t in 0..<size { remap[t] = UInt32((t * 7) % size) }
        return Corpus(tokens: ids, remap: remap, size: size)
    }

    // MARK: Counts by hand

    @Test func harmonicUniformAndWord2vecWeightsByHand() throws {
        // a b c a, window 2. Pairs: (a,b) d1, (a,c) d2, (b,c) d1, (b,a) d2, (c,a) d1.
        let corpus = Corpus([0, 1, 2, 0], size: 3)
        let h = try count(corpus, window: 2, weighting: .harmonic).matrix
        #expect(h.value(row: 0, column: 1) == 1.5)   // 1 + 1/2
        #expect(h.value(row: 0, column: 2) == 1.5)   // 1/2 + 1
        #expect(h.value(row: 1, column: 2) == 1)
        #expect(h.value(row: 0, column: 0) == 0)     // the two a's are 3 apart
        #expect(h.totalWeight == 8)
        #expect(h.tokensUsed == 4)
        let u = try count(corpus, window: 2, weighting: .uniform).matrix
        #expect(u.value(row: 0, column: 1) == 2)
        #expect(u.value(row: 0, column: 2) == 2)
        #expect(u.value(row: 1, column: 2) == 1)
        #expect(u.totalWeight == 10)
        // word2vec, window 3: weights 1, 2/3, 1/3; now the a's (distance 3) pair up, once from each side.
        let w = try count(corpus, window: 3, weighting: .word2vec).matrix
        #expect(w.value(row: 0, column: 1) == Float(1 + 2.0 / 3))
        #expect(w.value(row: 0, column: 2) == Float(2.0 / 3 + 1))
        #expect(w.value(row: 1, column: 2) == 1)
        #expect(w.value(row: 0, column: 0) == Float(2.0 / 3))
        #expect(w.weighting == .word2vec)
        #expect(w.window == 3)
        for m in [h, u, w] { expectSymmetric(m) }
    }

    @Test func wordsOutsideTheVocabularyAreRemovedBeforeWindowing() throws {
        // Word table: a x b (x dropped). "a x b": after removal a and b are neighbours.
        let corpus = Corpus(tokens: [0, 1, 2], remap: [0, Vocabulary.dropped, 1], size: 2)
        let m = try count(corpus, window: 1, weighting: .harmonic).matrix
        #expect(m.value(row: 0, column: 1) == 1)
        #expect(m.value(row: 1, column: 0) == 1)
        #expect(m.tokensUsed == 2)
        // Window 2 with removal after windowing would give 1/2; it is still 1 (distance 1).
        #expect(try count(corpus, window: 2).matrix.value(row: 0, column: 1) == 1)
    }

    @Test func corpusEdgesAndAWindowLargerThanTheCorpus() throws {
        // Five distinct words, window 2, uniform: each row sums the neighbours within 2.
        let edges = try count(Corpus([0, 1, 2, 3, 4], size: 5), window: 2, weighting: .uniform).matrix
        #expect(edges.rowSums() == [2, 3, 4, 3, 2])
        #expect(edges.nonZeroCount == 14)
        // Three tokens, window 10: every pair, at its own distance.
        let wide = try count(Corpus([0, 1, 2], size: 3), window: 10, weighting: .harmonic).matrix
        #expect(wide.value(row: 0, column: 1) == 1)
        #expect(wide.value(row: 0, column: 2) == 0.5)
        #expect(wide.value(row: 1, column: 2) == 1)
        #expect(wide.rowSums() == [1.5, 2, 1.5])
        // One token, and none at all: empty rows.
        #expect(try count(Corpus([1], size: 3), window: 5).matrix.nonZeroCount == 0)
        let empty = try count(Corpus([], size: 3), window: 5, threads: 2).matrix
        #expect(empty.nonZeroCount == 0)
        #expect(empty.rowSums() == [0, 0, 0])
    }

    @Test func sentenceEndsStopEveryWindow() throws {
        // "a b c | d e f": with a window of 10, nothing of the first sentence pairs with the second.
        let e = TokenStream.sentenceEnd
        let c = Corpus(tokens: [0, 1, 2, e, 3, 4, 5, e], remap: [0, 1, 2, 3, 4, 5], size: 6)
        let m = try count(c, window: 10).matrix
        m.withCSR { csr in
            for i in 0..<3 { for j in 3..<6 { #expect(csr.value(row: i, column: j) == 0 && csr.value(row: j, column: i) == 0) } }
            #expect(csr.value(row: 0, column: 2) > 0 && csr.value(row: 3, column: 5) > 0)
        }
        expectMatches(m, reference(c, window: 10, weighting: .harmonic))
    }

    /// Random sentence ends (runs of them too) on a Zipf corpus, split into chunks (taken by the
    /// threads in any order) at any point, with subsampling: the counts are the definition's,
    /// which never crosses a sentence end.
    @Test(arguments: [1, 3])
    func sentenceEndsMatchTheDefinitionAcrossThreads(threads: Int) throws {
        var c = Self.zipf(tokens: 20_000, size: 300, extra: 20, seed: UInt64(threads))
        var rng = Word2VecRandom(seed: 11, worker: threads)
        var tokens: [UInt32] = []
        for t in c.tokens {
            tokens.append(t)
            if rng.next() % 9 == 0 { tokens.append(TokenStream.sentenceEnd) }
            if rng.next() % 97 == 0 { tokens.append(TokenStream.sentenceEnd) }
        }
        c.tokens = tokens
        c.keep = (0..<c.size).map { $0 < 10 ? 0.5 : 1 }
        for window in [1, 5, 15] {
            for chunk in [nil, 1, 97, 1_000] {
                let counted = try count(c, window: window, weighting: .harmonic, threads: threads, memoryMB: 4) { $0.chunkTokens = chunk }
                expectMatches(counted.matrix, reference(c, window: window, weighting: .harmonic))
            }
        }
    }

    @Test func aWordNextToItselfCountsFromBothSides() throws {
        let m = try count(Corpus([0, 0], size: 1), window: 1, weighting: .uniform).matrix
        #expect(m.value(row: 0, column: 0) == 2)
        #expect(m.totalWeight == 2)
    }

    func expectSymmetric(_ m: CooccurrenceMatrix, sourceLocation: SourceLocation = #_sourceLocation) {
        m.withCSR { csr in
            for i in 0..<csr.size {
                for k in csr.entries(ofRow: i) {
                    let j = Int(csr.columns[k])
                    #expect(csr.value(row: j, column: i) == csr.values[k], "(\(i), \(j))", sourceLocation: sourceLocation)
                }
            }
        }
    }

    // MARK: Against the definition; independence of threads and budget

    @Test(arguments: CooccurrenceWeighting.allCases)
    func matchesTheDefinitionOnARandomCorpus(_ weighting: CooccurrenceWeighting) throws {
        let corpus = Self.zipf(tokens: 6000, size: 120, extra: 30)
        let m = try count(corpus, window: 5, weighting: weighting, threads: 2).matrix
        let x = reference(corpus, window: 5, weighting: weighting)
        expectMatches(m, x)
        expectSymmetric(m)
        #expect(abs(m.totalWeight - x.reduce(0) { $0 + $1.reduce(0, +) }) < 1e-6 * m.totalWeight)
        let sums = m.rowSums()
        for i in 0..<m.size { #expect(abs(sums[i] - x[i].reduce(0, +)) <= 1e-5 * max(1, sums[i])) }
    }

    /// Threads, budgets and every internal path (all dense, all sparse, spilled chunks, tasks
    /// split by rows, a row summed alone) give the same bytes: sums are exact.
    @Test func theResultIsTheSameBytesWhateverTheThreadsAndBudget() throws {
        let corpus = Self.zipf(tokens: 20000, size: 300, extra: 50)
        let baseline = try count(corpus, window: 7, threads: 1)
        #expect(baseline.stats.records == 0) // all dense at 64 MB
        expectMatches(baseline.matrix, reference(corpus, window: 7, weighting: .harmonic))
        let variants: [(String, Int, (inout CooccurrenceCounter.Configuration) -> Void)] = [
            ("2 threads", 2, { _ in }),
            ("3 threads", 3, { _ in }),
            ("all sparse", 2, { $0.denseCells = 0 }),
            ("small dense", 2, { $0.denseCells = 40 }),
            ("tiny buffers, all spilled", 2, { $0.denseCells = 40; $0.bufferRecords = 64; $0.retainBytes = 0 }),
            ("half spilled", 2, { $0.denseCells = 0; $0.bufferRecords = 500; $0.retainBytes = 20_000 }),
            ("split tasks", 2, { $0.denseCells = 0; $0.bufferRecords = 300; $0.retainBytes = 0; $0.taskRecords = 100; $0.partitions = 3 }),
            ("one partition", 1, { $0.denseCells = 10; $0.partitions = 1 }),
            ("1 MB budget", 2, { $0.memoryBytes = 1 << 20 }),
            ("small chunks", 3, { $0.chunkTokens = 257 }),
            ("one-token chunks, sparse", 2, { $0.chunkTokens = 1; $0.denseCells = 0 }),
        ]
        for (name, threads, tweak) in variants {
            let other = try count(corpus, window: 7, threads: threads, tweak)
            #expect(other.payload == baseline.payload, "\(name)")
            if name == "tiny buffers, all spilled" {
                #expect(other.stats.chunks > 50)
                #expect(other.stats.spilledBytes == other.stats.records * 8)
            }
            if name == "split tasks" { #expect(other.stats.splitTasks > 0) }
        }
    }

    /// Random corpora, windows, weightings and internal sizes: always the definition, always the
    /// same bytes as one thread with everything dense.
    @Test(arguments: 1...6)
    func randomConfigurationsAgree(_ seed: Int) throws {
        var rng = Word2VecRandom(seed: UInt64(seed), worker: 9)
        let size = 20 + rng.uniform(below: 200)
        let corpus = Self.zipf(tokens: 500 + rng.uniform(below: 8000), size: size, extra: rng.uniform(below: 40), seed: UInt64(seed))
        let window = 1 + rng.uniform(below: 12)
        let weighting = CooccurrenceWeighting.allCases[rng.uniform(below: 3)]
        let baseline = try count(corpus, window: window, weighting: weighting, threads: 1)
        expectMatches(baseline.matrix, reference(corpus, window: window, weighting: weighting))
        let dense = rng.uniform(below: 3) == 0 ? 0 : rng.uniform(below: size * size / 2 + 1)
        let buffer = 2 * window + 2 + rng.uniform(below: 3000)
        let retain = rng.uniform(below: 2) == 0 ? 0 : rng.uniform(below: 200_000)
        let task = 2 * window + 2 + rng.uniform(below: 5000)
        let partitions = 1 + rng.uniform(below: 40)
        let threads = 1 + rng.uniform(below: 4)
        let chunk = 1 + rng.uniform(below: 3000)
        let other = try count(corpus, window: window, weighting: weighting, threads: threads) {
            $0.chunkTokens = chunk
            $0.denseCells = dense
            $0.bufferRecords = buffer
            $0.retainBytes = retain
            $0.taskRecords = task
            $0.partitions = partitions
        }
        #expect(other.payload == baseline.payload, "dense \(dense) buffer \(buffer) retain \(retain) task \(task) partitions \(partitions) threads \(threads) chunk \(chunk)")
    }

    @Test func countingIsDeterministic() throws {
        let corpus = Self.zipf(tokens: 8000, size: 200, extra: 20)
        var keep = [Float](repeating: 1, count: 200)
        for i in 0..<20 { keep[i] = 0.3 }
        var sub = corpus
        sub.keep = keep
        let a = try count(sub, window: 4, threads: 2, seed: 5)
        let b = try count(sub, window: 4, threads: 2, seed: 5)
        #expect(a.payload == b.payload)
        // Subsampling draws depend on seed and position only: one thread gives the same bytes.
        #expect(try count(sub, window: 4, threads: 1, seed: 5).payload == a.payload)
        expectMatches(a.matrix, reference(sub, window: 4, weighting: .harmonic, seed: 5))
        #expect(a.matrix.subsampled)
        #expect(a.matrix.tokensUsed < (try count(corpus, window: 4).matrix.tokensUsed))
        #expect(try count(sub, window: 4, threads: 2, seed: 6).payload != a.payload)
    }

    @Test func largeWindowsUseExactOrFinelyRoundedUnits() throws {
        // lcm(1…20) fits: exact. lcm(1…100) does not: 2^-k units, still far below Float32's rounding.
        #expect(try WeightUnits(weighting: .harmonic, window: 20, maxTokens: 17_000_000).exact)
        let wide = try WeightUnits(weighting: .harmonic, window: 100, maxTokens: 17_000_000)
        #expect(!wide.exact)
        for d in 1...100 {
            #expect(abs(Double(wide.units[d]) / wide.scale - 1 / Double(d)) * Double(d) < 2e-9)
        }
        let corpus = Self.zipf(tokens: 3000, size: 80)
        expectMatches(try count(corpus, window: 100).matrix, reference(corpus, window: 100, weighting: .harmonic))
    }

    // MARK: Format

    /// Pins the payload layout of a tiny matrix.
    @Test func goldenPayloadBytes() throws {
        let c = try count(Corpus([0, 1, 2, 0], size: 3), window: 2)
        func u64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        func u32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        func f32(_ v: Float) -> [UInt8] { u32(v.bitPattern) }
        // size, window, weighting (harmonic), subsampled, tokens used, total weight
        var expected = u64(3) + u64(2) + u64(0) + u64(0) + u64(4) + u64((8.0).bitPattern)
        expected += [1, 2, 0, 2, 0, 1].flatMap { u32($0) }          // columns (24 bytes, no padding)
        expected += [1.5, 1.5, 1.5, 1, 1.5, 1].flatMap { f32($0) }  // values
        expected += [0, 2, 4, 6].flatMap { u64($0) }                // row starts
        expected += u64(6)                                          // entries
        #expect(c.payload == expected)
        #expect(c.matrix.nonZeroCount == 6)
        // An odd entry count: columns and values are each padded to 8 bytes.
        let odd = try count(Corpus([0, 0], size: 1), window: 1, weighting: .uniform)
        var oddExpected = u64(1) + u64(1) + u64(1) + u64(0) + u64(2) + u64((2.0).bitPattern)
        oddExpected += u32(0) + [0, 0, 0, 0] + f32(2) + [0, 0, 0, 0] + u64(0) + u64(1) + u64(1)
        #expect(odd.payload == oddExpected)
        c.matrix.withCSR { m in
            #expect(Array(m.rowStart) == [0, 2, 4, 6])
            #expect(Array(m.columns) == [1, 2, 0, 2, 0, 1])
        }
    }

    @Test func malformedArtifactsAreRefusedNotTrusted() throws {
        func written(_ rowStart: [UInt64], _ columns: [UInt32], _ values: [Float], size: Int) throws -> Error? {
            let w = try store.makeWriter(kind: ArtifactKind.cooccur, formatVersion: 1)
            let header = CooccurrenceMatrix.Header(size: size, window: 2, weighting: .harmonic, subsampled: false,
                                                   nonZeroCount: columns.count, tokensUsed: 1, totalWeight: 1)
            try CooccurrenceMatrix.write(to: w, header: header, rowStart: rowStart, columns: columns, values: values)
            let record = try store.commit(w)
            do {
                _ = try CooccurrenceMatrix(try store.open(record.digest, kind: ArtifactKind.cooccur, maxVersion: 1))
                return nil
            } catch { return error }
        }
        #expect(try written([0, 1, 2], [1, 0], [1, 1], size: 2) == nil)
        #expect(try written([0, 1, 2], [2, 0], [1, 1], size: 2) != nil)      // column out of range
        #expect(try written([0, 2, 2], [1, 0], [1, 1], size: 2) != nil)      // columns not increasing
        #expect(try written([0, 1, 2], [1, 0], [1, .nan], size: 2) != nil)   // not finite
        #expect(try written([0, 1, 2], [1, 0], [1, 0], size: 2) != nil)      // zero stored
        // Row starts that do not match the header are refused when writing.
        let w = try store.makeWriter(kind: ArtifactKind.cooccur, formatVersion: 1)
        let header = CooccurrenceMatrix.Header(size: 2, window: 2, weighting: .harmonic, subsampled: false, nonZeroCount: 2, tokensUsed: 1, totalWeight: 1)
        #expect(throws: CooccurrenceError.self) { try CooccurrenceMatrix.write(to: w, header: header, rowStart: [0, 2], columns: [1, 0], values: [1, 1]) }
    }

    @Test func csrFromArraysIsCheckedAndLent() throws {
        let sum = try CSRMatrix.withArrays(rowStart: [0, 1, 3, 3], columns: [2, 0, 1], values: [1, 2, 3], size: 3) { m in
            #expect(m.nonZeroCount == 3)
            #expect(m.value(row: 1, column: 1) == 3)
            #expect(m.value(row: 2, column: 0) == 0)
            #expect(m.value(row: 7, column: 0) == 0)
            return m.values.reduce(0, +)
        }
        #expect(sum == 6)
        #expect(throws: CSRMatrix.InvalidArrays.self) { try CSRMatrix.withArrays(rowStart: [0, 1], columns: [0], values: [1], size: 2) { _ in } }
        #expect(throws: CSRMatrix.InvalidArrays.self) { try CSRMatrix.withArrays(rowStart: [0, 1, 1], columns: [5], values: [1], size: 2) { _ in } }
        #expect(throws: CSRMatrix.InvalidArrays.self) { try CSRMatrix.withArrays(rowStart: [0, 2, 1], columns: [0, 1], values: [1, 1], size: 2) { _ in } }
        #expect(throws: CSRMatrix.InvalidArrays.self) { try CSRMatrix.withArrays(rowStart: [0, 1, 2], columns: [0], values: [1], size: 2) { _ in } }
    }

    @Test func mismatchedInputsAreErrorsNotCrashes() throws {
        // A token id beyond the word table, and a map to ids beyond the vocabulary.
        #expect(throws: CooccurrenceError.self) { try count(Corpus(tokens: [0, 5], remap: [0, 1], size: 2), window: 2, threads: 2) }
        #expect(throws: CooccurrenceError.self) { try count(Corpus(tokens: [0, 1], remap: [0, 9], size: 2), window: 2) }
        #expect(throws: CooccurrenceError.self) { try count(Corpus(tokens: [0, 1], remap: [0, 1], size: 2, keep: [1]), window: 2) }
        #expect(throws: CooccurrenceError.self) { try count(Corpus(tokens: [], remap: [], size: 0), window: 2) }
    }

    @Test func cancellationStopsTheCount() throws {
        let corpus = Self.zipf(tokens: 200_000, size: 300)
        let cfg = CooccurrenceCounter.Configuration(window: 5, weighting: .harmonic, threads: 2, memoryBytes: 64 << 20, seed: 1,
                                                    scratchDirectory: store.tmpDirectory)
        let writer = try store.makeWriter(kind: ArtifactKind.cooccur, formatVersion: 1)
        #expect(throws: CancelledError.self) {
            try corpus.tokens.withUnsafeBufferPointer { tokens in
                try corpus.remap.withUnsafeBufferPointer { remap in
                    try CooccurrenceCounter(tokens: tokens, remap: remap, vocabularySize: corpus.size, keepProbability: nil, configuration: cfg)
                        .run(writer: writer, progress: { _, _ in }, isCancelled: { true })
                }
            }
        }
    }

    // MARK: Through the engine

    func experiment(subsample: Bool, threads: Int = 2, memoryMB: Int = 64, window: Int = 4) throws -> Experiment {
        let wiring = subsample ? #", "subsample": "subsample.subsample""# : ""
        let json = """
        {"name": "co", "stages": {
          "corpus": {"type": "unzip", "params": {"path": "tiny.zip"}},
          "tokens": {"type": "tokenize", "inputs": {"text": "corpus.text"}},
          "vocab": {"type": "build-vocab", "inputs": {"tokens": "tokens.tokens"}, "params": {"min_count": 2}},
          "subsample": {"type": "subsample", "inputs": {"vocab": "vocab.vocab"}, "params": {"t": 0.01}},
          "cooccur": {"type": "cooccur", "inputs": {"tokens": "tokens.tokens", "vocab": "vocab.vocab"\(wiring)},
                      "params": {"window": \(window), "weighting": "word2vec", "threads": \(threads), "memory_mb": \(memoryMB)}}
        }}
        """
        let url = dir.appendingPathComponent("co.json")
        try json.write(to: url, atomically: true, encoding: .utf8)
        return try ExperimentLoader.load(url, registry: Word2VecStages.registry)
    }

    func run(_ e: Experiment) throws -> [String: (record: RunRecord, ran: Bool)] {
        let engine = Engine(store: store)
        engine.progressMode = .quiet
        var out: [String: (RunRecord, Bool)] = [:]
        for (stage, outcome) in try engine.run(e) {
            switch outcome {
            case .ran(let r): out[stage.id] = (r, true)
            case .reused(let r, _): out[stage.id] = (r, false)
            }
        }
        return out
    }

    func open<A: ArtifactType>(_ record: RunRecord, _ output: String, as: A.Type) throws -> A {
        try A(try store.open(record.outputs[output]!.digest, kind: A.artifactKind, maxVersion: A.formatVersion))
    }

    @Test func throughTheEngineWithAndWithoutSubsampling() throws {
        var words: [String] = []
        var rng = Word2VecRandom(seed: 11, worker: 0)
        let lexicon = ["the", "of", "and", "in", "a", "to", "is", "was", "cat", "dog", "tree", "river", "stone", "light", "rare"]
        for _ in 0..<3000 { words.append(lexicon[min(lexicon.count - 1, Int(-log(Double(rng.unitFloat()) + 1e-9) * 3))]) }
        words += ["hapax"]
        try ZipFixtures.make(at: dir.appendingPathComponent("tiny.zip").path,
                             [.init(name: "text8", content: Array((" " + words.joined(separator: " ")).utf8))])
        let plain = try run(try experiment(subsample: false))
        let sub = try run(try experiment(subsample: true))
        let (p, s) = (plain["cooccur"]!.record, sub["cooccur"]!.record)
        #expect(p.key != s.key)
        #expect(p.inputs.keys.sorted() == ["tokens", "vocab"])
        #expect(s.inputs.keys.sorted() == ["subsample", "tokens", "vocab"])
        let tokensRecord = plain["tokens"]!.record, vocabRecord = plain["vocab"]!.record
        let stream = try open(tokensRecord, "tokens", as: TokenStream.self)
        let vocab = try open(vocabRecord, "vocab", as: Vocabulary.self)
        let table = try open(sub["subsample"]!.record, "subsample", as: SubsampleTable.self)
        var corpus = Corpus(tokens: Array(stream.ids), remap: Array(vocab.remap), size: vocab.size)
        let pm = try open(p, "cooccur", as: CooccurrenceMatrix.self)
        expectMatches(pm, reference(corpus, window: 4, weighting: .word2vec))
        #expect(!pm.subsampled)
        #expect(pm.tokensUsed == vocab.coveredTokens)
        corpus.keep = Array(table.keepProbability)
        let sm = try open(s, "cooccur", as: CooccurrenceMatrix.self)
        expectMatches(sm, reference(corpus, window: 4, weighting: .word2vec, seed: 1))
        #expect(sm.subsampled)
        #expect(sm.tokensUsed < pm.tokensUsed)
        #expect(p.summary.contains("non-zeros"))
        #expect(p.metrics["nnz"] == .integer(Int64(pm.nonZeroCount)))
        #expect(p.metrics["peak_buffer_bytes"] != nil)
        // Threads and budget do not change the result, so they do not rerun the stage.
        let again = try run(try experiment(subsample: false, threads: 1, memoryMB: 1))
        #expect(again["cooccur"]!.ran == false)
        let rerun = try run(try experiment(subsample: false, window: 5))
        #expect(rerun["cooccur"]!.ran)
        // No scratch file is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.tmpDirectory).isEmpty)
    }
}
