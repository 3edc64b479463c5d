import Foundation
import Pipeline

/// Splits a stream of text into word ids over a first-seen word table, in memory bounded by the
/// table and a few fixed buffers, whatever the length of the text.
///
/// A reader thread fills blocks of `blockBytes` (cut after a separator, so no word is split);
/// each block is cut at separators into one piece per thread; a worker looks each word up in
/// the global table (read only during the block) and keeps words new to it in its piece's own
/// small table; the new words then join the global table piece by piece, in text order, so the
/// ids equal those of a single pass whatever the thread count. The ids go out block by block
/// (`emit`, on a writer thread), never held whole.
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
    /// The default limit on distinct words held while tokenizing. Each costs about 120–165
    /// bytes at the peak (measured: 1M distinct words peaked at 207 MB, 3M at 451 MB, against
    /// 42 MB for a tiny text), so 10 million take about 1.3 GB (word2vec.c starts pruning at 21
    /// million).
    public static let defaultMaxTableWords = 10_000_000
    static let sentenceEnd = TokenStream.sentenceEnd
    /// During a block, a word not yet in the global table gets its piece's local id with this
    /// bit set (global ids stay below it).
    static let localTag: UInt32 = 1 << 31

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
    /// in chunks of any size, to its argument. `emit` gets the ids piece by piece, in order, on a
    /// writer thread of its own (what it writes to is read back only after `run` returned).
    /// Returns the summary and the final word table (ids → words, counts).
    func run(_ options: Options,
             produce: @escaping @Sendable (_ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Void,
             emit: @escaping (UnsafeBufferPointer<UInt32>) throws -> Void,
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
        // Hashing and writing a block's ids overlap the tokenizing of the next.
        let writer = IDWriter(buffers: threads + 1, emit: emit)
        defer { writer.abandon() }
        let global = GlobalWordTable()
        // Workers that sleep between blocks (Dispatch's concurrentPerform spun in sched_yield
        // while waiting, a few percent of the machine in the profile).
        let round = BlockRound()
        let pool = threads > 1 ? WorkerPool(workers: threads) { _, k in
            guard let job = round.job, k < job.pieces.count else { return }
            let range = job.pieces[k]
            let piece = UnsafeBufferPointer(start: UnsafePointer(job.base.base + range.lowerBound), count: range.count)
            self.tokenizePiece(piece, into: states[k], global: global, sentences: job.sentences, skipLeadingRun: k == 0 && job.skipLeading)
        } : nil
        defer { pool?.shutdown() }
        var summary = Summary()
        var wordsSinceSentenceEnd = 0
        var pruneFloor: UInt64 = 1
        while let block = pipe.next() {
            let bytes = UnsafeBufferPointer(start: UnsafePointer(block.buffer), count: block.count)
            let pieces = split(bytes, into: block.count < 1 << 20 ? 1 : threads)
            for state in states { state.ensureGlobalCounts(global.count) }
            if let pool, pieces.count > 1 {
                round.job = BlockRound.Job(base: WorkerPointer(UnsafePointer(block.buffer)), pieces: pieces,
                                           sentences: options.sentences, skipLeading: block.skipLeadingRun)
                pool.startRound(0)
                _ = pool.waitForRound(timeout: .distantFuture)
                round.job = nil
            } else {
                tokenizePiece(bytes, into: states[0], global: global, sentences: options.sentences, skipLeadingRun: block.skipLeadingRun)
            }
            // Merge the pieces in text order: the words new to the global table join it (in
            // first-seen order), their ids are patched, and empty sentences are dropped.
            for k in 0..<pieces.count {
                let state = states[k]
                summary.droppedLongTokenCount += state.droppedLong
                let local = state.table
                state.ensureMapCapacity(local.count)
                for e in 0..<local.count {
                    state.map[e] = try global.id(of: local.word(e), count: local.counts[e])
                }
                let ids = state.ids
                let map = state.map
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
                        ids[m] = t & Self.localTag == 0 ? t : map[Int(t & ~Self.localTag)]
                        m &+= 1
                        words &+= 1
                        wordsSinceSentenceEnd &+= 1
                    }
                }
                summary.tokenCount += words
                let fresh = try writer.submit(IDWriter.Buffer(base: ids, capacity: state.capacity, count: m))
                state.ids = fresh.base
                state.capacity = fresh.capacity
            }
            summary.peakTableWords = max(summary.peakTableWords, global.count)
            if global.count > options.maxTableWords { global.foldCounts(of: states) }
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
        global.foldCounts(of: states)
        // Every sentence ends with a marker, the last one too.
        if options.sentences && wordsSinceSentenceEnd > 0 {
            let state = states[0]
            state.ids[0] = Self.sentenceEnd
            let fresh = try writer.submit(IDWriter.Buffer(base: state.ids, capacity: state.capacity, count: 1))
            state.ids = fresh.base
            state.capacity = fresh.capacity
            summary.sentenceCount += 1
        }
        try writer.finish()
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

    /// Tokenizes one piece into `state`: a word already in the global table (read only during
    /// the round) gets its global id and is counted in the worker's own array; a new word goes
    /// into the piece's local table and gets its local id tagged with `localTag`. With
    /// `sentences`, each newline writes a sentence-end marker. With `skipLeadingRun`, word bytes
    /// at the very start continue a too-long token of the block before and are skipped without
    /// being counted again.
    private func tokenizePiece(_ piece: UnsafeBufferPointer<UInt8>, into state: PieceState, global: GlobalWordTable,
                               sentences: Bool, skipLeadingRun: Bool) {
        let table = state.table
        table.removeAll()
        state.ensureCapacity(min(piece.count + 1, 1 << 16))
        var n = 0
        var droppedLong = 0
        let maxToken = Self.maxTokenBytes
        let normalize = mode == .normalize
        let newline = UInt8(0x0A)
        let marker = Self.sentenceEnd
        let tag = Self.localTag
        let known = global.table
        let gids = global.gids
        let counted = state.globalCounts
        // Digit words are looked up when they first occur in the piece.
        var digitIDs = [UInt32](repeating: UInt32.max, count: 10)
        let scratch = state.scratch
        /// The id of a word: global (counted here) or local (tagged; counted by its table).
        @inline(__always)
        func lookup(_ p: UnsafePointer<UInt8>, _ len: Int, _ h: UInt64) -> UInt32 {
            let e = known.find(p, length: len, hash: h)
            if e >= 0 {
                counted[e] &+= 1
                return gids[e]
            }
            return table.id(of: p, length: len, hash: h) | tag
        }
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
                        if sentences && base[i] == newline {
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
                            // Looked up once, counted per occurrence below.
                            digitIDs[d] = w.withUTF8 { u in
                                let h = WordTable.hash(u.baseAddress!, u.count)
                                let e = known.find(u.baseAddress!, length: u.count, hash: h)
                                return e >= 0 ? UInt32(e) : table.id(of: u.baseAddress!, length: u.count, hash: h, increment: 0) | tag
                            }
                        }
                        let code = digitIDs[d]
                        if code & tag == 0 {
                            counted[Int(code)] &+= 1
                            ids[n] = gids[Int(code)]
                        } else {
                            table.counts[Int(code & ~tag)] &+= 1
                            ids[n] = code
                        }
                        n &+= 1
                        i += 1
                        continue
                    }
                    let start = i
                    // Read at most maxToken word bytes; if the run goes on, it is too long.
                    let limit = min(end, start + maxToken)
                    var len = 0
                    if normalize {
                        while i < limit, cls[Int(base[i])] == 1 {
                            scratch[len] = low[Int(base[i])]
                            len += 1
                            i += 1
                        }
                    } else {
                        while i < limit, cls[Int(base[i])] == 1 { i += 1 }
                        len = i - start
                    }
                    if i < end && cls[Int(base[i])] == 1 {
                        // Longer than maxToken: skip the rest of the run without storing it.
                        while i < end, cls[Int(base[i])] == 1 { i += 1 }
                        droppedLong += 1
                        continue
                    }
                    let word = normalize ? UnsafePointer(scratch) : base + start
                    ids[n] = lookup(word, len, WordTable.hash(word, len))
                    n &+= 1
                }
            }
        }
        state.count = n
        state.droppedLong = droppedLong
    }
}

/// Writes the ids on a thread of its own, in the order they were handed over, so that hashing
/// and writing one block's ids overlap the tokenizing of the next. Buffers go round: a piece
/// hands over its filled buffer and takes a free one (waiting while the writer is behind), so
/// memory stays fixed (a `HandOff`). `@unchecked Sendable`: `emit` is called by the writer
/// thread only, and its caller reads what it wrote only after `finish()` returned.
final class IDWriter: @unchecked Sendable {
    struct Buffer {
        var base: UnsafeMutablePointer<UInt32>
        var capacity: Int
        var count: Int
    }

    private let handOff: HandOff<Buffer>
    private let emit: (UnsafeBufferPointer<UInt32>) throws -> Void

    init(buffers: Int, emit: @escaping (UnsafeBufferPointer<UInt32>) throws -> Void) {
        self.emit = emit
        handOff = HandOff((0..<max(1, buffers)).map { _ in Buffer(base: .allocate(capacity: 1 << 16), capacity: 1 << 16, count: 0) })
        let thread = Thread { [self] in
            while let b = handOff.next() {
                do { try self.emit(UnsafeBufferPointer(start: b.base, count: b.count)) } catch { handOff.fail(error) }
                handOff.recycle(b)
            }
            handOff.markThreadExited()
        }
        thread.name = "w2v-pipe id writer"
        thread.start()
    }

    deinit {
        for b in handOff.remaining() { b.base.deallocate() }
    }

    /// Queues `filled` for writing; returns a free buffer. Throws the writer's error, if any.
    func submit(_ filled: Buffer) throws -> Buffer {
        handOff.send(filled)
        guard let free = handOff.takeFree() else { throw handOff.failure ?? CancelledError() }
        return free
    }

    /// Waits until everything queued is written; throws the writer's error, if any.
    func finish() throws {
        handOff.close()
        handOff.waitForThreadExit()
        if let failure = handOff.failure { throw failure }
    }

    /// Stops the writer (what is still queued is dropped) and waits for its thread.
    func abandon() {
        handOff.stop()
        handOff.waitForThreadExit()
    }
}

/// The block the workers of one round tokenize. `@unchecked Sendable`: `job` is set by the
/// calling thread before it starts a round and cleared after the round ended; the workers only
/// read it during the round (the pool's round start and end order the accesses).
final class BlockRound: @unchecked Sendable {
    struct Job {
        let base: WorkerPointer<UInt8>
        let pieces: [Range<Int>]
        let sentences: Bool
        let skipLeading: Bool
    }
    var job: Job?
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
    /// Occurrences this worker found of each global entry, since the last fold into the table.
    var globalCounts: UnsafeMutablePointer<UInt64>
    var globalCountsCapacity = 1 << 12

    init() {
        capacity = 1 << 16
        ids = .allocate(capacity: capacity)
        map = .allocate(capacity: mapCapacity)
        globalCounts = .allocate(capacity: globalCountsCapacity)
        globalCounts.initialize(repeating: 0, count: globalCountsCapacity)
    }

    deinit { ids.deallocate(); map.deallocate(); scratch.deallocate(); globalCounts.deallocate() }

    /// Room for a count per global entry (new entries start at 0).
    func ensureGlobalCounts(_ n: Int) {
        guard n > globalCountsCapacity else { return }
        var cap = globalCountsCapacity
        while cap < n { cap *= 2 }
        let bigger = UnsafeMutablePointer<UInt64>.allocate(capacity: cap)
        bigger.moveInitialize(from: globalCounts, count: globalCountsCapacity)
        (bigger + globalCountsCapacity).initialize(repeating: 0, count: cap - globalCountsCapacity)
        globalCounts.deallocate()
        globalCounts = bigger
        globalCountsCapacity = cap
    }

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
/// compacted when words are pruned; ids never change (`gids` maps entries to ids). Workers read
/// it (and `gids`) during a round; it changes only between rounds.
final class GlobalWordTable: @unchecked Sendable {
    private(set) var table = WordTable(expectedWords: 1 << 17)
    /// Per entry, its id.
    private(set) var gids: UnsafeMutablePointer<UInt32>
    private var gidCapacity = 1 << 17
    /// Ids handed out so far (pruned ones included).
    private(set) var idCount = 0

    init() { gids = .allocate(capacity: gidCapacity) }
    deinit { gids.deallocate() }

    var count: Int { table.count }

    /// The id of `word`, inserted if new; adds `count` to its count.
    func id(of word: UnsafeBufferPointer<UInt8>, count: UInt64) throws -> UInt32 {
        let before = table.count
        let e = Int(table.id(of: word.baseAddress!, length: word.count, hash: WordTable.hash(word.baseAddress!, word.count), increment: count))
        if table.count > before {
            guard UInt32(idCount) < Tokenizer.localTag - 1 else { throw TokenizeError.tooManyWords(idCount) }
            if e == gidCapacity {
                let bigger = UnsafeMutablePointer<UInt32>.allocate(capacity: gidCapacity * 2)
                bigger.moveInitialize(from: gids, count: gidCapacity)
                gids.deallocate()
                gids = bigger
                gidCapacity *= 2
            }
            gids[e] = UInt32(idCount)
            idCount += 1
        }
        return gids[e]
    }

    /// Adds the workers' counts into the table's and zeroes them.
    func foldCounts(of states: [PieceState]) {
        for state in states {
            let n = min(table.count, state.globalCountsCapacity)
            for e in 0..<n where state.globalCounts[e] != 0 {
                table.counts[e] &+= state.globalCounts[e]
                state.globalCounts[e] = 0
            }
        }
    }

    /// Removes the words seen at most `floor` times (after `foldCounts`); returns how many and
    /// their occurrences.
    func prune(countAtMost floor: UInt64) -> (words: Int, tokens: UInt64) {
        let old = table
        let fresh = WordTable(expectedWords: max(16, old.count / 2))
        var words = 0
        var tokens: UInt64 = 0
        var kept = 0
        for e in 0..<old.count {
            let c = old.counts[e]
            if c <= floor {
                words += 1
                tokens += c
                continue
            }
            let w = old.word(e)
            _ = fresh.id(of: w.baseAddress!, length: w.count, hash: WordTable.hash(w.baseAddress!, w.count), increment: c)
            gids[kept] = gids[e]
            kept += 1
        }
        table = fresh
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
final class BlockPipe: @unchecked Sendable {
    struct Block {
        let buffer: UnsafeMutablePointer<UInt8>
        let count: Int
        /// The block starts inside a too-long token whose start the block before dropped.
        let skipLeadingRun: Bool
    }

    private let capacity: Int
    private let all: [UnsafeMutablePointer<UInt8>]
    /// Free buffers carry a count of 0; full ones the bytes they hold.
    private let handOff: HandOff<Block>

    init(buffers: Int, capacity: Int) {
        self.capacity = capacity
        all = (0..<buffers).map { _ in .allocate(capacity: capacity) }
        handOff = HandOff(all.map { Block(buffer: $0, count: 0, skipLeadingRun: false) })
    }

    deinit { for b in all { b.deallocate() } }

    private struct Stopped: Error {}

    /// What the reader failed with, if it did.
    var producerError: Error? { handOff.failure }

    /// The reader thread's loop: fills blocks with what `produce` delivers, each cut after its
    /// last separator (the rest starts the next block).
    func produce(classes: [UInt8], maxToken: Int, produce: (_ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) {
        defer { handOff.markThreadExited() }
        do {
            guard var current = handOff.takeFree()?.buffer else { return handOff.close() }
            var used = 0
            var skipLeading = false
            func cut() throws {
                // The last separator, looking no further back than one maximal token.
                var s = used - 1
                let lowest = max(0, used - (maxToken + 1))
                while s >= lowest && classes[Int(current[s])] != 0 { s -= 1 }
                guard let next = handOff.takeFree()?.buffer else { throw Stopped() }
                if s >= lowest {
                    let carry = used - (s + 1)
                    next.update(from: current + s + 1, count: carry)
                    handOff.send(Block(buffer: current, count: s + 1, skipLeadingRun: skipLeading))
                    skipLeading = false
                    used = carry
                } else {
                    // No separator near the end: the tail is a token too long to keep, which the
                    // tokenizer drops; the next block skips the rest of it.
                    handOff.send(Block(buffer: current, count: used, skipLeadingRun: skipLeading))
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
            if used > 0 { handOff.send(Block(buffer: current, count: used, skipLeadingRun: skipLeading)) }
            handOff.close()
        } catch is Stopped {
            handOff.close() // stopped by the tokenizer, which knows why
        } catch {
            handOff.fail(error)
        }
    }

    /// The next filled block, nil when the reader is done (or failed: see `producerError`).
    func next() -> Block? { handOff.next() }

    func recycle(_ buffer: UnsafeMutablePointer<UInt8>) {
        handOff.recycle(Block(buffer: buffer, count: 0, skipLeadingRun: false))
    }

    /// Tells the reader to stop and waits until it has returned (its buffers are ours again).
    func stopAndJoin() {
        handOff.stop()
        handOff.waitForThreadExit()
    }
}
