/// The dense region of the co-occurrence matrix (GloVe's trick): vocabulary ids are sorted by
/// frequency, so the pairs of frequent words — most co-occurrences — are those with small
/// (i + 1)(j + 1). Pairs with (i + 1)(j + 1) ≤ `threshold` are summed in a table, each unordered
/// pair {lo ≤ hi} once; every other pair goes through the overflow records.
///
/// The table is laid out by the larger id: the cells of hi are lo = 0 ..< limit[hi], at
/// base[hi] + lo. A word's pairs with the frequent words around it — most of its pairs — then
/// share a few cache lines, which stay warm while the word is in the window, where a layout by
/// the smaller id would put each of them in another row.
struct DenseLayout: Sendable {
    let threshold: Int
    let vocabularySize: Int
    /// Per id hi: (lo, hi) is dense for lo < limit[hi] (≤ hi + 1).
    let limit: [UInt32]
    /// Per id hi: the cell of (lo, hi) is base[hi] + lo.
    let base: [Int]
    /// Cells of the table.
    let cells: Int

    /// The largest region of at most `maxCells` cells.
    init(vocabularySize v: Int, maxCells: Int) {
        var lo = 0, hi = v.multipliedReportingOverflow(by: v).overflow ? Int.max / 2 : v * v
        // Largest threshold whose table fits (the cell count grows with the threshold).
        while lo < hi {
            let mid = lo + (hi - lo + 1) / 2
            if Self.cellCount(threshold: mid, vocabularySize: v) <= maxCells { lo = mid } else { hi = mid - 1 }
        }
        self.init(threshold: lo, vocabularySize: v)
    }

    init(threshold p: Int, vocabularySize v: Int) {
        threshold = p
        vocabularySize = v
        var limit: [UInt32] = []
        var base: [Int] = []
        limit.reserveCapacity(v)
        base.reserveCapacity(v)
        var offset = 0
        for hi in 0..<v {
            let l = Self.columnLimit(hi, threshold: p)
            limit.append(UInt32(l))
            base.append(offset)
            offset += l
        }
        self.limit = limit
        self.base = base
        cells = offset
    }

    @inline(__always)
    static func columnLimit(_ hi: Int, threshold p: Int) -> Int { min(hi + 1, p / (hi + 1)) }

    static func cellCount(threshold p: Int, vocabularySize v: Int) -> Int {
        var total = 0
        for hi in 0..<v {
            let l = columnLimit(hi, threshold: p)
            if l == 0 { break } // limits only fall to 0 from here
            total += l
        }
        return total
    }

    /// In the full (symmetric) matrix, row r's dense columns are 0 ..< fullLimit(r).
    @inline(__always)
    func fullLimit(_ r: Int) -> Int { min(vocabularySize, threshold / (r + 1)) }

    /// The cell of the pair {a, b} (dense, i.e. (a + 1)(b + 1) ≤ threshold).
    @inline(__always)
    func cell(_ a: Int, _ b: Int) -> Int { a < b ? base[b] + a : base[a] + b }
}
