import Foundation
import Testing

@Suite("gc never removes live artifacts behind a damaged ref or run record", .serialized)
struct GCSafetyTests {
    /// Every object file in the store, relative to objects/.
    func objects(_ project: URL, store: String = "artifacts") throws -> Set<String> {
        let dir = project.appendingPathComponent("\(store)/objects")
        var out = Set<String>()
        for prefix in try FileManager.default.contentsOfDirectory(atPath: dir.path) {
            for rest in try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent(prefix).path) { out.insert(prefix + rest) }
        }
        return out
    }

    @Test func aDamagedRefBlocksGCUntilForced() throws {
        let project = try CLI.makeProject()
        defer { try? FileManager.default.removeItem(at: project) }
        #expect(try CLI.run(["run", "experiments/data-only.json", "-q"], cwd: project).status == 0)
        let digests = try CLI.digests(project)
        let before = try objects(project)
        #expect(before.count == 4)
        #expect(Set(digests.values) == before)

        // A ref cut short (a full disk, a crash in an editor): the vocab stage's only reference.
        let ref = project.appendingPathComponent("artifacts/refs/data-only/vocab.json")
        let text = try Data(contentsOf: ref)
        try text.prefix(text.count / 2).write(to: ref)

        for args in [["gc"], ["gc", "--dry-run"]] {
            let r = try CLI.run(args, cwd: project)
            #expect(r.status == 1, "\(args): \(r.stdout) \(r.stderr)")
            #expect(r.stderr.contains("artifacts/refs/data-only/vocab.json: cannot decode"), "\(r.stderr)")
            #expect(r.stderr.contains("nothing was removed"))
            #expect(r.stderr.contains("w2v-pipe run"))
            #expect(r.stderr.contains("gc --force"))
            #expect(!r.stdout.contains("remove"))
            #expect(try objects(project) == before)
        }

        // A run record that is not JSON at all blocks gc too, and both files are named.
        let runs = project.appendingPathComponent("artifacts/runs")
        let record = try #require(try FileManager.default.contentsOfDirectory(atPath: runs.path).sorted().first)
        try Data("not json".utf8).write(to: runs.appendingPathComponent(record))
        let both = try CLI.run(["gc"], cwd: project)
        #expect(both.status == 1)
        #expect(both.stderr.contains("2 refs or run records cannot be read"))
        #expect(both.stderr.contains("artifacts/runs/\(record): cannot decode"))
        #expect(try objects(project) == before)

        // --force after looking: the damaged ref counts as absent, so only the vocab artifact goes.
        let forced = try CLI.run(["gc", "--force"], cwd: project)
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(forced.stderr.contains("warning: --force: treating 2 unreadable files as absent"))
        #expect(forced.stdout.contains("removed 1 objects"))
        let vocab = try #require(digests["vocab.vocab"])
        #expect(try objects(project) == before.subtracting([vocab]))
        #expect(FileManager.default.fileExists(atPath: ref.path)) // left for the user to look at
    }

    @Test func rerunningRepairsTheRefAndGCProceeds() throws {
        let project = try CLI.makeProject()
        defer { try? FileManager.default.removeItem(at: project) }
        #expect(try CLI.run(["run", "experiments/data-only.json", "-q"], cwd: project).status == 0)
        let before = try objects(project)
        try Data().write(to: project.appendingPathComponent("artifacts/refs/data-only/subsample.json"))
        let refused = try CLI.run(["gc"], cwd: project)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("subsample.json: cannot decode: the file is empty"))
        // The advice works: the rerun reuses every stage and rewrites the ref.
        let rerun = try CLI.run(["run", "experiments/data-only.json"], cwd: project)
        #expect(rerun.status == 0)
        #expect(!rerun.stdout.contains("ran in"))
        let gc = try CLI.run(["gc"], cwd: project)
        #expect(gc.status == 0, "\(gc.stderr)")
        #expect(gc.stdout.contains("removed 0 objects"))
        #expect(try objects(project) == before)
    }
}
