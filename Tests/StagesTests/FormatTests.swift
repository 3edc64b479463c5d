import Foundation
import Testing
@testable import Stages

@Suite struct FormatTests {
    func sample() throws -> WordVectors {
        var g = SystemRandomNumberGenerator()
        let words = ["</s>", "the", "naïve", "king", "queen", "x1"]
        var v: [Float] = (0..<(words.count * 7)).map { _ in Float.random(in: -2...2, using: &g) }
        // Awkward values: zero, negative zero, tiny, subnormal, huge, long mantissas.
        v[0] = 0; v[1] = -0.0; v[2] = 1e-30; v[3] = Float.leastNonzeroMagnitude
        v[4] = Float.greatestFiniteMagnitude; v[5] = 123456.79; v[6] = -1.1754944e-38
        return try WordVectors(words: words, dimension: 7, vectors: v)
    }

    @Test func binaryRoundTripIsBitExact() throws {
        let t = try TempDir(); defer { t.cleanup() }
        let wv = try sample()
        try Word2VecFormat.write(wv, to: t.file("v.bin"), binary: true)
        for binary in [nil, true] as [Bool?] {
            let back = try Word2VecFormat.read(t.file("v.bin"), binary: binary)
            #expect(back.words == wv.words)
            #expect(back.vectors.map(\.bitPattern) == wv.vectors.map(\.bitPattern))
        }
        let top2 = try Word2VecFormat.read(t.file("v.bin"), limit: 2)
        #expect(top2.words == ["</s>", "the"] && top2.vectors == Array(wv.vectors[0..<14]))
    }

    @Test func textRoundTrip() throws {
        let t = try TempDir(); defer { t.cleanup() }
        let wv = try sample()
        try Word2VecFormat.write(wv, to: t.file("v.txt"), binary: false)
        let back = try Word2VecFormat.read(t.file("v.txt"))
        #expect(back.words == wv.words)
        #expect(back.vectors.map(\.bitPattern) == wv.vectors.map(\.bitPattern))  // shortest repr is exact

        // word2vec.c's %lf: within half a unit of the 6th decimal (+ float rounding).
        let small = try WordVectors(words: wv.words, dimension: 7, vectors: wv.vectors.map { $0 > 1e6 ? 1e6 : $0 })
        try Word2VecFormat.write(small, to: t.file("v6.txt"), binary: false, numberFormat: .fixed(6))
        let b6 = try Word2VecFormat.read(t.file("v6.txt"), binary: false)
        for (x, y) in zip(small.vectors, b6.vectors) {
            #expect(abs(x - y) <= 5e-7 + x.ulp, "\(x) vs \(y)")
        }
    }

    @Test func exactLayouts() throws {
        let t = try TempDir(); defer { t.cleanup() }
        let wv = try makeVectors([("a", [1, -0.5]), ("bb", [0.1, 3e-5])])
        try Word2VecFormat.write(wv, to: t.file("b.bin"), binary: true)
        #expect(try t.read("b.bin") == Array("2 2\na ".utf8) + le(1) + le(-0.5) + [10] + Array("bb ".utf8) + le(0.1) + le(3e-5) + [10])
        try Word2VecFormat.write(wv, to: t.file("t.txt"), binary: false, numberFormat: .fixed(6))
        #expect(String(decoding: try t.read("t.txt"), as: UTF8.self) == "2 2\na 1.000000 -0.500000 \nbb 0.100000 0.000030 \n")
        try Word2VecFormat.write(wv, to: t.file("s.txt"), binary: false)
        #expect(String(decoding: try t.read("s.txt"), as: UTF8.self) == "2 2\na 1.0 -0.5 \nbb 0.1 3e-05 \n")
        // Top-N and unit rows.
        try Word2VecFormat.write(wv, to: t.file("n.txt"), binary: false, normalize: true, limit: 1)
        #expect(String(decoding: try t.read("n.txt"), as: UTF8.self).hasPrefix("1 2\na 0.8944272 -0.4472136 \n"))
        // Words that cannot be stored are refused.
        let bad = try makeVectors([("two words", [1])])
        #expect(throws: Word2VecFormatError.self) { try Word2VecFormat.write(bad, to: t.file("x"), binary: true) }
        #expect(!FileManager.default.fileExists(atPath: t.file("x")))
    }

    @Test func fixedFormattingMatchesPrintf() throws {
        let t = try TempDir(); defer { t.cleanup() }
        var g = SystemRandomNumberGenerator()
        var vals: [Float] = [0, -0.0, 0.5, 1.5, 2.5, -2.5, 0.0000005, 0.0000015, 1e-7, -1e-7, 1e20, 3.4e38, .infinity, -.infinity]
        for _ in 0..<2000 {
            let e = Float.random(in: -8...8, using: &g)
            vals.append(Float.random(in: -1...1, using: &g) * pow(10, e))
        }
        let wv = try WordVectors(words: vals.indices.map { "w\($0)" }, dimension: 1, vectors: vals)
        for p in [0, 3, 6, 8, 10] {
            try Word2VecFormat.write(wv, to: t.file("f.txt"), binary: false, numberFormat: .fixed(p))
            let lines = String(decoding: try t.read("f.txt"), as: UTF8.self).split(separator: "\n").dropFirst()
            for (x, line) in zip(vals, lines) {
                let expected = String(format: "%.\(p)f", Double(x))
                #expect(line.split(separator: " ")[1] == expected, "p=\(p) x=\(x)")
            }
        }
    }

    @Test func projectorTSV() throws {
        let t = try TempDir(); defer { t.cleanup() }
        let wv = try makeVectors([("a", [1.5, -2]), ("b", [0.25, 3]), ("c", [0, 0])])
        try ProjectorTSV.write(wv, vectorsPath: t.file("vectors.tsv"), metadataPath: t.file("metadata.tsv"))
        #expect(String(decoding: try t.read("vectors.tsv"), as: UTF8.self) == "1.5\t-2.0\n0.25\t3.0\n0.0\t0.0\n")
        #expect(String(decoding: try t.read("metadata.tsv"), as: UTF8.self) == "a\nb\nc\n")
        try ProjectorTSV.write(wv, vectorsPath: t.file("v2.tsv"), metadataPath: t.file("m2.tsv"), normalize: true, limit: 1)
        #expect(String(decoding: try t.read("v2.tsv"), as: UTF8.self) == "0.6\t-0.8\n")
        #expect(String(decoding: try t.read("m2.tsv"), as: UTF8.self) == "a\n")
    }

    @Test func readsGensimAndFastTextFlavours() throws {
        let t = try TempDir(); defer { t.cleanup() }
        // gensim binary: no newline after each row.
        let gb = try t.write("g.bin", Array("2 2\n".utf8) + Array("a ".utf8) + le(1) + le(2) + Array("b ".utf8) + le(3) + le(-4))
        let v1 = try Word2VecFormat.read(gb)
        #expect(v1.words == ["a", "b"] && v1.vectors == [1, 2, 3, -4])
        // gensim text: no trailing space; fastText: trailing space; CRLF; no final newline.
        let gt = try t.write("g.txt", "2 3\nthe 0.1 -2e-3 5\nof 1E2 +3.5 -0.0")
        let v2 = try Word2VecFormat.read(gt)
        #expect(v2.words == ["the", "of"] && v2.vectors == [0.1, -0.002, 5, 100, 3.5, 0])
        let ft = try t.write("f.vec", "2 2 \r\n</s> 0.5 0.25 \r\nété 1 2 \r\n")
        let v3 = try Word2VecFormat.read(ft)
        #expect(v3.words == ["</s>", "été"] && v3.vectors == [0.5, 0.25, 1, 2])
        // Long mantissas take the strtof path (nan/inf are refused: see NonFiniteVectorTests).
        let lt = try t.write("l.txt", "1 3\nw 0.1234567890123 -7.5e+1 1.17549435e-38\n")
        let v4 = try Word2VecFormat.read(lt)
        #expect(v4.vectors == [0.1234567890123, -75, Float.leastNormalMagnitude])
    }

    func expectTextError(_ text: String, _ kind: Word2VecFormatError.Kind, line: Int, _ fragment: String,
                         sourceLocation: SourceLocation = #_sourceLocation) throws {
        let t = try TempDir(); defer { t.cleanup() }
        let p = try t.write("bad.txt", text)
        #expect(sourceLocation: sourceLocation) {
            try Word2VecFormat.read(p)
        } throws: { e in
            let e = e as! Word2VecFormatError
            return e.kind == kind && e.line == line && e.description.hasPrefix("\(p):\(line): ") && e.description.contains(fragment)
        }
    }

    @Test func badTextFilesNameTheLine() throws {
        try expectTextError("abc def\nw 1 2\n", .badHeader, line: 1, "bad header `abc def`")
        try expectTextError("2\nw 1 2\n", .badHeader, line: 1, "<vocabulary size> <dimension>")
        try expectTextError("2 3\na 1 2 3\nb 1 2\n", .shortRow, line: 3, "word `b` has 2 numbers, expected 3")
        try expectTextError("2 3\na 1 2 3\nb 1 x 3\n", .notANumber, line: 3, "number 2 of word `b`, `x`, is not a number")
        try expectTextError("2 3\na 1 2 3\nb 1 2.5e 3\n", .notANumber, line: 3, "`2.5e`")
        try expectTextError("2 3\na 1 2 3\nb 1 2abc 3\n", .notANumber, line: 3, "`2abc`")
        try expectTextError("2 3\na 1 2 3\na 4 5 6\n", .duplicateWord, line: 3, "duplicate word `a` (first on line 2)")
        try expectTextError("1 2\na 1 2 3\n", .longRow, line: 2, "more than 2 numbers")
        try expectTextError("3 2\na 1 2\nb 3 4\n", .truncated, line: 4, "ends after 2 of the 3 rows")
        try expectTextError("1 2\na 1 2\nb 3 4\n", .extraData, line: 3, "more rows than the 1")
        try expectTextError("2 2\na 1 2\n\nb 3 4\n", .badWord, line: 3, "empty line")
    }

    @Test func badBinaryFilesNameTheByteOffset() throws {
        let t = try TempDir(); defer { t.cleanup() }
        let wv = try makeVectors([("a", [1, 2, 3]), ("b", [4, 5, 6])])
        try Word2VecFormat.write(wv, to: t.file("ok.bin"), binary: true)
        let ok = try t.read("ok.bin")
        // Layout: "2 3\n" (0..<4), "a " (4..<6), 12 bytes, "\n" (18), "b " (19..<21), floats at 21.
        let cut = try t.write("cut.bin", Array(ok.dropLast(6)))
        #expect {
            try Word2VecFormat.read(cut)
        } throws: { e in
            let e = e as! Word2VecFormatError
            return e.kind == .truncated && e.byteOffset == 21 && e.description.contains("at byte offset 21")
                && e.description.contains("needs 12 bytes of float32 data but only 7 remain")
        }
        let noRow = try t.write("norow.bin", Array(ok.prefix(19)) + Array("b".utf8))
        #expect { try Word2VecFormat.read(noRow, binary: true) } throws: { e in
            (e as! Word2VecFormatError).kind == .truncated && (e as! Word2VecFormatError).byteOffset == 19
        }
        var dupBytes = ok
        dupBytes[19] = UInt8(ascii: "a")
        let dup = try t.write("dup.bin", dupBytes)
        #expect { try Word2VecFormat.read(dup) } throws: { e in
            let e = e as! Word2VecFormatError
            return e.kind == .duplicateWord && e.byteOffset == 19 && e.description.contains("duplicate word `a`")
        }
        let missing = try t.write("missing.bin", Array("3 3\n".utf8) + Array(ok.dropFirst(4)))
        #expect { try Word2VecFormat.read(missing, binary: true) } throws: { e in
            let e = e as! Word2VecFormatError
            return e.kind == .truncated && e.byteOffset == 34 && e.description.contains("after 2 of the 3 rows")
        }
        let badHeader = try t.write("bh.bin", Array("x 3\n".utf8) + Array(ok.dropFirst(4)))
        #expect { try Word2VecFormat.read(badHeader) } throws: { e in
            (e as! Word2VecFormatError).kind == .badHeader && (e as! Word2VecFormatError).line == 1
        }
        #expect { try Word2VecFormat.read(t.file("absent.bin")) } throws: { e in
            (e as! Word2VecFormatError).kind == .cannotOpen
        }
    }
}
