import Foundation
import Pipeline

/// Splits text into word ids over a first-seen word table, on several threads: the text is
/// cut at separators into one piece per thread, each piece gets its own table, and the tables
/// are merged in piece order, so the ids equal those of a single pass whatever the thread count.
///
/// Tokens longer than `maxTokenBytes` are dropped and counted (`Result.droppedLongTokenCount`):
/// a text without separators (a binary file, a base64 blob, a corpus whose newlines were lost)
/// would otherwise become one giant "word" stored in the vocabulary.
public final class Tokenizer: Sendable {
    /// The longest token kept, in bytes (after lower-casing in normalize mode, which keeps byte
    /// lengths). Longer runs of word bytes are skipped without being copied, so memory stays
    /// bounded whatever the input. The longest English dictionary words are under 50 bytes;
    /// 1,000 leaves room for URLs, identifiers and long compounds in other languages.
    public static let maxTokenBytes = 1_000

    public struct Result {
        public let words: [String]
        public let counts: [UInt64]
        /// Token ids, one buffer per piece, in text order. Freed with the result.
        public let idChunks: [UnsafeBufferPointer<UInt32>]
        public var tokenCount: Int { idChunks.reduce(0) { $0 + $1.count } }
        /// Tokens longer than `Tokenizer.maxTokenBytes` that were dropped (not in `words`,
        /// `counts` or `idChunks`). Worth a line in the stage summary when non-zero.
        public let droppedLongTokenCount: Int
        let owner: [UnsafeMutablePointer<UInt32>]

        public func deallocate() { for p in owner { p.deallocate() } }
    }

    public let mode: TokenizationMode
    /// Byte classes: 0 separator, 1 word byte, 2 digit (spelled out in normalize mode).
    private let classes: [UInt8]
    private let lower: [UInt8]
    static let digitWords = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]

    public init(mode: TokenizationMode) {
        self.mode = mode
        var classes = [UInt8](repeating: 0, count: 256)
        var lower = [UInt8](repeating: 0, count: 256)
        for b in 0..<256 { lower[b] = UInt8(b) }
        switch mode {
        case .text8:
            for b in 0..<256 { classes[b] = 1 }
            for b in [0x20, 0x0A, 0x0D, 0x09] { classes[b] = 0 }
        case .normalize:
            for b in UInt8(ascii: "a")...UInt8(ascii: "z") { classes[Int(b)] = 1 }
            for b in UInt8(ascii: "A")...UInt8(ascii: "Z") { classes[Int(b)] = 1; lower[Int(b)] = b + 32 }
            for b in UInt8(ascii: "0")...UInt8(ascii: "9") { classes[Int(b)] = 2 }
        }
        self.classes = classes
        self.lower = lower
    }

    /// Tokenizes `text`. `progress` receives the fraction of bytes done (approximate).
    public func tokenize(_ text: UnsafeRawBufferPointer, threads: Int, progress: @escaping @Sendable (Double) -> Void = { _ in },
                         isCancelled: () -> Bool = { false }) throws -> Result {
        let bytes = text.bindMemory(to: UInt8.self)
        let pieces = split(bytes, into: text.count < 1 << 20 ? 1 : max(1, threads))
        let results = WorkerResults<Piece>(count: pieces.count)
        if let base = bytes.baseAddress {
            let shared = WorkerPointer(base) // read only, while `text` is borrowed
            Parallel.forEach(pieces.count, threads: pieces.count) { k in
                let range = pieces[k]
                let piece = UnsafeBufferPointer(start: shared.base + range.lowerBound, count: range.count)
                results.store(k, self.tokenizePiece(piece, report: k == 0 ? { f in progress(f * 0.9) } : nil))
            }
        } else {
            results.store(0, tokenizePiece(UnsafeBufferPointer(start: nil, count: 0), report: nil))
        }
        let done = results.collected()
        let tables = done.map { $0?.table }
        let dropped = done.map { $0?.droppedLong ?? 0 }
        let idBuffers = done.compactMap { $0.map { ($0.ids, $0.count) } }
        if isCancelled() {
            for (p, _) in idBuffers { p.deallocate() }
            throw CancelledError()
        }
        // Merge: piece 0's table becomes the global one; later pieces map their ids into it.
        let global = tables[0]!
        for k in 1..<max(1, pieces.count) {
            let local = tables[k]!
            var map = [UInt32](repeating: 0, count: local.count)
            for e in 0..<local.count {
                let w = local.word(e)
                map[e] = global.id(of: w.baseAddress ?? UnsafePointer(bitPattern: 1)!, length: w.count,
                                   hash: WordTable.hash(w.baseAddress ?? UnsafePointer(bitPattern: 1)!, w.count),
                                   increment: local.counts[e])
            }
            let (ids, n) = idBuffers[k]
            map.withUnsafeBufferPointer { m in
                for i in 0..<n { ids[i] = m[Int(ids[i])] }
            }
        }
        progress(1)
        var words = [String]()
        words.reserveCapacity(global.count)
        for e in 0..<global.count { words.append(global.string(e)) }
        let counts = Array(UnsafeBufferPointer(start: global.counts, count: global.count))
        return Result(words: words, counts: counts,
                      idChunks: idBuffers.map { UnsafeBufferPointer(start: $0.0, count: $0.1) },
                      droppedLongTokenCount: dropped.reduce(0, +),
                      owner: idBuffers.map(\.0))
    }

    /// Cuts the text into `n` ranges that begin and end at separators.
    func split(_ bytes: UnsafeBufferPointer<UInt8>, into n: Int) -> [Range<Int>] {
        guard n > 1 else { return [0..<bytes.count] }
        var cuts = [0]
        for k in 1..<n {
            var p = max(cuts.last!, bytes.count * k / n)
            while p < bytes.count && classes[Int(bytes[p])] != 0 { p += 1 }
            cuts.append(p)
        }
        cuts.append(bytes.count)
        return (0..<n).map { cuts[$0]..<cuts[$0 + 1] }
    }

    /// What one worker hands back: its own table and ids (no other thread touches them).
    struct Piece {
        var table: WordTable
        var ids: UnsafeMutablePointer<UInt32>
        var count: Int
        var droppedLong: Int
    }

    /// Tokenizes one piece: its word table, its ids and their count, and how many tokens longer
    /// than `maxTokenBytes` it dropped.
    private func tokenizePiece(_ piece: UnsafeBufferPointer<UInt8>, report: ((Double) -> Void)?) -> Piece {
        let table = WordTable(expectedWords: 1 << 17)
        var capacity = max(1024, piece.count / 4)
        var ids = UnsafeMutablePointer<UInt32>.allocate(capacity: capacity)
        var n = 0
        var droppedLong = 0
        let maxToken = Self.maxTokenBytes
        let normalize = mode == .normalize
        // Digit words get fixed ids up front only when they occur; look them up lazily.
        var digitIDs = [UInt32](repeating: UInt32.max, count: 10)
        // Lower-cased token bytes (normalize mode); never more than one kept token.
        let scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: maxToken)
        defer { scratch.deallocate() }
        classes.withUnsafeBufferPointer { cls in
            lower.withUnsafeBufferPointer { low in
                guard let base = piece.baseAddress else { return }
                let end = piece.count
                var i = 0
                var nextReport = 1 << 24
                while i < end {
                    var c = cls[Int(base[i])]
                    while c == 0 {
                        i += 1
                        if i == end { break }
                        c = cls[Int(base[i])]
                    }
                    if i == end { break }
                    if n == capacity {
                        let bigger = UnsafeMutablePointer<UInt32>.allocate(capacity: capacity * 2)
                        bigger.moveInitialize(from: ids, count: n)
                        ids.deallocate()
                        ids = bigger
                        capacity *= 2
                    }
                    if c == 2 {
                        let d = Int(base[i] - UInt8(ascii: "0"))
                        if digitIDs[d] == UInt32.max {
                            var w = Self.digitWords[d]
                            digitIDs[d] = w.withUTF8 { table.id(of: $0.baseAddress!, length: $0.count, hash: WordTable.hash($0.baseAddress!, $0.count), increment: 0) }
                        }
                        ids[n] = digitIDs[d]
                        table.counts[Int(digitIDs[d])] &+= 1
                        n += 1
                        i += 1
                        continue
                    }
                    let start = i
                    var h: UInt64 = 0xcbf2_9ce4_8422_2325
                    // Read at most maxToken word bytes; if the run goes on, it is too long.
                    let limit = min(end, start + maxToken)
                    var len = 0
                    if normalize {
                        while i < limit, cls[Int(base[i])] == 1 {
                            let b = low[Int(base[i])]
                            scratch[len] = b
                            len += 1
                            h = (h ^ UInt64(b)) &* 0x100_0000_01b3
                            i += 1
                        }
                    } else {
                        while i < limit, cls[Int(base[i])] == 1 {
                            h = (h ^ UInt64(base[i])) &* 0x100_0000_01b3
                            i += 1
                        }
                        len = i - start
                    }
                    if i < end && cls[Int(base[i])] == 1 {
                        // Longer than maxToken: skip the rest of the run without storing it.
                        while i < end, cls[Int(base[i])] == 1 { i += 1 }
                        droppedLong += 1
                        continue
                    }
                    ids[n] = normalize ? table.id(of: scratch, length: len, hash: h) : table.id(of: base + start, length: len, hash: h)
                    n += 1
                    if i >= nextReport, let report {
                        report(Double(i) / Double(end))
                        nextReport += 1 << 24
                    }
                }
            }
        }
        return Piece(table: table, ids: ids, count: n, droppedLong: droppedLong)
    }
}


