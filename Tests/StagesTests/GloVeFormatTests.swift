import Foundation
import Pipeline
import Testing
@testable import Stages

/// GloVe's text vectors: no header, `word v1 … vD` per line. Read by detection or by name, written
/// by the export stage's `glove-text`, and the quirks of files in the wild (glove.c's
/// `-write-header 1` with its extra `<unk>` row, CRLF, numbers as words, words with spaces).
@Suite struct GloVeFormatTests {
    func sample() throws -> WordVectors {
        var g = SystemRandomNumberGenerator()
        // A number as the first word: the first line must not be taken for a header.
        let words = ["1", "the", "naïve", "東京", "</s>", "<unk>", "x1"]
        var v: [Float] = (0..<(words.count * 5)).map { _ in Float.random(in: -2...2, using: &g) }
        v[0] = 0; v[1] = -0.0; v[2] = 1e-30; v[3] = Float.leastNonzeroMagnitude; v[4] = Float.greatestFiniteMagnitude
        v[5] = 123456.79; v[6] = -1.1754944e-38
        return try WordVectors(words: words, dimension: 5, vectors: v)
    }

    /// Reads `text` (as bytes) and expects the error `kind` on `line` whose message has `fragment`.
    func expectError(_ bytes: [UInt8], format: VectorFileFormat = .auto, _ kind: Word2VecFormatError.Kind, line: Int,
                     _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let t = try TempDir(); defer { t.cleanup() }
        let p = try t.write("bad.glove.txt", bytes)
        do {
            let v = try Word2VecFormat.read(p, format: format)
            Issue.record("accepted \(v.words)", sourceLocation: sourceLocation)
        } catch let e as Word2VecFormatError {
            #expect(e.kind == kind, "\(e)", sourceLocation: sourceLocation)
            #expect(e.line == line && e.description.hasPrefix("\(p):\(line): "), "\(e)", sourceLocation: sourceLocation)
            #expect(e.description.contains(fragment), "\(e)", sourceLocation: sourceLocation)
        }
    }

    func expectError(_ text: String, format: VectorFileFormat = .auto, _ kind: Word2VecFormatError.Kind, line: Int,
                     _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        try expectError(Array(text.utf8), format: format, kind, line: line, fragment, sourceLocation: sourceLocation)
    }

    func read(_ text: String, format: VectorFileFormat = .auto) throws -> WordVectors {
        let t = try TempDir(); defer { t.cleanup() }
        return try Word2VecFormat.read(try t.write("v.txt", text), format: format)
    }

    // MARK: Writing and round trip

    @Test func writesGloVesLayout() throws {
        let t = try TempDir(); defer { t.cleanup() }
        let wv = try makeVectors([("a", [1, -0.5]), ("bb", [0.1, 3e-5])])
        try Word2VecFormat.writeGloVe(wv, to: t.file("g.txt"))
        #expect(String(decoding: try t.read("g.txt"), as: UTF8.self) == "a 1.0 -0.5\nbb 0.1 3e-05\n")
        try Word2VecFormat.writeGloVe(wv, to: t.file("n.txt"), normalize: true, limit: 1)
        #expect(String(decoding: try t.read("n.txt"), as: UTF8.self) == "a 0.8944272 -0.4472136\n")
        try Word2VecFormat.writeGloVe(wv, to: t.file("f.txt"), numberFormat: .fixed(6))
        #expect(String(decoding: try t.read("f.txt"), as: UTF8.self) == "a 1.000000 -0.500000\nbb 0.100000 0.000030\n")
        // Words that cannot be stored are refused, and no file is left behind.
        for bad in ["two words", "tab\there", "new\nline", ""] {
            let v = try makeVectors([("ok", [1, 2]), (bad, [3, 4])])
            #expect(throws: Word2VecFormatError.self) { try Word2VecFormat.writeGloVe(v, to: t.file("x")) }
            #expect(!FileManager.default.fileExists(atPath: t.file("x")))
        }
    }

    @Test func roundTripIsBitExact() throws {
        let t = try TempDir(); defer { t.cleanup() }
        let wv = try sample()
        try Word2VecFormat.writeGloVe(wv, to: t.file("v.glove.txt"))
        let text = String(decoding: try t.read("v.glove.txt"), as: UTF8.self)
        #expect(text.hasPrefix("1 0.0 -0.0 1e-30 1e-45 3.4028235e+38\nthe "))
        for back in [try Word2VecFormat.read(t.file("v.glove.txt")),
                     try Word2VecFormat.read(t.file("v.glove.txt"), format: .gloveText),
                     try Word2VecFormat.read(t.file("v.glove.txt"), binary: false)] {
            #expect(back.words == wv.words)
            #expect(back.dimension == 5)
            #expect(back.vectors.map(\.bitPattern) == wv.vectors.map(\.bitPattern))
            #expect(back.index["東京"] == 3 && back.index["<unk>"] == 5)
        }
        let top2 = try Word2VecFormat.read(t.file("v.glove.txt"), limit: 2)
        #expect(top2.words == ["1", "the"] && top2.vectors == Array(wv.vectors[0..<10]))
        let none = try Word2VecFormat.read(t.file("v.glove.txt"), limit: 0)
        #expect(none.count == 0 && none.dimension == 5)
        // Dimension 1 reads back when named (detection takes `word number` for a header).
        let one = try makeVectors([("a", [0.5]), ("b", [-2])])
        try Word2VecFormat.writeGloVe(one, to: t.file("one.txt"))
        #expect(try Word2VecFormat.read(t.file("one.txt"), format: .gloveText).vectors == [0.5, -2])
        #expect(throws: Word2VecFormatError.self) { try Word2VecFormat.read(t.file("one.txt")) }
    }

    /// The export stage through the engine: a tiny corpus, a tiny model, `format: glove-text`.
    @Test func exportStageWritesGloVeText() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("w2v-glove-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = String(repeating: " the king and the queen rule the land of the king", count: 40)
        try ZipFixtures.make(at: dir.appendingPathComponent("tiny.zip").path, [.init(name: "text8", content: Array(text.utf8))])
        let json = """
        {"name": "tiny", "stages": {
          "corpus": {"type": "unzip", "params": {"path": "tiny.zip"}},
          "tokens": {"type": "tokenize", "inputs": {"text": "corpus.text"}},
          "vocab": {"type": "build-vocab", "inputs": {"tokens": "tokens.tokens"}, "params": {"min_count": 1}},
          "subsample": {"type": "subsample", "inputs": {"vocab": "vocab.vocab"}},
          "train": {"type": "train", "inputs": {"tokens": "tokens.tokens", "vocab": "vocab.vocab", "subsample": "subsample.subsample"},
                    "params": {"dim": 6, "epochs": 1, "threads": 1, "seed": 3}},
          "export": {"type": "export", "inputs": {"embeddings": "train.embeddings"}, "params": {"format": "glove-text", "path": "out/v.glove.txt"}}
        }}
        """
        let url = dir.appendingPathComponent("tiny.json")
        try json.write(to: url, atomically: true, encoding: .utf8)
        let experiment = try ExperimentLoader.load(url, registry: Word2VecStages.registry)
        let store = try ArtifactStore(root: dir.appendingPathComponent("store"))
        let engine = Engine(store: store)
        engine.progressMode = .quiet
        var records: [String: RunRecord] = [:]
        for (stage, outcome) in try engine.run(experiment) {
            switch outcome { case .ran(let r), .reused(let r, _): records[stage.id] = r }
        }
        let trainRecord = try #require(records["train"])
        let digest = try #require(trainRecord.outputs["embeddings"]?.digest)
        let table = try EmbeddingTable(try store.open(digest, kind: "embeddings", maxVersion: 1))
        let n = table.words.strings().count
        #expect(n >= 7)
        let exportRecord = try #require(records["export"])
        #expect(exportRecord.summary.hasPrefix("glove-text: \(n) words × 6"), "\(exportRecord.summary)")
        let path = dir.appendingPathComponent("out/v.glove.txt").path
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == n)
        #expect(lines.allSatisfy { $0.split(separator: " ").count == 7 && !$0.hasSuffix(" ") })
        let back = try Word2VecFormat.read(path)
        #expect(back.words == table.words.strings())
        #expect(back.vectors.map(\.bitPattern) == Array(table.vectors).map(\.bitPattern))
    }

    // MARK: Detection

    @Test func headerlessFilesAreDetected() throws {
        // glove.c's own layout (` %lf` per number, no trailing space).
        let plain = try read("the 0.418000 0.249680 -0.412420\n, 0.013441 0.236820 -0.168990\nof 0.708530 0.570880 -0.471600\n")
        #expect(plain.words == ["the", ",", "of"] && plain.dimension == 3)
        #expect(plain.vectors[3...5] == [0.013441, 0.23682, -0.16899])
        // CRLF, trailing spaces and tabs, blank and whitespace-only last lines, no final newline,
        // tabs between numbers, a UTF-8 byte-order mark.
        let variants = [
            "the 1 2 3\r\nof 4 5 6\r\n",
            "the 1 2 3 \nof 4 5 6\t \n",
            "the 1 2 3\nof 4 5 6\n\n\n",
            "the 1 2 3\nof 4 5 6\n  \r\n\t\n",
            "the 1 2 3\nof 4 5 6",
            "the\t1\t2\t3\nof\t4 5  6\n",
            "\u{FEFF}the 1 2 3\nof 4 5 6\n",
        ]
        for text in variants {
            let v = try read(text)
            #expect(v.words == ["the", "of"] && v.vectors == [1, 2, 3, 4, 5, 6], "\(text.debugDescription)")
            #expect(try read(text, format: .gloveText).words == ["the", "of"], "\(text.debugDescription)")
        }
        // A byte-order mark before a word2vec header is skipped too.
        #expect(try read("\u{FEFF}2 3\nthe 1 2 3\nof 4 5 6\n").words == ["the", "of"])
    }

    @Test func aNumberAsTheFirstWordIsNotAHeader() throws {
        // Three fields: a row of the word `1`, never a header `V D`.
        let a = try read("1 0.5 0.25\n2 1 2\nthe 3 4\n")
        #expect(a.words == ["1", "2", "the"] && a.dimension == 2 && a.vectors == [0.5, 0.25, 1, 2, 3, 4])
        let b = try read("400000 100 50\n7 1 2\n")
        #expect(b.words == ["400000", "7"] && b.dimension == 2)
        let c = try read("-1 2 3 4\n+2 5 6 7\n")
        #expect(c.words == ["-1", "+2"] && c.dimension == 3)
        // Exactly two integers is a header: the rows that follow decide it.
        let w2v = try read("2 2\n3 1 2\n4 3 4\n")
        #expect(w2v.words == ["3", "4"] && w2v.dimension == 2)
        // Named glove-text, the same line is a row of dimension 1.
        let named = try read("2 2\n3 1\n", format: .gloveText)
        #expect(named.words == ["2", "3"] && named.vectors == [2, 1])
    }

    // MARK: glove.c -write-header 1 and <unk>

    @Test func writeHeaderWithItsExtraUnkRowIsReadAndTheUnkRowDropped() throws {
        // glove.c -write-header 1: the header counts the vocabulary, then `<unk>` follows.
        let files = [
            "3 2\na 0.100000 0.200000\nb 0.300000 0.400000\nc 0.500000 0.600000\n<unk> 0.300000 0.400000\n",
            "3 2\r\na 0.1 0.2\r\nb 0.3 0.4\r\nc 0.5 0.6\r\n<unk> 0.3 0.4\r\n",
            "3 2\na 0.1 0.2\nb 0.3 0.4\nc 0.5 0.6\n<unk> 0.3 0.4",
            "3 2\na 0.1 0.2\nb 0.3 0.4\nc 0.5 0.6\n<unk> 0.3 0.4\n\n \n",
            "3 2\na 0.1 0.2\nb 0.3 0.4\nc 0.5 0.6\n\n<unk>\t0.3\t0.4 \n",
        ]
        for text in files {
            for format in [VectorFileFormat.auto, .word2vecText] {
                let v = try read(text, format: format)
                #expect(v.words == ["a", "b", "c"], "\(text.debugDescription)")
                #expect(v.vectors == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
                #expect(v.index["<unk>"] == nil)
            }
        }
        // A vocabulary word `<unk>` counted by the header stays a word.
        #expect(try read("2 2\n<unk> 1 2\na 3 4\n").words == ["<unk>", "a"])
        // The extra row is checked like any other.
        try expectError("2 2\na 1 2\nb 3 4\n<unk> 1\n", .shortRow, line: 4, "word `<unk>` has 1 number, expected 2")
        try expectError("2 2\na 1 2\nb 3 4\n<unk> 1 nan\n", .notANumber, line: 4, "number 2 of word `<unk>`, `nan`, is NaN")
        // Any other surplus stays an error, at the first row too many.
        try expectError("2 2\na 1 2\nb 3 4\nc 5 6\n", .extraData, line: 4, "more rows than the 2 the header announces")
        try expectError("2 2\na 1 2\nb 3 4\n<unk> 5 6\nc 7 8\n", .extraData, line: 4, "more rows than the 2 the header announces")
        try expectError("2 2\na 1 2\nb 3 4\n<unk> 5 6\n<unk> 7 8\n", .extraData, line: 4, "more rows than the 2")
        try expectError("1 2\na 1 2\nb 3 4\n<unk> 5 6\n", .extraData, line: 3, "more rows than the 1")
        try expectError("2 2\na 1 2\nb 3 4\n<unk>x 5 6\n", .extraData, line: 4, "more rows than the 2")
        // Too few rows: the `<unk>` row is not special then.
        try expectError("3 2\na 1 2\n<unk> 5 6\n", .truncated, line: 4, "ends after 2 of the 3 rows")
        // The same in binary (glove.c writes no word2vec binary): still an error.
        let t = try TempDir(); defer { t.cleanup() }
        let bin = try t.write("v.bin", Array("1 2\na ".utf8) + le(1) + le(2) + [10] + Array("<unk> ".utf8) + le(1) + le(2) + [10])
        #expect { try Word2VecFormat.read(bin) } throws: { ($0 as? Word2VecFormatError)?.kind == .extraData }
    }

    @Test func headerlessUnkRowIsAWord() throws {
        // glove.c without -write-header: every row is a word, `<unk>` included (gensim's no_header=True).
        let v = try read("the 1 2 3\nof 4 5 6\n<unk> 2.5 3.5 4.5\n")
        #expect(v.words == ["the", "of", "<unk>"] && v.count == 3)
        #expect(Array(try #require(v.vector("<unk>"))) == [2.5, 3.5, 4.5])
        #expect(try read("the 1 2 3\r\nof 4 5 6\r\n<unk> 2.5 3.5 4.5\r\n\r\n").words == ["the", "of", "<unk>"])
    }

    // MARK: Errors

    @Test func mismatchedDimensionsNameTheLine() throws {
        try expectError("a 1 2 3\nb 1 2\n", .shortRow, line: 2, "word `b` has 2 numbers, expected 3 (the dimension of the first row); every row needs the same number of values")
        try expectError("a 1 2\nb 1 2 3\n", .longRow, line: 2, "word `b` has more than 2 numbers (the dimension of the first row)")
        try expectError("a 1 2\nb 3 4\r\nc 5\r\n", .shortRow, line: 3, "word `c` has 1 number, expected 2")
        try expectError("a 1 2\nb\n", .shortRow, line: 2, "word `b` has 0 numbers")
        try expectError("a 1 2\nb 1 2\nc 1 2 3\n", format: .gloveText, .longRow, line: 3, "fix or delete this row")
        // A header read as a row (glove-text named for a word2vec file) says so.
        try expectError("2 3\na 1 2 3\nb 4 5 6\n", format: .gloveText, .longRow, line: 2, "line 1 looks like a word2vec header")
    }

    @Test func otherBadFilesNameTheLineAndWhatToDo() throws {
        try expectError("a 1 2\nb 3 x\n", .notANumber, line: 2, "number 2 of word `b`, `x`, is not a number")
        try expectError("a 1 2\nb 3 4\na 5 6\n", .duplicateWord, line: 3, "duplicate word `a` (first on line 1); every word may appear only once: delete one of the two rows")
        try expectError("a 1 2\n\nb 3 4\n", .badWord, line: 2, "empty line")
        try expectError("a 1 2\n b 3 4\n", .badWord, line: 2, "found whitespace")
        // The first line is neither a header nor a row.
        try expectError("a 1 2 x\nb 1 2 3\n", .badHeader, line: 1, "neither a word2vec header `<vocabulary size> <dimension>` nor a GloVe row (a word, then its numbers): field 4, `x`, is not a number")
        try expectError("a 1 2 x\nb 1 2 3\n", format: .gloveText, .notANumber, line: 1, "number 3 of word `a`, `x`, is not a number")
        try expectError("athens greece baghdad iraq\n", .badHeader, line: 1, "field 2, `greece`, is not a number")
        // Dimension 1 is not detected; the message names the way out.
        try expectError("the 0.5\nof 0.25\n", .badHeader, line: 1, "must be read as glove-text")
        #expect(try read("the 0.5\nof 0.25\n", format: .gloveText).vectors == [0.5, 0.25])
        // Named word2vec-text, a GloVe file is told to be read as glove-text.
        try expectError("the 1 2 3\n", format: .word2vecText, .badHeader, line: 1, "read it as glove-text")
        // Empty files and rows without numbers.
        try expectError("", .badHeader, line: 1, "the file is empty")
        try expectError("", format: .gloveText, .truncated, line: 1, "the file is empty")
        try expectError("\n\n", format: .gloveText, .badWord, line: 1, "the first line is empty")
        try expectError("the\nof 1\n", format: .gloveText, .shortRow, line: 1, "word `the` has no numbers")
    }

    @Test(arguments: NonFiniteVectorTests.spellings)
    func nonFiniteValuesAreRefused(_ bad: String) throws {
        for format in [VectorFileFormat.auto, .gloveText] {
            try expectError("the 0.1 0.2 0.3\nof 1 \(bad) 2\nand 1 2 3\n", format: format, .notANumber, line: 2,
                            "number 2 of word `of`, `\(bad)`, is ")
            try expectError("the 0.1 0.2 0.3\r\nof 1 2 \(bad)\r\n", format: format, .notANumber, line: 2, "not a finite float")
            // In the first row (which detection reads) and in the last number of the file.
            try expectError("the \(bad) 1 2\nof 1 2 3\n", format: format, .notANumber, line: 1, "number 1 of word `the`")
            try expectError("the 0 1\nof 1 \(bad)", format: format, .notANumber, line: 2, "number 2 of word `of`")
            // A word with spaces (see below) does not change that.
            try expectError("the 0 1\n. . . 1 \(bad)\n", format: format, .notANumber, line: 2, "number 2 of word `. . .`")
        }
    }

    // MARK: Words

    @Test func nonASCIIWordsAndInvalidUTF8() throws {
        let v = try read("été 1 2\n東京 3 4\nnaïve 5 6\n🙂 7 8\n")
        #expect(v.words == ["été", "東京", "naïve", "🙂"])
        // Bytes that are not UTF-8 read as U+FFFD without trouble ...
        let one = Array("ok 1 2\nab".utf8) + [0xC3] + Array(" 3 4\n".utf8)
        let t = try TempDir(); defer { t.cleanup() }
        let w = try Word2VecFormat.read(try t.write("u.txt", one))
        #expect(w.words == ["ok", "ab\u{FFFD}"])
        // ... and two different such spellings that read the same are named as the likely cause.
        let two = Array("ab".utf8) + [0xC3] + Array(" 1 2\nab".utf8) + [0xFF] + Array(" 3 4\n".utf8)
        try expectError(two, .duplicateWord, line: 2, "bytes that are not UTF-8")
    }

    /// glove.840B.300d has a few rows whose word contains spaces (`. . .`, `at name@domain.com`).
    @Test func wordsWithSpacesAreReadFromTheRight() throws {
        let v = try read("the 0.1 0.2\n. . . 0.3 0.4\nat name@domain.com 0.5 0.6\nx  y\t0.7 0.8\n")
        #expect(v.words == ["the", ". . .", "at name@domain.com", "x  y"])
        #expect(v.vectors == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
        // Not when the second field is a number: that is a row with too many numbers.
        try expectError("the 0.1 0.2\nof 1 2 3\n", .longRow, line: 2, "word `of` has more than 2 numbers")
        // Not when the fields after the word are too few or not numbers.
        try expectError("the 0.1 0.2\nx y 1\n", .notANumber, line: 2, "number 1 of word `x`, `y`, is not a number")
        try expectError("the 0.1 0.2\nx y 1 z\n", .notANumber, line: 2, "number 1 of word `x`, `y`")
        // Not in word2vec files (with a header), as in gensim.
        try expectError("2 2\nthe 0.1 0.2\n. . . 0.3 0.4\n", .notANumber, line: 3, "number 1 of word `.`, `.`, is not a number")
        // The first row fixes the dimension, so its word must be a plain one.
        try expectError(". . . 0.3 0.4\nthe 0.1 0.2\n", .badHeader, line: 1, "field 2, `.`, is not a number")
    }

    // MARK: Any input

    /// Mangled GloVe, glove.c -write-header and word2vec files, read in every format: each read
    /// returns vectors or throws `Word2VecFormatError`, never traps.
    @Test func mangledFilesNeverTrap() throws {
        let t = try TempDir(); defer { t.cleanup() }
        let seeds: [[UInt8]] = [
            Array("the 0.1 0.2 0.3\n1 4 5 6\n. . . 7 8 9\n<unk> 1 1 1\n".utf8),
            Array("2 3\r\nthe 0.1 0.2 0.3\r\nof 4 5 6\r\n<unk> 1 1 1\r\n".utf8),
            Array("\u{FEFF}1 2 3\n2 2\n".utf8),
            Array("2 2\na ".utf8) + le(1) + le(2) + [10] + Array("b ".utf8) + le(3) + le(.nan) + [10],
        ]
        let pieces: [[UInt8]] = [[32], [10], [13, 10], [9], [0], [0xFF], [0xC3], Array("nan".utf8), Array("<unk>".utf8),
                                 Array("1e99".utf8), Array("-".utf8), Array("2 2".utf8), Array("0x1p3".utf8), Array("nan(".utf8)]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ n: Int) -> Int {  // SplitMix64: the same cases on every run
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(max(1, n)))
        }
        for round in 0..<400 {
            var bytes = seeds[round % seeds.count]
            for _ in 0...next(3) {
                switch next(4) {
                case 0: if !bytes.isEmpty { bytes[next(bytes.count)] = UInt8(truncatingIfNeeded: next(256)) }
                case 1: bytes.insert(contentsOf: pieces[next(pieces.count)], at: next(bytes.count + 1))
                case 2: bytes = Array(bytes.prefix(next(bytes.count + 1)))
                default: if !bytes.isEmpty { bytes.remove(at: next(bytes.count)) }
                }
            }
            let p = try t.write("m.txt", bytes)
            for format in VectorFileFormat.allCases {
                for limit in [nil, 1] as [Int?] {
                    do {
                        let v = try Word2VecFormat.read(p, format: format, limit: limit)
                        #expect(v.vectors.count == v.count * v.dimension && v.vectors.allSatisfy(\.isFinite))
                    } catch is Word2VecFormatError {
                    } catch {
                        Issue.record("\(bytes): \(format): \(error)")
                    }
                }
            }
        }
    }
}
