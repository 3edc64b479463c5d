import Pipeline

/// How a co-occurrence at distance d (1…window, counted in kept tokens) is weighted.
public enum CooccurrenceWeighting: String, Sendable, CaseIterable {
    /// 1/d: GloVe's `cooccur` (its default, `-distance-weighting 1`).
    case harmonic
    /// 1 for every distance in the window: plain counts.
    case uniform
    /// (window − d + 1)/window: the probability that word2vec's window, shrunk uniformly at
    /// random to 1…window per centre word, reaches distance d (the average effect of the shrinking).
    case word2vec

    /// The weight of one co-occurrence at distance `d` in 1…window.
    public func weight(distance d: Int, window: Int) -> Double {
        switch self {
        case .harmonic: return 1 / Double(d)
        case .uniform: return 1
        case .word2vec: return Double(window - d + 1) / Double(window)
        }
    }

    var code: UInt64 {
        switch self {
        case .harmonic: return 0
        case .uniform: return 1
        case .word2vec: return 2
        }
    }

    init?(code: UInt64) {
        switch code {
        case 0: self = .harmonic
        case 1: self = .uniform
        case 2: self = .word2vec
        default: return nil
        }
    }
}

/// A square sparse matrix in compressed sparse row (CSR) form, **borrowed**: its buffers are
/// valid only inside the closure that received it (`CooccurrenceMatrix.withCSR`,
/// `CSRMatrix.withArrays`). Never store it or its buffers, nor let them
/// escape that closure. Reading it from several threads inside the closure is fine (nothing writes
/// it), hence `@unchecked Sendable`.
///
/// Row `i` holds the entries `rowStart[i] ..< rowStart[i + 1]` of `columns` and `values`;
/// `rowStart[0] == 0`, `rowStart[size] == nonZeroCount`, and within a row the columns are strictly
/// increasing and `< size`. The matrices `withCSR` and `withArrays` lend have been checked for
/// exactly that, and for finite values (positive ones, for `withCSR`).
public struct CSRMatrix: @unchecked Sendable {
    /// Rows (= columns) of the matrix.
    public let size: Int
    /// `size + 1` offsets into `columns` / `values`.
    public let rowStart: UnsafeBufferPointer<UInt64>
    public let columns: UnsafeBufferPointer<UInt32>
    public let values: UnsafeBufferPointer<Float>

    public var nonZeroCount: Int { columns.count }

    /// Buffers the caller owns and vouches for (the invariants above are not checked; use
    /// `withArrays` to have them checked); they must outlive every use of the value.
    public init(size: Int, rowStart: UnsafeBufferPointer<UInt64>, columns: UnsafeBufferPointer<UInt32>,
                values: UnsafeBufferPointer<Float>) {
        self.size = size
        self.rowStart = rowStart
        self.columns = columns
        self.values = values
    }

    /// Σ_j X[i][j] for every row i, summed in Float64.
    public func rowSums() -> [Double] {
        (0..<size).map { i in entries(ofRow: i).reduce(0.0) { $0 + Double(values[$1]) } }
    }

    /// The entries of row `i` (`0 ≤ i < size`) as indices into `columns` / `values`.
    @inline(__always)
    public func entries(ofRow i: Int) -> Range<Int> { Int(rowStart[i]) ..< Int(rowStart[i + 1]) }

    /// The value at (`row`, `column`), 0 when not stored (binary search in the row).
    public func value(row: Int, column: Int) -> Float {
        guard row >= 0, row < size, column >= 0, column < size else { return 0 }
        var lo = Int(rowStart[row]), hi = Int(rowStart[row + 1])
        let c = UInt32(column)
        while lo < hi {
            let mid = (lo + hi) / 2
            if columns[mid] < c { lo = mid + 1 } else { hi = mid }
        }
        return lo < Int(rowStart[row + 1]) && columns[lo] == c ? values[lo] : 0
    }

    /// Why the arrays are not a valid CSR matrix of `size` rows, or nil when they are.
    static func problem(rowStart: UnsafeBufferPointer<UInt64>, columns: UnsafeBufferPointer<UInt32>,
                        values: UnsafeBufferPointer<Float>, size: Int, positiveValues: Bool) -> String? {
        guard size >= 0, size <= Int(UInt32.max), rowStart.count == size + 1 else { return "\(rowStart.count) row starts for \(size) rows (need size + 1)" }
        guard columns.count == values.count else { return "\(columns.count) columns but \(values.count) values" }
        guard rowStart[0] == 0, rowStart[size] == UInt64(columns.count) else {
            return "row starts run from \(rowStart[0]) to \(rowStart[size]), not from 0 to \(columns.count)"
        }
        let n = UInt32(truncatingIfNeeded: size)
        for i in 0..<size {
            let a = rowStart[i], b = rowStart[i + 1]
            guard a <= b, b <= UInt64(columns.count) else { return "row starts decrease at row \(i)" }
            var previous: UInt32? = nil
            for k in Int(a)..<Int(b) {
                let c = columns[k]
                guard c < n else { return "column \(c) in row \(i) is outside the \(size) columns" }
                if let p = previous, c <= p { return "columns of row \(i) are not strictly increasing (\(p) then \(c))" }
                previous = c
                let v = values[k]
                guard v.isFinite, !positiveValues || v > 0 else { return "value \(v) at (\(i), \(c))" }
            }
        }
        return nil
    }

    /// Thrown by `withArrays` for arrays that are not a CSR matrix.
    public struct InvalidArrays: Error, CustomStringConvertible {
        public let description: String
    }

    /// Lends arrays the caller built (e.g. in a test of a stage that reads co-occurrences) as a
    /// `CSRMatrix`, after checking them; throws `InvalidArrays` when they are not one.
    public static func withArrays<R>(rowStart: [UInt64], columns: [UInt32], values: [Float], size: Int,
                                     _ body: (CSRMatrix) throws -> R) throws -> R {
        try rowStart.withUnsafeBufferPointer { rs in
            try columns.withUnsafeBufferPointer { cs in
                try values.withUnsafeBufferPointer { vs in
                    if let problem = problem(rowStart: rs, columns: cs, values: vs, size: size, positiveValues: false) {
                        throw InvalidArrays(description: "not a CSR matrix: \(problem)")
                    }
                    return try body(CSRMatrix(size: size, rowStart: rs, columns: cs, values: vs))
                }
            }
        }
    }
}

/// The `cooccur` artifact: a symmetric V × V matrix (V = the vocabulary's size, ids as in the
/// vocabulary) of summed co-occurrence weights,
///
///     X[i][j] = Σ over kept tokens p of word i, Σ over kept tokens q of word j with
///               0 < |p − q| ≤ window (distance counted in kept tokens), of weight(|p − q|),
///
/// after words outside the vocabulary (and, with a `subsample` input, subsampled-away tokens)
/// were removed from the token stream. X is symmetric and both (i, j) and (j, i) are stored; a
/// word next to itself counts in X[i][i] once from each side (as GloVe's `cooccur`). Only
/// non-zero entries are stored, in CSR form: rows in order, columns strictly increasing within
/// a row. Values are Float32 roundings of sums computed exactly (see `CooccurStage`).
///
/// Payload (format 1, little-endian), written in one sequential pass (the row starts and the
/// entry count are only known at the end, so they come last):
/// ```
/// UInt64 size V, UInt64 window, UInt64 weighting (0 harmonic, 1 uniform, 2 word2vec),
/// UInt64 subsampled (0 or 1), UInt64 tokensUsed, Float64 totalWeight
/// UInt32 columns[nonZeroCount], pad to 8
/// Float32 values[nonZeroCount], pad to 8
/// UInt64 rowStart[V + 1]          (rowStart[0] = 0, rowStart[V] = nonZeroCount)
/// UInt64 nonZeroCount             (the payload's last 8 bytes)
/// ```
/// `totalWeight` is the exact sum of all entries (both triangles), `tokensUsed` the tokens left
/// after the removals. Its arrays are read in place from the memory-mapped artifact
/// (`MappedArray`), and lent out as raw buffers only inside `withCSR`.
public struct CooccurrenceMatrix: Sendable {
    public static let kind = ArtifactKind.cooccur
    public static let formatVersion: UInt16 = 1

    /// The header fields, as read (`nonZeroCount` from the end of the payload).
    public struct Header: Sendable, Equatable {
        public var size: Int
        public var window: Int
        public var weighting: CooccurrenceWeighting
        public var subsampled: Bool
        public var nonZeroCount: Int
        public var tokensUsed: UInt64
        public var totalWeight: Double

        public init(size: Int, window: Int, weighting: CooccurrenceWeighting, subsampled: Bool, nonZeroCount: Int,
                    tokensUsed: UInt64, totalWeight: Double) {
            self.size = size
            self.window = window
            self.weighting = weighting
            self.subsampled = subsampled
            self.nonZeroCount = nonZeroCount
            self.tokensUsed = tokensUsed
            self.totalWeight = totalWeight
        }
    }

    public let header: Header
    /// Rows (= columns): the vocabulary's size.
    public var size: Int { header.size }
    public var window: Int { header.window }
    public var weighting: CooccurrenceWeighting { header.weighting }
    /// Whether the tokens were subsampled (a `subsample` input was wired).
    public var subsampled: Bool { header.subsampled }
    /// Stored entries (both triangles).
    public var nonZeroCount: Int { header.nonZeroCount }
    /// Tokens left after removing out-of-vocabulary (and subsampled-away) ones.
    public var tokensUsed: UInt64 { header.tokensUsed }
    /// The exact sum of all entries.
    public var totalWeight: Double { header.totalWeight }

    let rowStart: MappedArray<UInt64>
    let columns: MappedArray<UInt32>
    let values: MappedArray<Float>
    let reader: ArtifactReader

    static let headerBytes = 48

    /// Maps and checks the artifact: sizes against the payload, row starts, every column
    /// (in range, strictly increasing within its row) and value (finite, positive).
    public init(_ reader: ArtifactReader) throws {
        self.reader = reader
        let file = reader.path
        var c = reader.cursor()
        // No count can exceed the payload's bytes; this keeps every product below in range.
        let bytes = reader.payloadCount
        func count(_ v: UInt64, _ what: String) throws -> Int {
            guard v <= UInt64(bytes / 4), v <= UInt64(UInt32.max), let n = Int(exactly: v) else {
                throw ArtifactError.malformed(file: file, detail: "\(what) \(v)")
            }
            return n
        }
        let size = try count(try c.read(UInt64.self, "size"), "size")
        let window = try count(try c.read(UInt64.self, "window"), "window")
        guard let weighting = CooccurrenceWeighting(code: try c.read(UInt64.self, "weighting")) else {
            throw ArtifactError.malformed(file: file, detail: "unknown weighting")
        }
        let subsampled = try c.read(UInt64.self, "subsampled")
        guard subsampled <= 1 else { throw ArtifactError.malformed(file: file, detail: "subsampled flag \(subsampled)") }
        let tokensUsed = try c.read(UInt64.self, "tokens used")
        let totalWeight = try c.readDouble("total weight")
        guard totalWeight.isFinite, totalWeight >= 0 else { throw ArtifactError.malformed(file: file, detail: "total weight \(totalWeight)") }
        guard bytes >= Self.headerBytes + 16 else { throw ArtifactError.truncated(file: file, detail: "\(bytes) payload bytes") }
        let nnz = try count(reader.withPayload { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: bytes - 8, as: UInt64.self)) },
                            "non-zero count")
        let expected = Self.headerBytes + 2 * ((nnz * 4 + 7) / 8 * 8) + (size + 1) * 8 + 8
        guard expected == bytes else {
            throw ArtifactError.malformed(file: file, detail: "\(bytes) payload bytes for \(size) rows and \(nnz) entries (expected \(expected))")
        }
        header = Header(size: size, window: window, weighting: weighting, subsampled: subsampled == 1, nonZeroCount: nnz,
                        tokensUsed: tokensUsed, totalWeight: totalWeight)
        columns = try c.readArray(UInt32.self, count: nnz, "columns")
        c.align()
        values = try c.readArray(Float.self, count: nnz, "values")
        c.align()
        rowStart = try c.readArray(UInt64.self, count: size + 1, "row starts")
        let problem = Self.lend(rowStart, columns, values, size: size) {
            CSRMatrix.problem(rowStart: $0.rowStart, columns: $0.columns, values: $0.values, size: size, positiveValues: true)
        }
        if let problem { throw ArtifactError.malformed(file: file, detail: problem) }
    }

    private static func lend<R>(_ rowStart: MappedArray<UInt64>, _ columns: MappedArray<UInt32>, _ values: MappedArray<Float>,
                                size: Int, _ body: (CSRMatrix) throws -> R) rethrows -> R {
        try rowStart.withUnsafeBufferPointer { rs in
            try columns.withUnsafeBufferPointer { cs in
                try values.withUnsafeBufferPointer { vs in
                    try body(CSRMatrix(size: size, rowStart: rs, columns: cs, values: vs))
                }
            }
        }
    }

    /// Lends the matrix to `body`. The `CSRMatrix` and its buffers are valid only inside `body`.
    public func withCSR<R>(_ body: (CSRMatrix) throws -> R) rethrows -> R {
        try Self.lend(rowStart, columns, values, size: size, body)
    }

    /// Σ_j X[i][j] for every row i, summed in Float64.
    public func rowSums() -> [Double] { withCSR { $0.rowSums() } }

    /// X[row][column] (0 when not stored).
    public func value(row: Int, column: Int) -> Float { withCSR { $0.value(row: row, column: column) } }

    /// Writes the payload in one pass: the header now, then the columns row by row as they are
    /// produced, then (`finish`) the values, the row starts and the entry count.
    public final class PayloadWriter {
        let writer: ArtifactWriter
        public let size: Int
        /// Columns appended so far.
        public private(set) var nonZeroCount = 0
        private var finished = false

        public init(_ writer: ArtifactWriter, size: Int, window: Int, weighting: CooccurrenceWeighting, subsampled: Bool,
                    tokensUsed: UInt64, totalWeight: Double) throws {
            self.writer = writer
            self.size = size
            try writer.write(UInt64(size))
            try writer.write(UInt64(window))
            try writer.write(weighting.code)
            try writer.write(UInt64(subsampled ? 1 : 0))
            try writer.write(tokensUsed)
            try writer.write(totalWeight)
        }

        /// Appends the next entries' columns, in row order.
        public func appendColumns(_ columns: UnsafeBufferPointer<UInt32>) throws {
            guard !finished else { throw CooccurrenceError.internalInconsistency("columns appended after finish") }
            try writer.write(array: columns)
            nonZeroCount += columns.count
        }

        /// Writes the values (`values` must write exactly one Float32 per column appended), the
        /// row starts and the entry count.
        public func finish(rowStart: UnsafeBufferPointer<UInt64>, values: (ArtifactWriter) throws -> Void) throws {
            guard !finished else { throw CooccurrenceError.internalInconsistency("finished twice") }
            finished = true
            guard rowStart.count == size + 1, rowStart.first == 0, rowStart.last == UInt64(nonZeroCount) else {
                throw CooccurrenceError.internalInconsistency("row starts do not match the \(nonZeroCount) entries")
            }
            try writer.align()
            let before = writer.payloadLength
            try values(writer)
            guard writer.payloadLength - before == UInt64(nonZeroCount) * 4 else {
                throw CooccurrenceError.internalInconsistency("\(writer.payloadLength - before) bytes of values for \(nonZeroCount) entries")
            }
            try writer.align()
            try writer.write(array: rowStart)
            try writer.write(UInt64(nonZeroCount))
        }
    }

    /// Writes a matrix held in arrays (tests, small matrices); `header.nonZeroCount` is ignored.
    public static func write(to w: ArtifactWriter, header: Header, rowStart: [UInt64], columns: [UInt32], values: [Float]) throws {
        guard values.count == columns.count else {
            throw CooccurrenceError.internalInconsistency("\(columns.count) columns and \(values.count) values")
        }
        let out = try PayloadWriter(w, size: header.size, window: header.window, weighting: header.weighting,
                                    subsampled: header.subsampled, tokensUsed: header.tokensUsed, totalWeight: header.totalWeight)
        try columns.withUnsafeBufferPointer { try out.appendColumns($0) }
        try rowStart.withUnsafeBufferPointer { try out.finish(rowStart: $0, values: { try $0.write(array: values) }) }
    }
}

/// What can go wrong counting co-occurrences.
public enum CooccurrenceError: Error, CustomStringConvertible {
    case mismatchedInputs(String)
    case invalidInput(String)
    case tooLarge(String)
    case internalInconsistency(String)

    public var description: String {
        switch self {
        case .mismatchedInputs(let s), .invalidInput(let s), .tooLarge(let s): return s
        case .internalInconsistency(let s): return "internal error: \(s)"
        }
    }
}
