import Foundation
import Testing

/// A folder of text files, one sentence a line, through the real binary: checked before any
/// stage runs (a folder is fine for read-text, not for unzip), tokenized in sentence mode,
/// trained on, and rerun only when a file moves or changes.
@Suite("corpora from folders through the CLI")
struct CorpusCLITests {
    func project() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("w2v-corpus-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("texts/more"), withIntermediateDirectories: true)
        var lines: [String] = []
        for i in 0..<400 { lines.append("the cat sat on mat number \(i % 7) and the dog ran") }
        try lines.joined(separator: "\n").write(to: dir.appendingPathComponent("texts/a.txt"), atomically: true, encoding: .utf8)
        try lines.reversed().joined(separator: "\n").write(to: dir.appendingPathComponent("texts/more/b.txt"), atomically: true, encoding: .utf8)
        try """
        {"name": "folder", "stages": {
          "text": {"type": "read-text", "params": {"path": "texts"}},
          "tokens": {"type": "tokenize", "inputs": {"text": "text.text"}, "params": {"format": "normalize", "sentences": "lines"}},
          "vocab": {"type": "build-vocab", "inputs": {"tokens": "tokens.tokens"}, "params": {"min_count": 2}},
          "subsample": {"type": "subsample", "inputs": {"vocab": "vocab.vocab"}},
          "train": {"type": "train", "inputs": {"tokens": "tokens.tokens", "vocab": "vocab.vocab", "subsample": "subsample.subsample"},
                    "params": {"dim": 8, "epochs": 1, "threads": 1}}
        }}
        """.write(to: dir.appendingPathComponent("e.json"), atomically: true, encoding: .utf8)
        return dir
    }

    @Test func aFolderOfLinesTrainsAndRerunsOnlyWhatChanged() throws {
        let dir = try project()
        defer { try? FileManager.default.removeItem(at: dir) }
        let first = try CLI.run(["run", "e.json", "--progress", "none"], cwd: dir)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("2 files: "), "\(first.stdout)")
        #expect(first.stdout.contains("in 800 sentences"), "\(first.stdout)")
        #expect(first.stdout.contains("sgns 1 epoch(s)"), "\(first.stdout)")
        let again = try CLI.run(["run", "e.json", "--progress", "none"], cwd: dir)
        #expect(again.status == 0 && again.stdout.contains("all 5 stages up to date"), "\(again.stdout)")
        // A new file in the folder changes its content digest: the chain reruns from read-text.
        try "a new line here\n".write(to: dir.appendingPathComponent("texts/more/c.txt"), atomically: true, encoding: .utf8)
        let status = try CLI.run(["status", "e.json"], cwd: dir)
        #expect(status.stdout.contains("input file changed"), "\(status.stdout)")
        let third = try CLI.run(["run", "e.json", "--progress", "none"], cwd: dir)
        #expect(third.status == 0 && third.stdout.contains("3 files: ") && third.stdout.contains("in 801 sentences"), "\(third.stdout)")
    }

    @Test func aFolderIsRefusedWhereAFileIsNeeded() throws {
        let dir = try project()
        defer { try? FileManager.default.removeItem(at: dir) }
        try """
        {"stages": {"corpus": {"type": "unzip", "params": {"path": "texts"}},
                    "tokens": {"type": "tokenize", "inputs": {"text": "corpus.text"}}}}
        """.write(to: dir.appendingPathComponent("bad.json"), atomically: true, encoding: .utf8)
        let r = try CLI.run(["run", "bad.json", "--progress", "none"], cwd: dir)
        #expect(r.status == 2)
        #expect(r.stderr.contains("stages.corpus.params.path") && r.stderr.contains("is a folder"), "\(r.stderr)")
    }
}
