import Foundation
import Testing

/// A stage's error names the data it is about (the archive and member its input came from) and
/// what to do; giant tokens are dropped and counted.
@Suite("stage errors name their input")
struct StageErrorTests {
    func project(_ content: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("w2v-err-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        _ = try CLI.python("""
        import zipfile
        with zipfile.ZipFile('\(dir.path)/c.zip', 'w', zipfile.ZIP_DEFLATED) as z:
            z.writestr('text8', \(content))
        """)
        try #"""
        {"stages": {"corpus": {"type": "unzip", "params": {"path": "c.zip", "member": "text8"}},
                    "tokens": {"type": "tokenize", "inputs": {"text": "corpus.text"}},
                    "vocab": {"type": "build-vocab", "inputs": {"tokens": "tokens.tokens"}, "params": {"min_count": 5}}}}
        """#.write(to: dir.appendingPathComponent("e.json"), atomically: true, encoding: .utf8)
        return dir
    }

    @Test func emptyCorpusNamesTheArchiveAndMember() throws {
        let dir = try project("' ' * 1000")
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["run", "e.json", "--progress", "none"], cwd: dir)
        #expect(r.status == 1)
        #expect(r.stderr.contains("found no words in 1,000 bytes"), "\(r.stderr)")
        #expect(r.stderr.contains("input `text` ← stage `corpus` (unzip) reading c.zip, member \"text8\""), "\(r.stderr)")
    }

    @Test func emptyVocabularyNamesTheArchiveAndWhatToDo() throws {
        let dir = try project("' a b c a b '")
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["run", "e.json", "--progress", "none"], cwd: dir)
        #expect(r.status == 1)
        #expect(r.stderr.contains("lower min_count"), "\(r.stderr)")
        #expect(r.stderr.contains("← stage `corpus` (unzip) reading c.zip, member \"text8\""), "\(r.stderr)")
    }

    @Test func giantTokensAreDroppedAndCounted() throws {
        // 3 MB without a separator (random letters, so it does not compress like a zip bomb).
        let dir = try project("' '.join(['the cat sat'] * 20) + ' ' + ''.join(__import__('random').Random(1).choices('abcdefghij', k=3_000_000)) + ' ' + ' '.join(['the cat sat'] * 20)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["run", "e.json", "--progress", "none"], cwd: dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("120 tokens, 3 distinct words"), "\(r.stdout)")
        #expect(r.stdout.contains("dropped 1 token(s) longer than 1,000 bytes"), "\(r.stdout)")
    }
}
