import Foundation
import Testing

@Suite("status exits 1 when it reports a corrupted artifact", .serialized)
struct StatusExitTests {
    /// Flips one byte in the middle of an object file of the store.
    func corrupt(_ digest: String, in project: URL) throws {
        let path = project.appendingPathComponent("artifacts/objects/\(digest.prefix(2))/\(digest.dropFirst(2))").path
        chmod(path, 0o644)
        let fh = try #require(FileHandle(forUpdatingAtPath: path))
        let size = try fh.seekToEnd()
        try fh.seek(toOffset: size / 2)
        let byte = try #require(try fh.read(upToCount: 1))
        try fh.seek(toOffset: size / 2)
        try fh.write(contentsOf: Data([byte[0] ^ 0xFF]))
        try fh.close()
    }

    @Test func corruptedOutputGivesExit1WithTheFullReport() throws {
        let project = try CLI.makeProject()
        defer { try? FileManager.default.removeItem(at: project) }
        #expect(try CLI.run(["run", "experiments/data-only.json", "-q"], cwd: project).status == 0)
        let fresh = try CLI.run(["status", "experiments/data-only.json"], cwd: project)
        #expect(fresh.status == 0)
        #expect(fresh.stdout.contains("all 4 stages fresh"))

        // Stale but intact stays 0: a changed parameter is not an error.
        let path = project.appendingPathComponent("experiments/data-only.json")
        let original = try String(contentsOf: path, encoding: .utf8)
        try original.replacingOccurrences(of: "\"min_count\": 5", with: "\"min_count\": 6").write(to: path, atomically: true, encoding: .utf8)
        #expect(try CLI.run(["status", "experiments/data-only.json"], cwd: project).status == 0)
        try original.write(to: path, atomically: true, encoding: .utf8)

        try corrupt(try #require(try CLI.digests(project)["vocab.vocab"]), in: project)
        for args in [["status", "experiments/data-only.json"], ["status", "experiments/data-only.json", "--verify"]] {
            let r = try CLI.run(args, cwd: project)
            #expect(r.status == 1, "\(args): \(r.stdout) \(r.stderr)")
            // The whole report is still printed: every stage, the corrupted one with its reason.
            #expect(r.stdout.contains("corpus"))
            #expect(r.stdout.contains("subsample"))
            #expect(r.stdout.contains("output `vocab` corrupted"))
            #expect(r.stdout.contains("stages stale"))
            #expect(r.stderr.contains("error: corrupted artifact in the store (stage vocab)"))
        }
        let json = try CLI.run(["status", "experiments/data-only.json", "--json"], cwd: project)
        #expect(json.status == 1)
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect((doc["stages"] as? [Any])?.count == 4)
        #expect(json.stdout.contains("output-corrupted"))

        // A run recomputes it; status is clean again.
        #expect(try CLI.run(["run", "experiments/data-only.json", "-q"], cwd: project).status == 0)
        #expect(try CLI.run(["status", "experiments/data-only.json"], cwd: project).status == 0)
    }
}
