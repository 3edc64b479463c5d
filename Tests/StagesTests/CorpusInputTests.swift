import CLibzip
import Foundation
import Pipeline
import Testing
@testable import Stages

/// Corpora past text8: zips with many members, folders of files, `.gz`, sentences, streaming in
/// blocks, pruning of the word table, and the older artifact formats.
@Suite("corpus inputs: members, folders, gzip, sentences, streaming, pruning", .serialized)
struct CorpusInputTests {
    let dir: URL
    let store: ArtifactStore
    static let end = TokenStream.sentenceEnd

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("w2v-corpus-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        store = try ArtifactStore(root: dir.appendingPathComponent("store"))
    }

    // MARK: Harness

    func write(_ text: String, _ name: String) throws {
        let url = dir.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    func writeGzip(_ text: String, _ name: String) throws {
        let path = dir.appendingPathComponent(name).path
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        guard let gz = gzopen(path, "wb") else { throw ZipFixtures.Failure("gzopen") }
        var bytes = Array(text.utf8)
        let n = bytes.withUnsafeMutableBytes { gzwrite(gz, $0.baseAddress, UInt32($0.count)) }
        gzclose(gz)
        guard n == Int32(bytes.count) else { throw ZipFixtures.Failure("gzwrite") }
    }

    /// An experiment of `reader` (a stage body) → tokenize (`tokenize` params) → build-vocab (min_count 1).
    func experiment(_ reader: String, tokenize: String = "{}", name: String = "corpus") throws -> Experiment {
        let json = """
        {"name": "\(name)", "stages": {
          "text": \(reader),
          "tokens": {"type": "tokenize", "inputs": {"text": "text.text"}, "params": \(tokenize)},
          "vocab": {"type": "build-vocab", "inputs": {"tokens": "tokens.tokens"}, "params": {"min_count": 1}}
        }}
        """
        let url = dir.appendingPathComponent("\(name).json")
        try json.write(to: url, atomically: true, encoding: .utf8)
        return try ExperimentLoader.load(url, registry: Word2VecStages.registry)
    }

    func run(_ e: Experiment) throws -> [String: Engine.Outcome] { try runQuietly(e, store: store) }

    func tokens(_ results: [String: Engine.Outcome]) throws -> TokenStream {
        let digest = try #require(results["tokens"]?.record.outputs["tokens"]?.digest)
        return try TokenStream(try store.open(digest, kind: ArtifactKind.tokens, maxVersion: TokenStream.formatVersion))
    }

    func text(_ results: [String: Engine.Outcome]) throws -> CorpusText {
        let digest = try #require(results["text"]?.record.outputs["text"]?.digest)
        return try CorpusText(try store.open(digest, kind: ArtifactKind.text, maxVersion: CorpusText.formatVersion))
    }

    /// The stream as words, with "|" for a sentence end.
    func words(_ t: TokenStream) -> [String] {
        Array(t.ids).map { $0 == Self.end ? "|" : t.words[Int($0)] }
    }

    func failure(_ e: Experiment) -> String {
        do { _ = try run(e); return "" } catch { return "\(error)" }
    }

    // MARK: Zip members

    func makeZip() throws {
        try ZipFixtures.make(at: dir.appendingPathComponent("c.zip").path, [
            .init(name: "b.txt", content: Array("c d\n".utf8)),
            .init(name: "a.txt", content: Array("a b".utf8)),
            .init(name: "__MACOSX/._a.txt", content: Array("junk".utf8)),
            .init(name: "sub/.hidden", content: Array("junk".utf8)),
            .init(name: "sub/e.txt", content: Array("e".utf8)),
        ])
    }

    @Test func allTextMembersAreReadInNameOrderWithoutACopy() throws {
        try makeZip()
        let results = try run(try experiment(#"{"type": "unzip", "params": {"path": "c.zip"}}"#))
        let t = try tokens(results)
        #expect(words(t) == ["a", "b", "c", "d", "e"])
        let manifest = try #require(try text(results).manifest)
        #expect(manifest.sources.map { $0.member } == ["a.txt", "b.txt", "sub/e.txt"])
        // A reference, not a copy: the artifact is the small manifest.
        #expect(try text(results).reader.payloadCount < 2_000)
    }

    @Test func membersTakeNamesAndGlobsInTheOrderGiven() throws {
        try makeZip()
        var t = try tokens(try run(try experiment(#"{"type": "unzip", "params": {"path": "c.zip", "members": ["b*", "a.txt", "b.txt"]}}"#)))
        #expect(words(t) == ["c", "d", "a", "b"])
        t = try tokens(try run(try experiment(#"{"type": "unzip", "params": {"path": "c.zip", "members": "*.txt"}}"#)))
        #expect(words(t) == ["a", "b", "c", "d", "e"])
        let none = failure(try experiment(#"{"type": "unzip", "params": {"path": "c.zip", "members": ["*.md"]}}"#))
        #expect(none.contains("no member named \"*.md\"") && none.contains("\"a.txt\""), "\(none)")
        let both = failure(try experiment(#"{"type": "unzip", "params": {"path": "c.zip", "member": "a.txt", "members": ["b.txt"]}}"#))
        #expect(both.contains("either `member` or `members`"), "\(both)")
    }

    @Test func aChangedArchiveIsCaughtWhenItsReferenceIsRead() throws {
        try makeZip()
        let results = try run(try experiment(#"{"type": "unzip", "params": {"path": "c.zip"}}"#))
        let text = try text(results)
        try ZipFixtures.make(at: dir.appendingPathComponent("c.zip").path, [.init(name: "a.txt", content: Array("a x".utf8))])
        do {
            try TextStreamer(text: text).stream(progress: { _ in }) { _ in }
            Issue.record("a changed member was read")
        } catch let e as TextSourceError {
            #expect("\(e)".contains("changed after it was recorded"), "\(e)")
        }
    }

    // MARK: Files, folders, gzip

    @Test func aFolderIsReadInNameOrderWithGzipAndHiddenFilesLeftOut() throws {
        try write("x y\nz", "corpus/01.txt")
        try write("w", "corpus/03.md")
        try write("hidden", "corpus/.secret.txt")
        try writeGzip("y z\n\nv\n", "corpus/sub/02.txt.gz")
        let results = try run(try experiment(#"{"type": "read-text", "params": {"path": "corpus"}}"#, tokenize: #"{"sentences": "lines"}"#))
        let t = try tokens(results)
        #expect(words(t) == ["x", "y", "|", "z", "|", "w", "|", "y", "z", "|", "v", "|"])
        #expect(t.sentences && t.sentenceCount == 5 && t.tokenCount == 7)
        #expect(try text(results).manifest?.sources.map { $0.kind } == [.file, .file, .gzip])
        // Globs choose and order files; one string is a list of one.
        let only = try tokens(try run(try experiment(#"{"type": "read-text", "params": {"path": "corpus", "files": ["*.gz", "01.txt"]}}"#)))
        #expect(words(only) == ["y", "z", "v", "x", "y", "z"])
        let one = try tokens(try run(try experiment(#"{"type": "read-text", "params": {"path": "corpus", "files": "*.md"}}"#)))
        #expect(words(one) == ["w"])
        let none = failure(try experiment(#"{"type": "read-text", "params": {"path": "corpus", "files": ["*.csv"]}}"#))
        #expect(none.contains("no file in") && none.contains("\"01.txt\""), "\(none)")
    }

    @Test func aLinkBackUpTheFolderIsFollowedOnceNotForever() throws {
        try write("a b", "corpus/a.txt")
        try write("c", "elsewhere/c.txt")
        // A link to the folder itself, and one to a folder beside it that links back.
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("corpus/self").path, withDestinationPath: ".")
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("corpus/other").path,
                                                   withDestinationPath: dir.appendingPathComponent("elsewhere").path)
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("elsewhere/back").path,
                                                   withDestinationPath: dir.appendingPathComponent("corpus").path)
        let t = try tokens(try run(try experiment(#"{"type": "read-text", "params": {"path": "corpus"}}"#)))
        #expect(words(t) == ["a", "b", "c"])
    }

    @Test func aNameThatLooksLikeAGlobIsTakenAsItIsWhenItExists() throws {
        try ZipFixtures.make(at: dir.appendingPathComponent("g.zip").path, [
            .init(name: "x[1].txt", content: Array("bracket".utf8)),
            .init(name: "x1.txt", content: Array("plain".utf8)),
        ])
        let exact = try tokens(try run(try experiment(#"{"type": "unzip", "params": {"path": "g.zip", "members": "x[1].txt"}}"#)))
        #expect(words(exact) == ["bracket"])
        let glob = try tokens(try run(try experiment(#"{"type": "unzip", "params": {"path": "g.zip", "members": "x[0-9].txt"}}"#)))
        #expect(words(glob) == ["plain"])
        try write("bracket", "names/f[1].txt")
        try write("plain", "names/f1.txt")
        let file = try tokens(try run(try experiment(#"{"type": "read-text", "params": {"path": "names", "files": "f[1].txt"}}"#)))
        #expect(words(file) == ["bracket"])
    }

    @Test func aSingleFileAndItsGzipGiveTheSameTokens() throws {
        let text = "the cat sat\non the mat\n"
        try write(text, "one.txt")
        try writeGzip(text, "one.txt.gz")
        let plain = try tokens(try run(try experiment(#"{"type": "read-text", "params": {"path": "one.txt"}}"#)))
        let gz = try tokens(try run(try experiment(#"{"type": "read-text", "params": {"path": "one.txt.gz"}}"#)))
        #expect(words(plain) == ["the", "cat", "sat", "on", "the", "mat"])
        #expect(words(gz) == words(plain))
    }

    @Test func damagedOrFakeGzipFilesAreNamedNotTrusted() throws {
        try writeGzip(String(repeating: "lorem ipsum dolor ", count: 2000), "cut.gz")
        let url = dir.appendingPathComponent("cut.gz")
        let whole = try Data(contentsOf: url)
        try whole.prefix(whole.count / 2).write(to: url)
        let cut = failure(try experiment(#"{"type": "read-text", "params": {"path": "cut.gz"}}"#))
        #expect(cut.contains("cut.gz") && cut.contains("not a readable gzip file"), "\(cut)")
        try write("plain words", "fake.gz")
        let fake = failure(try experiment(#"{"type": "read-text", "params": {"path": "fake.gz"}}"#))
        #expect(fake.contains("fake.gz") && fake.contains("gzip header"), "\(fake)")
        // Named so, it is plain text.
        let plain = try tokens(try run(try experiment(#"{"type": "read-text", "params": {"path": "fake.gz", "compression": "none"}}"#)))
        #expect(words(plain) == ["plain", "words"])
    }

    @Test func aFileChangedAfterItWasRecordedIsCaughtAndATouchedOneIsNot() throws {
        try write("a b c", "f.txt")
        let results = try run(try experiment(#"{"type": "read-text", "params": {"path": "f.txt"}}"#))
        let text = try text(results)
        func read() throws -> String {
            var bytes: [UInt8] = []
            try TextStreamer(text: text).stream(progress: { _ in }) { bytes += Array($0) }
            return String(decoding: bytes, as: UTF8.self)
        }
        #expect(try read() == "a b c")
        // Same bytes, new times: the content digest is the same.
        let path = dir.appendingPathComponent("f.txt").path
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -3600)], ofItemAtPath: path)
        #expect(try read() == "a b c")
        // Same size, other bytes.
        try write("a b d", "f.txt")
        #expect(throws: TextSourceError.self) { try read() }
        try FileManager.default.removeItem(atPath: path)
        do { _ = try read(); Issue.record("a missing file was read") } catch let e as TextSourceError {
            #expect("\(e)".contains("not found") && "\(e)".contains("f.txt"), "\(e)")
        }
    }

    @Test func aMovedFileRerunsItsReaderSayingSo() throws {
        try write("a b c", "one/f.txt")
        try write("a b c", "two/f.txt")
        let first = try run(try experiment(#"{"type": "read-text", "params": {"path": "one/f.txt"}}"#))
        #expect(stagesThatRan(first) == ["text", "tokens", "vocab"])
        let moved = try experiment(#"{"type": "read-text", "params": {"path": "two/f.txt"}}"#)
        let plan = Engine(store: store).plan(moved)
        guard case .stale(let reasons, _)? = plan.first(where: { $0.stage.id == "text" })?.status else {
            Issue.record("the reader of a moved file is fresh"); return
        }
        #expect(reasons.contains { $0.code == "file-moved" }, "\(reasons)")
        let second = try run(moved)
        #expect(stagesThatRan(second).contains("text"))
        #expect(try text(second).manifest?.sources.first?.path.hasSuffix("/two/f.txt") == true)
        #expect(words(try tokens(second)) == ["a", "b", "c"])
    }

    // MARK: The tokenizer in blocks

    /// The definition, directly: split at separators, drop over-long tokens, first-seen ids; in
    /// sentence mode a line break ends a non-empty sentence, and so does the end of the text.
    func reference(_ text: [UInt8], sentences: Bool) -> (words: [String], ids: [UInt32]) {
        var table: [String: UInt32] = [:]
        var words: [String] = []
        var ids: [UInt32] = []
        var inSentence = false
        var current: [UInt8] = []
        func flushWord() {
            defer { current.removeAll() }
            guard !current.isEmpty, current.count <= Tokenizer.maxTokenBytes else { return }
            let w = String(decoding: current, as: UTF8.self)
            let id = table[w] ?? { let n = UInt32(words.count); table[w] = n; words.append(w); return n }()
            ids.append(id)
            inSentence = true
        }
        for b in text {
            if b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 {
                flushWord()
                if b == 0x0A && sentences && inSentence { ids.append(Self.end); inSentence = false }
            } else {
                current.append(b)
            }
        }
        flushWord()
        if sentences && inSentence { ids.append(Self.end) }
        return (words, ids)
    }

    /// Lines of words from a small vocabulary, empty lines, and runs longer than the longest
    /// token kept, some longer than a whole block.
    func randomText(seed: UInt64, bytes: Int) -> [UInt8] {
        var rng = Word2VecRandom(seed: seed, worker: 0)
        var out: [UInt8] = []
        while out.count < bytes {
            let r = Int(rng.next() % 1000)
            if r < 5 {
                out += [UInt8](repeating: UInt8(ascii: "q"), count: Tokenizer.maxTokenBytes + 1 + Int(rng.next() % 9000))
                out.append(0x20)
            } else if r < 60 {
                out.append(0x0A)
            } else {
                out += Array("w\(rng.next() % 700)".utf8)
                out.append(r < 100 ? 0x09 : 0x20)
            }
        }
        return out
    }

    @Test(arguments: [false, true])
    func anyBlockSizeAndThreadCountGiveTheDefinition(sentences: Bool) throws {
        for seed: UInt64 in [1, 2] {
            let text = randomText(seed: seed, bytes: 300_000)
            let want = reference(text, sentences: sentences)
            for (blockBytes, threads) in [(2_002, 1), (4_096, 3), (65_537, 2), (Tokenizer.defaultBlockBytes, 1)] {
                let r = try text.withUnsafeBytes {
                    try Tokenizer(mode: .text8).tokenize($0, threads: threads, sentences: sentences, blockBytes: blockBytes)
                }
                defer { r.deallocate() }
                #expect(r.words == want.words, "block \(blockBytes), \(threads) thread(s)")
                #expect(r.idChunks.flatMap { Array($0) } == want.ids, "block \(blockBytes), \(threads) thread(s)")
                #expect(r.summary.sentenceCount == want.ids.filter { $0 == Self.end }.count)
                #expect(r.droppedLongTokenCount > 0)
            }
        }
    }

    @Test func emptyLinesMakeNoEmptySentences() throws {
        let r = try Array("\n\na b\n\n\n c \nd".utf8).withUnsafeBytes { try Tokenizer(mode: .normalize).tokenize($0, threads: 1, sentences: true) }
        defer { r.deallocate() }
        #expect(r.idChunks.flatMap { Array($0) } == [0, 1, Self.end, 2, Self.end, 3, Self.end])
        #expect(r.summary.sentenceCount == 3 && r.tokenCount == 4)
    }

    @Test func pruningKeepsTheTableBoundedAndTheCountsConsistent() throws {
        // Five frequent words among 20,000 words seen once.
        var text = ""
        var truth: [String: UInt64] = [:]
        for i in 0..<20_000 {
            let f = "f\(i % 5)"
            text += "\(f) h\(i) "
            truth[f, default: 0] += 1
        }
        let bytes = Array(text.utf8)
        let r = try bytes.withUnsafeBytes {
            try Tokenizer(mode: .text8).tokenize($0, threads: 2, maxTableWords: 500, blockBytes: 4_096)
        }
        defer { r.deallocate() }
        let s = r.summary
        #expect(s.prunedWords > 15_000)
        #expect(s.pruneRounds > 10)
        // The table stays within the limit plus one block's new words.
        #expect(s.peakTableWords < 500 + 4_096 / 3)
        // Every occurrence is in a live word's count or was pruned with its word.
        #expect(r.counts.reduce(0, +) + s.prunedTokens == UInt64(r.tokenCount))
        let ids = r.idChunks.flatMap { Array($0) }
        #expect(ids.allSatisfy { Int($0) < r.words.count })
        for (id, word) in r.words.enumerated() {
            if word.isEmpty { #expect(r.counts[id] == 0) }
        }
        // The frequent words were never pruned: their counts are exact and match the stream.
        for (f, n) in truth {
            let id = try #require(r.words.firstIndex(of: f))
            #expect(r.counts[id] == n)
            #expect(UInt64(ids.filter { $0 == UInt32(id) }.count) == n)
        }
        // build-vocab drops the pruned ids (count 0) whatever min_count.
        #expect(r.words.filter { !$0.isEmpty }.count < 500 + 4_096 / 3)
    }

    @Test func theTokenizeStageReportsPruning() throws {
        var text = ""
        for i in 0..<5_000 { text += "common w\(i) " }
        try write(text, "p.txt")
        let results = try run(try experiment(#"{"type": "read-text", "params": {"path": "p.txt"}}"#, tokenize: #"{"max_table_words": 100}"#))
        let r = try #require(results["tokens"]?.record)
        #expect(r.summary.contains("pruned"), "\(r.summary)")
        let t = try tokens(results)
        #expect(t.prunedWords > 4_000 && t.prunedTokens >= UInt64(t.prunedWords))
        let vocab = try Vocabulary(try store.open(try #require(results["vocab"]?.record.outputs["vocab"]?.digest),
                                                  kind: ArtifactKind.vocab, maxVersion: Vocabulary.formatVersion))
        #expect(vocab.words.strings().first == "common")
        #expect(!vocab.words.strings().contains(""))
    }

    // MARK: Older formats

    @Test func tokensFormatOneIsStillRead() throws {
        func u64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        func u32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        // tokenCount, wordCount, mode; counts; strings; ids.
        var bytes = u64(5) + u64(3) + u64(0) + [2, 2, 1].flatMap { u64($0) }
        bytes += u64(3) + [0, 1, 2, 3].flatMap { u64($0) } + Array("abc".utf8)
        while bytes.count % 8 != 0 { bytes.append(0) }
        bytes += [0, 1, 0, 2, 1].flatMap { u32($0) }
        let w = try store.makeWriter(kind: ArtifactKind.tokens, formatVersion: 1)
        try bytes.withUnsafeBytes { try w.write($0) }
        let t = try TokenStream(try store.open(try store.commit(w).digest, kind: ArtifactKind.tokens, maxVersion: TokenStream.formatVersion))
        #expect(words(t) == ["a", "b", "a", "c", "b"])
        #expect(t.tokenCount == 5 && !t.sentences && t.sentenceCount == 0)
        let built = try BuildVocabStage.build(tokens: t, minCount: 2, maxSize: nil)
        #expect(built.words == ["a", "b"])
    }

    @Test func textFormatOneIsStillRead() throws {
        let w = try store.makeWriter(kind: ArtifactKind.text, formatVersion: 1)
        try Array(" a b c".utf8).withUnsafeBytes { try w.write($0) }
        let text = try CorpusText(try store.open(try store.commit(w).digest, kind: ArtifactKind.text, maxVersion: CorpusText.formatVersion))
        #expect(text.manifest == nil)
        var bytes: [UInt8] = []
        try TextStreamer(text: text).stream(progress: { _ in }) { bytes += Array($0) }
        #expect(String(decoding: bytes, as: UTF8.self) == " a b c")
    }
}
