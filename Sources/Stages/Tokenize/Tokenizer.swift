import Foundation
import Pipeline

/// Splits a stream of text into word ids over a first-seen word table, in memory bounded by the
/// table and a few fixed buffers, whatever the length of the text.
///
/// A reader thread fills blocks of `blockBytes` (cut after a separator, so no word is split);
/// each block is cut at separators into one piece per thread, each piece is tokenized with its
/// own small table, and the pieces are merged into the global table in text order, so the ids
/// equal those of a single pass whatever the thread count. The ids go out block by block
/// (`emit`), never held whole.
///
/// Tokens longer than `maxTokenBytes` are dropped and counted: a text without separators (a
/// binary file, a base64 blob, a corpus whose newlines were lost) would otherwise become one
/// giant "word". When the table passes `maxTableWords` distinct words, the rarest are pruned
/// as word2vec.c does (`ReduceVocab`): words seen at most once so far, then at most twice, …,
/// until the table is under the limit. A pruned word keeps its id (its earlier occurrences
/// stay in the stream, as a word no vocabulary keeps); if it occurs again it gets a new id.
public final class Tokenizer: Sendable {
    /// The longest token kept, in bytes (after lower-casing in normalize mode, which keeps byte
    /// lengths). The longest English dictionary words are under 50 bytes; 1,000 leaves room for
    /// URLs, identifiers and long compounds in other languages.
    public static let maxTokenBytes = 1_000
    /// Text per block: the unit of reading, of parallel work and of pruning checks.
    public static let defaultBlockBytes = 16 << 20
    /// The default limit on distinct words held while tokenizing: about 60 bytes each, so
    /// 10 million words take about 0.6 GB (word2vec.c starts pruning at 21 million).
    public static let defaultMaxTableWords = 10_000_000
    static let sentenceEnd = TokenStream.sentenceEnd

    public struct Options: Sendable {
        public var sentences = false
        public var maxTableWords = Tokenizer.defaultMaxTableWords
        public var threads = 1
        public var blockBytes = Tokenizer.defaultBlockBytes
        public init(sentences: Bool = false, maxTableWords: Int = Tokenizer.defaultMaxTableWords, threads: Int = 1,
                    blockBytes: Int = Tokenizer.defaultBlockBytes) {
            self.sentences = sentences
            self.maxTableWords = maxTableWords
            self.threads = threads
            self.blockBytes = blockBytes
        }
    }

    /// What a run produced besides the ids.
    public struct Summary {
        public var textBytes: UInt64 = 0
        /// Word tokens emitted (sentence ends not counted).
        public var tokenCount = 0
        public var sentenceCount = 0
        /// Tokens longer than `maxTokenBytes`, dropped.
        public var droppedLongTokenCount = 0
        /// Words pruned from the table (`maxTableWords`) and their occurrences before that.
        public var prunedWords = 0
        public var prunedTokens: UInt64 = 0
        /// Pruning rounds and the highest count pruned.
        public var pruneRounds = 0
        public var pruneFloor: UInt64 = 0
        /// The largest the table grew (distinct words held at once).
        public var peakTableWords = 0
    }

    /// An in-memory result (`tokenize(_:threads:)`), for small texts and tests.
    public struct Result {
        public let words: [String]
        public let counts: [UInt64]
        /// Token ids in text order (one chunk); sentence ends included in sentence mode.
        public let idChunks: [UnsafeBufferPointer<UInt32>]
        public var tokenCount: Int { summary.tokenCount }
        public var droppedLongTokenCount: Int { summary.droppedLongTokenCount }
        public let summary: Summary
        let owner: UnsafeMutablePointer<UInt32>

        public func deallocate() { owner.deallocate() }
    }

    public let mode: TokenizationMode
    /// Byte classes: 0 separator, 1 word byte, 2 digit (spelled out in normalize mode).
    let classes: [UInt8]
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

    /// Tokenizes a text held in memory (one pass of the streaming tokenizer).
    public func tokenize(_ text: UnsafeRawBufferPointer, threads: Int, sentences: Bool = false,
                         maxTableWords: Int = Tokenizer.defaultMaxTableWords,
                         blockBytes: Int = Tokenizer.defaultBlockBytes) throws -> Result {
        var ids: [UInt32] = []
        let shared = TextPointer(text)
        let options = Options(sentences: sentences, maxTableWords: maxTableWords, threads: threads, blockBytes: blockBytes)
        let (summary, table) = try run(options, produce: { body in try body(shared.bytes) },
                                       emit: { ids.append(contentsOf: $0) })
        var words = [String]()
        var counts = [UInt64]()
        let entryOf = table.entryByID()
        for id in 0..<entryOf.count {
            let e = Int(entryOf[id])
            words.append(e < 0 ? "" : table.table.string(e))
            counts.append(e < 0 ? 0 : table.table.counts[e])
        }
        let owner = UnsafeMutablePointer<UInt32>.allocate(capacity: max(1, ids.count))
        _ = UnsafeMutableBufferPointer(start: owner, count: ids.count).initialize(from: ids)
        return Result(words: words, counts: counts, idChunks: [UnsafeBufferPointer(start: owner, count: ids.count)],
                      summary: summary, owner: owner)
    }

    /// Tokenizes the text `produce` delivers: it runs on a reader thread and passes the text,
    /// in chunks of any size, to its argument. `emit` gets the ids block by block, on the
    /// calling thread. Returns the summary and the final word table (ids → words, counts).
    func run(_ options: Options,
             produce: @escaping @Sendable (_ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Void,
             emit: (UnsafeBufferPointer<UInt32>) throws -> Void,
             progress: (UInt64) -> Void = { _ in },
             isCancelled: () -> Bool = { false }) throws -> (Summary, GlobalWordTable) {
        let blockBytes = max(options.blockBytes, 2 * (Self.maxTokenBytes + 1))
        let pipe = BlockPipe(buffers: 2, capacity: blockBytes)
        let classes = self.classes
        let reader = Thread {
            pipe.produce(classes: classes, maxToken: Self.maxTokenBytes, produce: produce)
        }
        reader.name = "w2v-pipe text reader"
        reader.start()
        defer { pipe.stopAndJoin() }

        let threads = max(1, options.threads)
        let states = (0..<threads).map { _ in PieceState() }
        let global = GlobalWordTable()
        var summary = Summary()
        var wordsSinceSentenceEnd = 0
        var pruneFloor: UInt64 = 1
        while let block = pipe.next() {
            let bytes = UnsafeBufferPointer(start: UnsafePointer(block.buffer), count: block.count)
            let pieces = split(bytes, into: block.count < 1 << 20 ? 1 : threads)
            let shared = WorkerPointer(UnsafePointer(block.buffer))
            let sentences = options.sentences
            let skipLeading = block.skipLeadingRun
            Parallel.forEach(pieces.count, threads: pieces.count) { k in
                let range = pieces[k]
                let piece = UnsafeBufferPointer(start: UnsafePointer(shared.base + range.lowerBound), count: range.count)
                self.tokenizePiece(piece, into: states[k], sentences: sentences, skipLeadingRun: k == 0 && skipLeading)
            }
            // Merge the pieces in text order; drop empty sentences.
            for k in 0..<pieces.count {
                let state = states[k]
                summary.droppedLongTokenCount += state.droppedLong
                let local = state.table
                state.ensureMapCapacity(local.count)
                for e in 0..<local.count {
                    let w = local.word(e)
                    state.map[e] = try global.id(of: w, count: local.counts[e])
                }
                let ids = state.ids
                var m = 0, words = 0
                for i in 0..<state.count {
                    let t = ids[i]
                    if t == Self.sentenceEnd {
                        if wordsSinceSentenceEnd > 0 {
                            ids[m] = t
                            m &+= 1
                            summary.sentenceCount += 1
                            wordsSinceSentenceEnd = 0
                        }
                    } else {
                        ids[m] = state.map[Int(t)]
                        m &+= 1
                        words &+= 1
                        wordsSinceSentenceEnd &+= 1
                    }
                }
                summary.tokenCount += words
                try emit(UnsafeBufferPointer(start: ids, count: m))
            }
            summary.peakTableWords = max(summary.peakTableWords, global.count)
            while global.count > options.maxTableWords {
                let (words, tokens) = global.prune(countAtMost: pruneFloor)
                summary.prunedWords += words
                summary.prunedTokens += tokens
                summary.pruneRounds += 1
                summary.pruneFloor = pruneFloor
                pruneFloor += 1
            }
            summary.textBytes += UInt64(block.count)
            pipe.recycle(block.buffer)
            progress(summary.textBytes)
            if isCancelled() { throw CancelledError() }
        }
        if let error = pipe.producerError { throw error }
        // Every sentence ends with a marker, the last one too.
        if options.sentences && wordsSinceSentenceEnd > 0 {
            var end = Self.sentenceEnd
            try withUnsafePointer(to: &end) { try emit(UnsafeBufferPointer(start: $0, count: 1)) }
            summary.sentenceCount += 1
        }
        return (summary, global)
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

    /// Tokenizes one piece into `state` (its own table, its ids, its count of dropped long
    /// tokens). With `sentences`, each newline writes a sentence-end marker. With
    /// `skipLeadingRun`, word bytes at the very start continue a too-long token of the block
    /// before and are skipped without being counted again.
    private func tokenizePiece(_ piece: UnsafeBufferPointer<UInt8>, into state: PieceState, sentences: Bool, skipLeadingRun: Bool) {
        let table = state.table
        table.removeAll()
        state.ensureCapacity(min(piece.count + 1, 1 << 16))
        var n = 0
        var droppedLong = 0
        let maxToken = Self.maxTokenBytes
        let normalize = mode == .normalize
        let newline = sentences ? UInt8(0x0A) : UInt8(0x20) // a space never ends a sentence
        let marker = Self.sentenceEnd
        // Digit words are looked up when they first occur.
        var digitIDs = [UInt32](repeating: UInt32.max, count: 10)
        let scratch = state.scratch
        classes.withUnsafeBufferPointer { cls in
            lower.withUnsafeBufferPointer { low in
                guard let base = piece.baseAddress else { return }
                let end = piece.count
                var i = 0
                if skipLeadingRun {
                    while i < end, cls[Int(base[i])] != 0 { i += 1 }
                }
                while i < end {
                    var c = cls[Int(base[i])]
                    while c == 0 {
                        if base[i] == newline && sentences {
                            if n == state.capacity { state.grow(keeping: n) }
                            state.ids[n] = marker
                            n &+= 1
                        }
                        i += 1
                        if i == end { break }
                        c = cls[Int(base[i])]
                    }
                    if i == end { break }
                    if n == state.capacity { state.grow(keeping: n) }
                    let ids = state.ids
                    if c == 2 {
                        let d = Int(base[i] - UInt8(ascii: "0"))
                        if digitIDs[d] == UInt32.max {
                            var w = Self.digitWords[d]
                            digitIDs[d] = w.withUTF8 { table.id(of: $0.baseAddress!, length: $0.count, hash: WordTable.hash($0.baseAddress!, $0.count), increment: 0) }
                        }
                        ids[n] = digitIDs[d]
                        table.counts[Int(digitIDs[d])] &+= 1
                        n &+= 1
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
                    n &+= 1
                }
            }
        }
        state.count = n
        state.droppedLong = droppedLong
    }
}

/// A borrowed text handed to the reader thread of `Tokenizer.tokenize(_:threads:)`, which
/// joins before the borrow ends.
private struct TextPointer: @unchecked Sendable {
    let bytes: UnsafeRawBufferPointer
    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }
}

/// One worker's reusable state: its table, its ids, its scratch. Touched by one worker during a
/// block's parallel step and by the calling thread between steps.
final class PieceState: @unchecked Sendable {
    let table = WordTable(expectedWords: 1 << 15)
    var ids: UnsafeMutablePointer<UInt32>
    var capacity: Int
    var count = 0
    var droppedLong = 0
    var map: UnsafeMutablePointer<UInt32>
    var mapCapacity = 1 << 15
    let scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: Tokenizer.maxTokenBytes)

    init() {
        capacity = 1 << 16
        ids = .allocate(capacity: capacity)
        map = .allocate(capacity: mapCapacity)
    }

    deinit { ids.deallocate(); map.deallocate(); scratch.deallocate() }

    func ensureCapacity(_ n: Int) {
        if n > capacity {
            ids.deallocate()
            capacity = n
            ids = .allocate(capacity: n)
        }
    }

    func grow(keeping n: Int) {
        let bigger = UnsafeMutablePointer<UInt32>.allocate(capacity: capacity * 2)
        bigger.moveInitialize(from: ids, count: n)
        ids.deallocate()
        ids = bigger
        capacity *= 2
    }

    func ensureMapCapacity(_ n: Int) {
        if n > mapCapacity {
            map.deallocate()
            mapCapacity = n
            map = .allocate(capacity: n)
        }
    }
}

/// The global table of a tokenizer run: words with their counts and stable ids. Entries are
/// compacted when words are pruned; ids never change (`gids` maps entries to ids).
final class GlobalWordTable {
    private(set) var table = WordTable(expectedWords: 1 << 17)
    private var gids: [UInt32] = []
    /// Ids handed out so far (pruned ones included).
    private(set) var idCount = 0

    var count: Int { table.count }

    func id(of word: UnsafeBufferPointer<UInt8>, count: UInt64) throws -> UInt32 {
        let before = table.count
        let e = Int(table.id(of: word.baseAddress!, length: word.count, hash: WordTable.hash(word.baseAddress!, word.count), increment: count))
        if table.count > before {
            guard idCount < Int(Tokenizer.sentenceEnd) - 1 else { throw TokenizeError.tooManyWords(idCount) }
            gids.append(UInt32(idCount))
            idCount += 1
        }
        return gids[e]
    }

    /// Removes the words seen at most `floor` times; returns how many and their occurrences.
    func prune(countAtMost floor: UInt64) -> (words: Int, tokens: UInt64) {
        let old = table
        let fresh = WordTable(expectedWords: max(16, old.count / 2))
        var freshIDs: [UInt32] = []
        var words = 0
        var tokens: UInt64 = 0
        for e in 0..<old.count {
            let c = old.counts[e]
            if c <= floor {
                words += 1
                tokens += c
                continue
            }
            let w = old.word(e)
            _ = fresh.id(of: w.baseAddress!, length: w.count, hash: WordTable.hash(w.baseAddress!, w.count), increment: c)
            freshIDs.append(gids[e])
        }
        table = fresh
        gids = freshIDs
        return (words, tokens)
    }

    /// Per id, its entry in `table`, or -1 for a pruned id.
    func entryByID() -> [Int32] {
        var out = [Int32](repeating: -1, count: idCount)
        for e in 0..<table.count { out[Int(gids[e])] = Int32(e) }
        return out
    }
}

/// Hands blocks of text from the reader thread to the tokenizer: a fixed set of buffers going
/// round (filled by the reader, tokenized, recycled), so memory does not grow with the text.
/// `@unchecked Sendable`: every field is touched under `condition`'s lock only.
final class BlockPipe: @unchecked Sendable {
    struct Block {
        let buffer: UnsafeMutablePointer<UInt8>
        let count: Int
        /// The block starts inside a too-long token whose start the block before dropped.
        let skipLeadingRun: Bool
    }

    private let condition = NSCondition()
    private let capacity: Int
    private let all: [UnsafeMutablePointer<UInt8>]
    private var free: [UnsafeMutablePointer<UInt8>]
    private var full: [Block] = []
    private var producerFinished = false
    private var stopRequested = false
    private(set) var producerError: Error?

    init(buffers: Int, capacity: Int) {
        self.capacity = capacity
        all = (0..<buffers).map { _ in .allocate(capacity: capacity) }
        free = all
    }

    deinit { for b in all { b.deallocate() } }

    /// The reader thread's loop: fills blocks with what `produce` delivers, each cut after its
    /// last separator (the rest starts the next block).
    func produce(classes: [UInt8], maxToken: Int, produce: (_ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) {
        do {
            guard var current = takeFree() else { return finish(nil) }
            var used = 0
            var skipLeading = false
            func cut() throws {
                // The last separator, looking no further back than one maximal token.
                var s = used - 1
                let lowest = max(0, used - (maxToken + 1))
                while s >= lowest && classes[Int(current[s])] != 0 { s -= 1 }
                guard let next = takeFree() else { throw CancelledError() }
                if s >= lowest {
                    let carry = used - (s + 1)
                    next.update(from: current + s + 1, count: carry)
                    send(Block(buffer: current, count: s + 1, skipLeadingRun: skipLeading))
                    skipLeading = false
                    used = carry
                } else {
                    // No separator near the end: the tail is a token too long to keep, which the
                    // tokenizer drops; the next block skips the rest of it.
                    send(Block(buffer: current, count: used, skipLeadingRun: skipLeading))
                    skipLeading = true
                    used = 0
                }
                current = next
            }
            try produce { chunk in
                guard var p = chunk.baseAddress else { return }
                var left = chunk.count
                while left > 0 {
                    let n = min(left, capacity - used)
                    (current + used).update(from: p.assumingMemoryBound(to: UInt8.self), count: n)
                    used += n
                    p += n
                    left -= n
                    if used == capacity { try cut() }
                }
            }
            if used > 0 { send(Block(buffer: current, count: used, skipLeadingRun: skipLeading)) }
            else { recycle(current) }
            finish(nil)
        } catch {
            finish(error is CancelledError && isStopping ? nil : error)
        }
    }

    private var isStopping: Bool { condition.lock(); defer { condition.unlock() }; return stopRequested }

    private func takeFree() -> UnsafeMutablePointer<UInt8>? {
        condition.lock(); defer { condition.unlock() }
        while free.isEmpty && !stopRequested { condition.wait() }
        return stopRequested ? nil : free.removeLast()
    }

    private func send(_ block: Block) {
        condition.lock()
        full.append(block)
        condition.broadcast()
        condition.unlock()
    }

    private func finish(_ error: Error?) {
        condition.lock()
        producerFinished = true
        if producerError == nil { producerError = error }
        condition.broadcast()
        condition.unlock()
    }

    /// The next filled block, nil when the reader is done (or failed: see `producerError`).
    func next() -> Block? {
        condition.lock(); defer { condition.unlock() }
        while full.isEmpty && !producerFinished { condition.wait() }
        if producerError != nil { return nil }
        return full.isEmpty ? nil : full.removeFirst()
    }

    func recycle(_ buffer: UnsafeMutablePointer<UInt8>) {
        condition.lock()
        free.append(buffer)
        condition.broadcast()
        condition.unlock()
    }

    /// Tells the reader to stop and waits until it has returned (its buffers are ours again).
    func stopAndJoin() {
        condition.lock()
        stopRequested = true
        condition.broadcast()
        while !producerFinished { condition.wait() }
        condition.unlock()
    }
}
