import Foundation
import Testing

/// The query commands read GloVe text files given with --vectors, detected or named.
@Suite("GloVe files in the query commands")
struct GloVeCLITests {
    /// Royal family in 5 dimensions: [male, female, royal, young, fruit].
    static let royal = """
    man 1 0 0 0 0
    woman 0 1 0 0 0
    king 1 0 1 0 0
    queen 0 1 1 0 0
    boy 1 0 0 1 0
    girl 0 1 0 1 0
    apple 0 0 0 0 1
    prince 1 0 1 1 0
    princess 0 1 1 1 0

    """

    func folder(_ files: [String: String]) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("w2v-glove-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (name, text) in files { try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        return dir
    }

    @Test func nearestAnalogyAndEvaluateReadAGloVeFile() throws {
        // Headerless with CRLF; glove.c's -write-header 1 layout (header + uncounted `<unk>` row).
        let crlf = Self.royal.replacingOccurrences(of: "\n", with: "\r\n")
        let header = "9 5\n" + Self.royal + "<unk> 0.2 0.2 0.2 0.2 0.2\n"
        let dir = try folder(["royal.glove.txt": crlf, "header.txt": header, "bad.txt": "a 1 2 3\nb 1 2 3\nc 1 2\n"])
        defer { try? FileManager.default.removeItem(at: dir) }

        for file in ["royal.glove.txt", "header.txt"] {
            let near = try CLI.run(["nearest", "king", "--vectors", file, "-k", "2"], cwd: dir)
            #expect(near.status == 0, "\(near.stderr)")
            #expect(near.stdout.contains("1. prince"), "\(near.stdout)")
            let analogy = try CLI.run(["analogy", "man", "king", "woman", "--vectors", file, "-k", "1"], cwd: dir)
            #expect(analogy.status == 0 && analogy.stdout.contains("1. queen"), "\(analogy.stdout)\(analogy.stderr)")
        }
        let named = try CLI.run(["nearest", "queen", "--vectors", "royal.glove.txt", "--vectors-format", "glove-text"], cwd: dir)
        #expect(named.status == 0, "\(named.stderr)")
        let eval = try CLI.run(["evaluate", "--vectors", "royal.glove.txt", "--json"], cwd: dir)
        #expect(eval.status == 0, "\(eval.stderr)")
        #expect(eval.stdout.contains("\"correctAdd\" : 12"), "\(eval.stdout.prefix(600))")
        // The header's count is the vocabulary: the `<unk>` row glove.c adds is not a word.
        let unk = try CLI.run(["nearest", "<unk>", "--vectors", "header.txt"], cwd: dir)
        #expect(unk.status == 1 && unk.stderr.contains("`<unk>` is not in the vocabulary"), "\(unk.stderr)")
        // Errors name the file and line.
        let bad = try CLI.run(["nearest", "a", "--vectors", "bad.txt"], cwd: dir)
        #expect(bad.status == 1, "\(bad.stderr)")
        #expect(bad.stderr.contains("bad.txt:3: word `c` has 2 numbers, expected 3 (the dimension of the first row)"), "\(bad.stderr)")
        // Named wrongly, or an unknown name.
        let wrong = try CLI.run(["nearest", "king", "--vectors", "royal.glove.txt", "--vectors-format", "word2vec-text"], cwd: dir)
        #expect(wrong.status == 1 && wrong.stderr.contains("read it as glove-text"), "\(wrong.stderr)")
        let unknown = try CLI.run(["nearest", "king", "--vectors", "royal.glove.txt", "--vectors-format", "glove"], cwd: dir)
        #expect(unknown.status != 0 && unknown.stderr.contains("use one of auto, word2vec-binary, word2vec-text, glove-text"), "\(unknown.stderr)")
    }
}
