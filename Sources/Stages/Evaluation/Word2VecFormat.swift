import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The layouts of vector files that `Word2VecFormat.read` understands.
public enum VectorFileFormat: String, CaseIterable, Sendable {
    /// Told from the file: a first line of exactly two integers is a word2vec header (binary or
    /// text is then told from the first row); a first line of a word and two or more numbers is
    /// a GloVe row. A GloVe file of dimension 1 looks like a header and must be named explicitly.
    case auto
    /// word2vec.c / gensim binary: header `V D`, then per word the word, a space, D float32.
    case word2vecBinary = "word2vec-binary"
    /// word2vec.c / gensim / fastText `.vec` text: header `V D`, then `word v1 … vD` per line.
    case word2vecText = "word2vec-text"
    /// GloVe text (Stanford GloVe, glove.6B etc.): no header, `word v1 … vD` per line.
    case gloveText = "glove-text"
}

/// word2vec.c / gensim / fastText `.vec` vector files, and GloVe's text files.
///
/// word2vec layout (both flavours): a header line `V D\n`, then per word the word, one
/// space, and either D little-endian float32 (binary; we end each row with
/// `\n` like word2vec.c) or D decimal numbers each followed by a space and then
/// `\n` (text, like word2vec.c and fastText; gensim omits the trailing space).
///
/// GloVe text: no header; per word a line `word v1 … vD` (single spaces, no trailing space).
/// The first row fixes D; every row must have it.
public enum Word2VecFormat {
    /// How text files print numbers.
    public enum NumberFormat: Sendable, Equatable {
        /// Shortest decimal that reads back to the identical float (bit-exact round trip).
        case shortest
        /// `%.Nf`, like word2vec.c's `%lf` (= `.fixed(6)`).
        case fixed(Int)
    }

    // MARK: Writing

    /// Writes `vectors` in word2vec format. `normalize` writes unit rows;
    /// `limit` writes only the first N (most frequent) words.
    public static func write(_ vectors: WordVectors, to path: String, binary: Bool,
                             normalize: Bool = false, limit: Int? = nil,
                             numberFormat: NumberFormat = .shortest) throws {
        let src = normalize ? vectors.normalized() : vectors
        let n = max(0, min(limit ?? src.count, src.count))
        let d = src.dimension
        try checkWords(src.words, upTo: n, path: path, forbidden: [32, 9, 10, 13], what: "word2vec files separate fields with spaces and rows with newlines")
        let out = try BufferedFileWriter(path: path)
        out.append("\(n) \(d)\n")
        try src.vectors.withUnsafeBufferPointer { vb in
            let v = vb.baseAddress!
            for r in 0..<n {
                out.append(src.words[r])
                out.append(byte: 32)
                let row = v + r * d
                if binary {
                    for j in 0..<d { out.appendFloat32LE(row[j]) }
                } else {
                    for j in 0..<d {
                        out.appendNumber(row[j], numberFormat)
                        out.append(byte: 32)
                    }
                }
                out.append(byte: 10)
                try out.flushIfNeeded()
            }
        }
        try out.close()
    }

    /// Writes `vectors` in GloVe's text format: no header, one line `word v1 … vD` per word
    /// (numbers separated by single spaces, as glove.c and gensim write them). `normalize` and
    /// `limit` as for `write`. A file of dimension 1 reads back only as `.gloveText` (its rows
    /// look like a word2vec header to detection).
    public static func writeGloVe(_ vectors: WordVectors, to path: String,
                                  normalize: Bool = false, limit: Int? = nil,
                                  numberFormat: NumberFormat = .shortest) throws {
        let src = normalize ? vectors.normalized() : vectors
        let n = max(0, min(limit ?? src.count, src.count))
        let d = src.dimension
        try checkWords(src.words, upTo: n, path: path, forbidden: [32, 9, 10, 13], what: "GloVe files separate fields with spaces and rows with newlines")
        let out = try BufferedFileWriter(path: path)
        try src.vectors.withUnsafeBufferPointer { vb in
            for r in 0..<n {
                out.append(src.words[r])
                for j in 0..<d {
                    out.append(byte: 32)
                    out.appendNumber(vb[r * d + j], numberFormat)
                }
                out.append(byte: 10)
                try out.flushIfNeeded()
            }
        }
        try out.close()
    }

    static func checkWords(_ words: [String], upTo n: Int, path: String, forbidden: Set<UInt8>, what: String) throws {
        for r in 0..<n {
            let w = words[r]
            if w.isEmpty {
                throw Word2VecFormatError(kind: .badWord, path: path,
                    message: "row \(r) has an empty word; every row needs a non-empty word")
            }
            if w.utf8.contains(where: { forbidden.contains($0) }) {
                throw Word2VecFormatError(kind: .badWord, path: path,
                    message: "row \(r): word \(w.debugDescription) contains whitespace, which \(what); rename or drop it before exporting")
            }
        }
    }

    // MARK: Reading

    /// Reads a word2vec file (word2vec.c, gensim, fastText `.vec`) or a GloVe text file.
    /// `format: .auto` tells them apart (see `VectorFileFormat`). `limit` reads only the first N rows.
    /// Throws `Word2VecFormatError` naming the line (text) or byte offset (binary).
    /// Non-finite components (`nan`, `inf`, `-Infinity`, overflowing decimals, NaN or infinite
    /// float32 bit patterns) are refused with the row and word (`.notANumber`).
    ///
    /// Tolerated: a UTF-8 byte-order mark, `\r\n` line ends, spaces or tabs between and after the
    /// numbers, blank lines (or whitespace) at the end of the file. A word is its bytes read as
    /// UTF-8 (invalid bytes become U+FFFD). A word occurring twice is refused (`.duplicateWord`).
    ///
    /// GloVe quirks:
    /// - Stanford glove.c with `-write-header 1` writes a header `V D` and then V + 1 rows, the
    ///   last one `<unk>` (an average of the rarest words' vectors). Exactly that one extra last
    ///   row named `<unk>` is accepted and dropped: the header's V words are read, as gensim's
    ///   `load_word2vec_format` does (it reads V rows). Any other surplus row is `.extraData`.
    /// - In a file without header every row is a word: a final `<unk>` row is read as the word
    ///   `<unk>`, as gensim's `load_word2vec_format(no_header=True)` does.
    /// - A first row `1 0.5 0.25` is a GloVe row of the word `1`: a header has exactly two fields.
    /// - Without header, a row with more fields than 1 + D whose second field is not a number
    ///   (`. . . 0.1 …` in glove.840B) is a word containing spaces: the last D fields are the
    ///   vector, everything before them the word. The first row must be a plain word.
    public static func read(_ path: String, format: VectorFileFormat = .auto, limit: Int? = nil) throws -> WordVectors {
        let layout: Parser.Layout
        switch format {
        case .auto: layout = .detect(textOnly: false)
        case .word2vecBinary: layout = .word2vec(binary: true)
        case .word2vecText: layout = .word2vec(binary: false)
        case .gloveText: layout = .glove
        }
        return try read(path, layout: layout, limit: limit)
    }

    /// `binary: nil` detects everything (as `format: .auto`), `true` reads word2vec binary,
    /// `false` reads text: word2vec text or GloVe text, detected.
    public static func read(_ path: String, binary: Bool?, limit: Int? = nil) throws -> WordVectors {
        let layout: Parser.Layout
        switch binary {
        case nil: layout = .detect(textOnly: false)
        case true?: layout = .word2vec(binary: true)
        case false?: layout = .detect(textOnly: true)
        }
        return try read(path, layout: layout, limit: limit)
    }

    static func read(_ path: String, layout: Parser.Layout, limit: Int?) throws -> WordVectors {
        let bytes = try readAll(path)
        return try bytes.withUnsafeBufferPointer { buf in
            // buf has one extra trailing NUL so number parsing never runs off the end.
            guard let base = buf.baseAddress else {
                throw Word2VecFormatError(kind: .cannotOpen, path: path, message: "cannot read the file")
            }
            var p = Parser(base: base, end: buf.count - 1, path: path)
            return try p.parse(layout, limit: limit)
        }
    }

    static func readAll(_ path: String) throws -> [UInt8] {
        guard let f = fopen(path, "rb") else {
            let reason = String(cString: strerror(errno))
            throw Word2VecFormatError(kind: .cannotOpen, path: path, message: "cannot open for reading: \(reason)")
        }
        defer { fclose(f) }
        var st = stat()
        guard fstat(fileno(f), &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            throw Word2VecFormatError(kind: .cannotOpen, path: path, message: "not a regular file")
        }
        let size = Int(st.st_size)
        var bytes = [UInt8](repeating: 0, count: size + 1)
        let got = bytes.withUnsafeMutableBytes { fread($0.baseAddress!, 1, size, f) }
        guard got == size else {
            let reason = String(cString: strerror(errno))
            throw Word2VecFormatError(kind: .cannotOpen, path: path, message: "read only \(got) of \(size) bytes: \(reason)")
        }
        return bytes
    }

    struct Parser {
        let base: UnsafePointer<UInt8>
        let end: Int
        let path: String
        var pos = 0
        var line = 1

        init(base: UnsafePointer<UInt8>, end: Int, path: String) {
            self.base = base
            self.end = end
            self.path = path
        }

        func err(_ kind: Word2VecFormatError.Kind, line: Int? = nil, offset: Int? = nil, _ msg: String) -> Word2VecFormatError {
            Word2VecFormatError(kind: kind, path: path, line: line, byteOffset: offset, message: msg)
        }

        func text(_ from: Int, _ to: Int, max: Int = 60) -> String {
            let t = min(to, from + max)
            let s = String(decoding: UnsafeBufferPointer(start: base + from, count: t - from), as: UTF8.self)
            return "`" + s + (to > t ? "…" : "") + "`"
        }

        @inline(__always) static func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 9 }

        /// What to do about a NaN / infinite component (usually a training run that diverged).
        static let nonFiniteHint = "vectors must be finite (NaN or infinity usually means the training diverged: lower the learning rate and retrain, or drop the row)"

        /// What the caller asked for.
        enum Layout {
            /// word2vec header (then binary/text detected unless `textOnly`) or GloVe rows.
            case detect(textOnly: Bool)
            /// A word2vec header is required.
            case word2vec(binary: Bool?)
            /// No header: the first line is a row.
            case glove
        }

        /// The first line's fields, found without building strings or arrays (it may be huge).
        struct FirstLine {
            /// Index of its `\n` (or the end of the file).
            var newline: Int
            /// End without trailing spaces, tabs and `\r`.
            var trimmedEnd: Int
            var fieldCount = 0
            /// The first field (the word of a GloVe row).
            var firstField: Range<Int>? = nil
            /// The first field after the first one that is not a number (not even `nan`/`inf`):
            /// its 0-based index and bytes.
            var firstNonNumber: (index: Int, range: Range<Int>)? = nil
            /// Both fields, when there are exactly two and both are decimal integers.
            var integerPair: (Int, Int)? = nil
        }

        func firstLine() -> FirstLine {
            var e = pos
            while e < end && base[e] != 10 { e += 1 }
            var h = e
            while h > pos && (base[h - 1] == 13 || Self.isSpace(base[h - 1])) { h -= 1 }
            var first = FirstLine(newline: e, trimmedEnd: h)
            var second: Range<Int>? = nil
            var i = pos
            while i < h {
                while i < h && Self.isSpace(base[i]) { i += 1 }
                let s = i
                while i < h && !Self.isSpace(base[i]) { i += 1 }
                guard i > s else { continue }
                let k = first.fieldCount
                if k == 0 { first.firstField = s..<i }
                if k == 1 { second = s..<i }
                if k >= 1 && first.firstNonNumber == nil && !isNumber(at: s) { first.firstNonNumber = (k, s..<i) }
                first.fieldCount += 1
            }
            if first.fieldCount == 2, let f0 = first.firstField, let f1 = second,
               let a = integer(f0), let b = integer(f1) {
                first.integerPair = (a, b)
            }
            return first
        }

        /// An optionally signed decimal integer of at most 18 digits.
        func integer(_ r: Range<Int>) -> Int? {
            var i = r.lowerBound
            var neg = false
            if i < r.upperBound && (base[i] == 43 || base[i] == 45) { neg = base[i] == 45; i += 1 }
            guard i < r.upperBound, r.upperBound - i <= 18 else { return nil }
            var v = 0
            while i < r.upperBound {
                let c = base[i] &- 48
                guard c < 10 else { return nil }
                v = v * 10 + Int(c)
                i += 1
            }
            return neg ? -v : v
        }

        /// Whether a number (finite or not) that ends at whitespace / newline / EOF starts at `at`.
        func isNumber(at: Int) -> Bool {
            var t = self
            t.pos = at
            return t.parseNumber() != nil
        }

        mutating func parse(_ layout: Layout, limit: Int?) throws -> WordVectors {
            // A UTF-8 byte-order mark (editors on Windows) is not part of the first word or header.
            if end >= 3 && base[0] == 0xEF && base[1] == 0xBB && base[2] == 0xBF { pos = 3 }
            let first = firstLine()
            switch layout {
            case .glove:
                return try parseGloVe(first, limit: limit)
            case .word2vec(let binary):
                return try parseWord2Vec(first, binary: binary, limit: limit, detected: false)
            case .detect(let textOnly):
                if first.fieldCount >= 3 {
                    if let (k, f) = first.firstNonNumber {
                        throw err(.badHeader, line: 1, "the first line \(text(pos, first.trimmedEnd)) is neither a word2vec header `<vocabulary size> <dimension>` nor a GloVe row (a word, then its numbers): field \(k + 1), \(text(f.lowerBound, f.upperBound)), is not a number")
                    }
                    return try parseGloVe(first, limit: limit)
                }
                return try parseWord2Vec(first, binary: textOnly ? false : nil, limit: limit, detected: true)
            }
        }

        mutating func parseWord2Vec(_ first: FirstLine, binary: Bool?, limit: Int?, detected: Bool) throws -> WordVectors {
            let e = first.newline, h = first.trimmedEnd
            let hint = detected
                ? "a word2vec file starts with a line `<vocabulary size> <dimension>`; a GloVe file has none and starts with a word and at least 2 numbers (a GloVe file of dimension 1 must be read as glove-text)"
                : "a word2vec file starts with a line `<vocabulary size> <dimension>` (a GloVe file has none: read it as glove-text)"
            guard let (v, d) = first.integerPair, v >= 0, d > 0 else {
                if first.fieldCount == 0 && e >= end {
                    throw err(.badHeader, line: 1, "the file is empty; \(hint)")
                }
                throw err(.badHeader, line: 1, "bad header \(text(pos, h)); \(hint)")
            }
            guard e < end || v == 0 else {
                throw err(.truncated, line: 1, "the file ends after its header; it promises \(v) rows of dimension \(d)")
            }
            guard v.multipliedReportingOverflow(by: d).overflow == false, v * d <= (end - e) else {
                // Even binary needs ≥ 4 bytes per number and text ≥ 2; more rows than bytes is certainly wrong.
                throw err(.truncated, line: 1, "the header promises \(v) rows × \(d) numbers but only \(end - e) bytes follow it: the file is truncated or the header is wrong")
            }
            pos = min(e + 1, end)
            line = 2
            let rows = min(v, max(0, limit ?? v))
            let isBinary = binary ?? detectBinary(dim: d)
            var words: [String] = []
            words.reserveCapacity(rows)
            var vecs = [Float](repeating: 0, count: rows * d)
            var index = [String: Int](minimumCapacity: rows)
            try vecs.withUnsafeMutableBufferPointer { vb in
                guard let out = vb.baseAddress else { return }
                for r in 0..<rows {
                    let word: String
                    let at: Int
                    if isBinary {
                        (word, at) = try binaryRow(r, of: v, dim: d, into: out + r * d)
                    } else {
                        (word, at) = try textRow(r, of: v, dim: d, into: out + r * d)
                    }
                    if let prev = index.updateValue(r, forKey: word) {
                        if isBinary {
                            throw err(.duplicateWord, offset: at, "duplicate word `\(word)` in row \(r) (first in row \(prev)); every word may appear only once\(Self.replacementHint(word))")
                        } else {
                            throw err(.duplicateWord, line: at, "duplicate word `\(word)` (first on line \(prev + 2)); every word may appear only once\(Self.replacementHint(word))")
                        }
                    }
                    words.append(word)
                }
            }
            if rows == v {
                skipTrailingWhitespace()
                if pos < end {
                    if isBinary {
                        throw err(.extraData, offset: pos, "data after the \(v) rows the header announces; fix the vocabulary size in the header")
                    }
                    let extraLine = line
                    if atUnkRow() {
                        // glove.c -write-header 1: V rows, then `<unk>`, not counted in V. Checked
                        // like any row, then dropped (gensim reads the header's V rows).
                        _ = try textRow(v, of: v + 1, dim: d, into: nil)
                        skipTrailingWhitespace()
                    }
                    if pos < end {
                        throw err(.extraData, line: extraLine, "more rows than the \(v) the header announces; fix the vocabulary size in the header (only a single extra last row `<unk>`, as GloVe's -write-header 1 writes, is accepted)")
                    }
                }
            }
            return WordVectors(unchecked: words, dimension: d, vectors: vecs, index: index, isNormalized: false)
        }

        /// GloVe text: no header, every line `word v1 … vD`, D from the first line.
        mutating func parseGloVe(_ first: FirstLine, limit: Int?) throws -> WordVectors {
            guard let w0 = first.firstField else {
                if first.newline >= end {
                    throw err(.truncated, line: 1, "the file is empty; a GloVe file needs at least one row `word v1 … vD`")
                }
                throw err(.badWord, line: 1, "the first line is empty; a GloVe file starts with a row `word v1 … vD`")
            }
            guard first.fieldCount >= 2 else {
                throw err(.shortRow, line: 1, "word \(text(w0.lowerBound, w0.upperBound)) has no numbers; a GloVe row is a word followed by its vector, and the first row fixes the dimension")
            }
            let d = first.fieldCount - 1
            if first.integerPair != nil {
                gloveHint = "; line 1 looks like a word2vec header `<vocabulary size> <dimension>`: read the file as word2vec-text (or let the format be detected)"
            }
            line = 1
            // Rows ≤ lines, and each row takes ≥ 2D + 1 bytes: a bound for reserving, never allocated past.
            var lines = 1
            var q = UnsafeRawPointer(base + pos)
            let stop = UnsafeRawPointer(base + end)
            while q < stop, let hit = memchr(q, 10, stop - q) {
                lines += 1
                q = UnsafeRawPointer(hit) + 1
            }
            let wanted = max(0, limit ?? Int.max)
            let most = min(lines, (end - pos) / (2 * d) + 1, wanted)
            var words: [String] = []
            words.reserveCapacity(most)
            var vecs: [Float] = []
            vecs.reserveCapacity(most * d)
            var row = [Float](repeating: 0, count: d)
            var index = [String: Int](minimumCapacity: most)
            var r = 0
            while r < wanted {
                if restIsWhitespace() { break }
                let (word, at) = try row.withUnsafeMutableBufferPointer { rb in
                    try textRow(r, of: nil, dim: d, into: rb.baseAddress, glove: true)
                }
                if let prev = index.updateValue(r, forKey: word) {
                    throw err(.duplicateWord, line: at, "duplicate word `\(word)` (first on line \(prev + 1)); every word may appear only once: delete one of the two rows\(Self.replacementHint(word))")
                }
                words.append(word)
                vecs.append(contentsOf: row)
                r += 1
            }
            return WordVectors(unchecked: words, dimension: d, vectors: vecs, index: index, isNormalized: false)
        }

        static func numbers(_ n: Int) -> String { n == 1 ? "1 number" : "\(n) numbers" }

        /// Appended to a dimension mismatch in a GloVe file whose first line looks like a header.
        var gloveHint = ""

        static func replacementHint(_ word: String) -> String {
            word.unicodeScalars.contains("\u{FFFD}")
                ? " (`\u{FFFD}` stands for bytes that are not UTF-8, so different bytes may read as the same word)" : ""
        }

        /// Skips spaces, tabs and line ends, counting lines.
        mutating func skipTrailingWhitespace() {
            while pos < end && (base[pos] == 10 || base[pos] == 13 || Self.isSpace(base[pos])) {
                if base[pos] == 10 { line += 1 }
                pos += 1
            }
        }

        /// True at the end of the file or when only whitespace follows (blank last lines).
        func restIsWhitespace() -> Bool {
            var p = pos
            while p < end && (base[p] == 10 || base[p] == 13 || Self.isSpace(base[p])) { p += 1 }
            return p >= end
        }

        /// The row at `pos` is the word `<unk>`.
        func atUnkRow() -> Bool {
            let unk: [UInt8] = Array("<unk>".utf8)
            guard end - pos > unk.count else { return false }
            for (i, c) in unk.enumerated() where base[pos + i] != c { return false }
            return Self.isSpace(base[pos + unk.count])
        }

        /// Text if the first row parses as a word plus D numbers; otherwise binary
        /// when the first row's vector bytes include non-text bytes.
        func detectBinary(dim: Int) -> Bool {
            var p = pos
            while p < end && base[p] != 32 && base[p] != 10 { p += 1 }
            guard p < end, base[p] == 32 else { return false }
            p += 1
            let sampleEnd = min(end, p + 4 * dim)
            var trial = self
            if (try? trial.textRow(0, of: 1, dim: dim, into: nil)) != nil { return false }
            for i in p..<sampleEnd {
                let c = base[i]
                if c < 9 || (c > 13 && c < 32) || c >= 127 { return true }
            }
            return false
        }

        mutating func binaryRow(_ r: Int, of v: Int, dim d: Int, into out: UnsafeMutablePointer<Float>) throws -> (String, Int) {
            while pos < end && (base[pos] == 10 || base[pos] == 13 || base[pos] == 32 || base[pos] == 9) { pos += 1 }
            let start = pos
            guard pos < end else {
                throw err(.truncated, offset: pos, "the file ends after \(r) of the \(v) rows its header announces; it is truncated (or the header count is wrong)")
            }
            while pos < end && base[pos] != 32 {
                if base[pos] == 10 {
                    throw err(.badWord, offset: start, "row \(r): the word runs into a newline before its vector; if this is a text file, read it with binary: false")
                }
                pos += 1
            }
            guard pos < end else {
                throw err(.truncated, offset: start, "row \(r) (word \(text(start, pos))) has no vector: the file is truncated")
            }
            let word = String(decoding: UnsafeBufferPointer(start: base + start, count: pos - start), as: UTF8.self)
            pos += 1
            let need = 4 * d
            guard end - pos >= need else {
                throw err(.truncated, offset: pos, "row \(r) (word `\(word)`) needs \(need) bytes of float32 data but only \(end - pos) remain: the file is truncated")
            }
            let raw = UnsafeRawPointer(base + pos)
            for j in 0..<d {
                let x = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * j, as: UInt32.self)))
                guard x.isFinite else {
                    // NaN or ±infinity poisons every cosine it takes part in; refuse the file.
                    throw err(.notANumber, offset: pos + 4 * j,
                              "row \(r) (word `\(word)`): number \(j + 1) is \(x.isNaN ? "NaN" : x < 0 ? "-infinity" : "infinity"), not a finite float; \(Self.nonFiniteHint)")
                }
                out[j] = x
            }
            pos += need
            return (word, start)
        }

        /// Parses one text row. With `out == nil` only validates (used for detection).
        /// `v` is the header's row count (nil for GloVe). With `glove`, a row whose second field
        /// is not a number but that has more than 1 + D fields is read as a word containing
        /// spaces followed by D numbers (see `read`).
        mutating func textRow(_ r: Int, of v: Int?, dim d: Int, into out: UnsafeMutablePointer<Float>?,
                              glove: Bool = false) throws -> (String, Int) {
            let ln = line
            guard pos < end else {
                throw err(.truncated, line: ln, "the file ends after \(r) of the \(v ?? r) rows its header announces; it is truncated (or the header count is wrong)")
            }
            let start = pos
            while pos < end && base[pos] != 32 && base[pos] != 9 && base[pos] != 10 && base[pos] != 13 { pos += 1 }
            guard pos > start else {
                throw err(.badWord, line: ln, "expected a word at the start of the line, found \(base[pos] == 10 || base[pos] == 13 ? "an empty line" : "whitespace")")
            }
            var word = String(decoding: UnsafeBufferPointer(start: base + start, count: pos - start), as: UTF8.self)
            let dimension = glove ? "the dimension of the first row" : "the dimension in the header"
            let fix = glove ? "; every row needs the same number of values: fix or delete this row\(gloveHint)" : ""
            var spaced = false
            var j = 0
            while j < d {
                while pos < end && Self.isSpace(base[pos]) { pos += 1 }
                if pos >= end || base[pos] == 10 || base[pos] == 13 {
                    throw err(.shortRow, line: ln, "word `\(word)` has \(Self.numbers(j)), expected \(d) (\(dimension))\(fix)")
                }
                let tokStart = pos
                guard let x = parseNumber() else {
                    if glove && j == 0 && !spaced, let (wordEnd, numbers) = spacedWord(from: start, dim: d) {
                        word = String(decoding: UnsafeBufferPointer(start: base + start, count: wordEnd - start), as: UTF8.self)
                        pos = numbers
                        spaced = true
                        continue
                    }
                    var t = tokStart
                    while t < end && !Self.isSpace(base[t]) && base[t] != 10 && base[t] != 13 { t += 1 }
                    throw err(.notANumber, line: ln, "number \(j + 1) of word `\(word)`, \(text(tokStart, t)), is not a number")
                }
                guard x.isFinite else {
                    // strtof reads nan, inf, infinity (any case, signed) and overflows to inf: all refused.
                    var t = tokStart
                    while t < end && !Self.isSpace(base[t]) && base[t] != 10 && base[t] != 13 { t += 1 }
                    throw err(.notANumber, line: ln, "number \(j + 1) of word `\(word)`, \(text(tokStart, t)), is \(x.isNaN ? "NaN" : "infinite"), not a finite float; \(Self.nonFiniteHint)")
                }
                out?[j] = x
                j += 1
            }
            while pos < end && (Self.isSpace(base[pos]) || base[pos] == 13) { pos += 1 }
            if pos < end && base[pos] != 10 {
                if glove {
                    throw err(.longRow, line: ln, "word `\(word)` has more than \(Self.numbers(d)) (\(dimension))\(fix)")
                }
                throw err(.longRow, line: ln, "word `\(word)` has more than \(Self.numbers(d)) (\(dimension)); the row or the header is wrong")
            }
            if pos < end { pos += 1 }
            line += 1
            return (word, ln)
        }

        /// For a GloVe row `w1 w2 … v1 … vD` (more than 1 + D fields, the last D numbers): where the
        /// word ends and where its numbers start. Nil if the line is not of that shape.
        func spacedWord(from start: Int, dim d: Int) -> (wordEnd: Int, numbers: Int)? {
            // Calls `body` with each field of the line from `start` (index, bytes); stops when it returns false.
            func fields(_ body: (Int, Range<Int>) -> Bool) {
                var i = start, k = 0
                while i < end && base[i] != 10 {
                    while i < end && (Self.isSpace(base[i]) || base[i] == 13) { i += 1 }
                    let s = i
                    while i < end && !Self.isSpace(base[i]) && base[i] != 10 && base[i] != 13 { i += 1 }
                    if i > s {
                        if !body(k, s..<i) { return }
                        k += 1
                    }
                }
            }
            var count = 0
            fields { _, _ in count += 1; return true }
            guard count > d + 1 else { return nil }
            let firstNumber = count - d
            var wordEnd = 0, numbers = 0, ok = true
            fields { k, r in
                if k == firstNumber - 1 { wordEnd = r.upperBound }
                if k == firstNumber { numbers = r.lowerBound }
                if k >= firstNumber && !isNumber(at: r.lowerBound) { ok = false; return false }
                return true
            }
            return ok ? (wordEnd, numbers) : nil
        }

        /// Parses a float at `pos` that must end at whitespace / newline / EOF.
        /// Fast exact path for short decimals; strtof otherwise.
        @inline(__always)
        mutating func parseNumber() -> Float? {
            var p = pos
            var neg = false
            if base[p] == 45 { neg = true; p += 1 } else if base[p] == 43 { p += 1 }
            var m: UInt64 = 0
            var digits = 0, exp10 = 0, sawDigit = false, fast = true
            while p < end, base[p] &- 48 < 10 {
                sawDigit = true
                if m != 0 || base[p] != 48 { digits += 1 }
                if digits <= 9 { m = m * 10 + UInt64(base[p] - 48) } else { fast = false }
                p += 1
            }
            if p < end && base[p] == 46 {
                p += 1
                while p < end, base[p] &- 48 < 10 {
                    sawDigit = true
                    if m != 0 || base[p] != 48 { digits += 1 }
                    if digits <= 9 { m = m * 10 + UInt64(base[p] - 48); exp10 -= 1 } else { fast = false }
                    p += 1
                }
            }
            if sawDigit && p < end && (base[p] == 101 || base[p] == 69) {
                var q = p + 1
                var eneg = false
                if q < end && (base[q] == 45 || base[q] == 43) { eneg = base[q] == 45; q += 1 }
                var ev = 0, any = false
                while q < end, base[q] &- 48 < 10 {
                    any = true
                    if ev < 100000 { ev = ev * 10 + Int(base[q] - 48) }
                    q += 1
                }
                if any { exp10 += eneg ? -ev : ev; p = q } else { fast = false }
            }
            let terminated = p >= end || Self.isSpace(base[p]) || base[p] == 10 || base[p] == 13
            if sawDigit && terminated && fast && m < (1 << 24) && exp10 >= -10 && exp10 <= 10 {
                // m and 10^|e| are exact floats, so one double op then rounding to float is correctly rounded.
                let dm = Double(m)
                var x = exp10 >= 0 ? Float(dm * EvalPow10.table[exp10]) : Float(dm / EvalPow10.table[-exp10])
                if neg { x = -x }
                pos = p
                return x
            }
            // General path: strtof (handles long mantissas, inf, nan, hex).
            var endPtr: UnsafeMutablePointer<CChar>? = nil
            let s = UnsafeRawPointer(base + pos).assumingMemoryBound(to: CChar.self)
            let x = strtof(s, &endPtr)
            guard let ep = endPtr else { return nil }
            let consumed = UnsafeRawPointer(ep) - UnsafeRawPointer(s)
            let q = pos + consumed
            guard consumed > 0, q <= end, q == end || Self.isSpace(base[q]) || base[q] == 10 || base[q] == 13 else { return nil }
            pos = q
            return x
        }
    }
}

enum EvalPow10 {
    static let table: [Double] = (0...22).map { pow(10.0, Double($0)) }
}

/// Writes to `path.tmp-<pid>` through a 1 MiB buffer and renames into place on close.
final class BufferedFileWriter {
    let path: String
    let tmpPath: String
    private var file: UnsafeMutablePointer<FILE>?
    private var buffer: [UInt8]
    private let capacity = 1 << 20
    private var scratch = [CChar](repeating: 0, count: 64)

    init(path: String) throws {
        self.path = path
        self.tmpPath = path + ".tmp-\(getpid())"
        guard let f = fopen(tmpPath, "wb") else {
            let reason = String(cString: strerror(errno))
            throw Word2VecFormatError(kind: .cannotWrite, path: path, message: "cannot create the file: \(reason); check that the directory exists and is writable")
        }
        file = f
        buffer = []
        buffer.reserveCapacity(capacity + 4096)
    }

    deinit {
        if let f = file {
            fclose(f)
            unlink(tmpPath)
        }
    }

    @inline(__always) func append(byte: UInt8) { buffer.append(byte) }
    func append(_ s: String) { buffer.append(contentsOf: s.utf8) }

    @inline(__always) func appendFloat32LE(_ x: Float) {
        let b = x.bitPattern.littleEndian
        buffer.append(UInt8(truncatingIfNeeded: b))
        buffer.append(UInt8(truncatingIfNeeded: b >> 8))
        buffer.append(UInt8(truncatingIfNeeded: b >> 16))
        buffer.append(UInt8(truncatingIfNeeded: b >> 24))
    }

    func appendNumber(_ x: Float, _ format: Word2VecFormat.NumberFormat) {
        switch format {
        case .shortest:
            buffer.append(contentsOf: x.description.utf8)
        case .fixed(let decimals):
            appendFixed(x, decimals: max(0, min(decimals, 40)))
        }
    }

    /// printf("%.*f") for a float. Exact integer path when the scaled value is
    /// exactly representable (decimals ≤ 8), vsnprintf otherwise.
    func appendFixed(_ x: Float, decimals p: Int) {
        if p <= 8 && x.isFinite {
            let scaled = (Double(x) * EvalPow10.table[p]).magnitude  // exact: 24-bit mantissa × 10^p < 2^53
            if scaled < 1e18 {
                let q = UInt64(scaled.rounded(.toNearestOrEven))
                if x.sign == .minus { buffer.append(45) }
                let pow = UInt64(EvalPow10.table[p])
                appendDecimal(q / pow)
                if p > 0 {
                    buffer.append(46)
                    var frac = q % pow
                    var digits = [UInt8](repeating: 48, count: p)
                    var k = p - 1
                    while frac > 0 { digits[k] = UInt8(48 + frac % 10); frac /= 10; k -= 1 }
                    buffer.append(contentsOf: digits)
                }
                return
            }
        }
        let n = scratch.withUnsafeMutableBufferPointer { sb in
            withVaList([Int32(p), Double(x)]) { vsnprintf(sb.baseAddress!, sb.count, "%.*f", $0) }
        }
        if n >= 0 && n < scratch.count {
            scratch.withUnsafeBufferPointer { sb in
                sb.baseAddress!.withMemoryRebound(to: UInt8.self, capacity: Int(n)) {
                    buffer.append(contentsOf: UnsafeBufferPointer(start: $0, count: Int(n)))
                }
            }
        } else {
            buffer.append(contentsOf: String(format: "%.\(p)f", Double(x)).utf8)
        }
    }

    private func appendDecimal(_ v: UInt64) {
        if v == 0 { buffer.append(48); return }
        var tmp: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                  UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        var x = v
        withUnsafeMutableBytes(of: &tmp) { t in
            while x > 0 { t[n] = UInt8(48 + x % 10); x /= 10; n += 1 }
            for i in stride(from: n - 1, through: 0, by: -1) { buffer.append(t[i]) }
        }
    }

    func flushIfNeeded() throws {
        if buffer.count >= capacity { try flush() }
    }

    func flush() throws {
        guard let f = file else { return }
        if buffer.isEmpty { return }
        let written = buffer.withUnsafeBytes { fwrite($0.baseAddress!, 1, $0.count, f) }
        if written != buffer.count {
            let reason = String(cString: strerror(errno))
            throw Word2VecFormatError(kind: .cannotWrite, path: path, message: "write failed: \(reason) (disk full?)")
        }
        buffer.removeAll(keepingCapacity: true)
    }

    func close() throws {
        try flush()
        guard let f = file else { return }
        file = nil
        if fclose(f) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(tmpPath)
            throw Word2VecFormatError(kind: .cannotWrite, path: path, message: "closing the file failed: \(reason)")
        }
        if rename(tmpPath, path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(tmpPath)
            throw Word2VecFormatError(kind: .cannotWrite, path: path, message: "cannot move the finished file into place: \(reason)")
        }
    }
}

/// TensorFlow Embedding Projector input: `vectors.tsv` (one row of
/// tab-separated numbers per word) and `metadata.tsv` (one word per line, no
/// header, same order).
public enum ProjectorTSV {
    public static func write(_ vectors: WordVectors, vectorsPath: String, metadataPath: String,
                             normalize: Bool = false, limit: Int? = nil) throws {
        let src = normalize ? vectors.normalized() : vectors
        let n = max(0, min(limit ?? src.count, src.count))
        let d = src.dimension
        try Word2VecFormat.checkWords(src.words, upTo: n, path: metadataPath, forbidden: [9, 10, 13],
                                      what: "breaks the one-word-per-line metadata.tsv")
        let vout = try BufferedFileWriter(path: vectorsPath)
        let mout = try BufferedFileWriter(path: metadataPath)
        try src.vectors.withUnsafeBufferPointer { vb in
            for r in 0..<n {
                for j in 0..<d {
                    if j > 0 { vout.append(byte: 9) }
                    vout.appendNumber(vb[r * d + j], .shortest)
                }
                vout.append(byte: 10)
                mout.append(src.words[r])
                mout.append(byte: 10)
                try vout.flushIfNeeded()
                try mout.flushIfNeeded()
            }
        }
        try vout.close()
        try mout.close()
    }
}
