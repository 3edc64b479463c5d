import Foundation
import Pipeline
import Testing

/// A static-file HTTP server on 127.0.0.1 (Python's http.server on a free port), stopped on deinit.
final class LocalHTTPServer {
    let process = Process()
    let port: Int

    init(serving directory: URL) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", directory.path]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        // "Serving HTTP on 127.0.0.1 port 41234 (http://127.0.0.1:41234/) ..."
        var text = ""
        let deadline = Date().addingTimeInterval(20)
        while !text.contains("\n"), Date() < deadline {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        guard let range = text.range(of: #"port (\d+)"#, options: .regularExpression),
              let port = Int(text[range].dropFirst(5)) else {
            kill(process.processIdentifier, SIGKILL)
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "http.server did not start: \(text)"])
        }
        self.port = port
    }

    func url(_ name: String) -> String { "http://127.0.0.1:\(port)/\(name)" }

    deinit {
        // SIGKILL: the test runner's children may inherit a mask that blocks SIGTERM.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

@Suite("w2v-pipe fetch: downloads checked before they are kept", .serialized)
struct FetchTests {
    /// A project whose experiment reads `data/remote/corpus.zip`, which is not there, from `url`.
    func project(url: String, extra: String = "") throws -> URL {
        let project = try CLI.makeProject()
        let json = """
        { "name": "remote",
          "stages": {
            "corpus": { "type": "unzip", "params": { "path": "../data/remote/corpus.zip", "member": "text8", "url": "\(url)"\(extra) } },
            "tokens": { "type": "tokenize", "inputs": { "text": "corpus.text" } } } }
        """
        try json.write(to: project.appendingPathComponent("experiments/remote.json"), atomically: true, encoding: .utf8)
        return project
    }

    func served() throws -> (URL, Data, String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("w2v-served-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let data = try Data(contentsOf: CLI.packageRoot.appendingPathComponent("data/en-small.zip"))
        try data.write(to: dir.appendingPathComponent("en-small.zip"))
        let digest = try CLI.python("import hashlib; print(hashlib.sha256(open('\(dir.path)/en-small.zip','rb').read()).hexdigest())")
        return (dir, data, digest)
    }

    /// Nothing at the destination and no temporary file beside it.
    func nothingLeft(_ project: URL) -> Bool {
        let dir = project.appendingPathComponent("data/remote").path
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).isEmpty
    }

    @Test func missingCorpusIsDownloadedCheckedAndThenUsed() throws {
        let (dir, data, digest) = try served()
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try LocalHTTPServer(serving: dir)
        let project = try project(url: server.url("en-small.zip"),
                                  extra: ", \"expected_bytes\": \(data.count), \"sha256\": \"\(digest)\"")
        defer { try? FileManager.default.removeItem(at: project) }

        let before = try CLI.run(["run", "experiments/remote.json"], cwd: project)
        #expect(before.status == 2) // found before any stage runs
        #expect(before.stderr.contains("w2v-pipe fetch experiments/remote.json"), "\(before.stderr)")

        let fetched = try CLI.run(["fetch", "experiments/remote.json", "--progress", "none"], cwd: project)
        #expect(fetched.status == 0, "\(fetched.stderr)")
        #expect(fetched.stdout.contains("downloaded \(Format.grouped(data.count)) bytes"), "\(fetched.stdout)")
        #expect(fetched.stdout.contains(digest))
        #expect(try Data(contentsOf: project.appendingPathComponent("data/remote/corpus.zip")) == data)
        #expect(try FileManager.default.contentsOfDirectory(atPath: project.appendingPathComponent("data/remote").path) == ["corpus.zip"])

        let again = try CLI.run(["fetch", "experiments/remote.json"], cwd: project)
        #expect(again.status == 0)
        #expect(again.stdout.contains("present, \(Format.grouped(data.count)) bytes, SHA-256 ok"), "\(again.stdout)")

        let run = try CLI.run(["run", "experiments/remote.json"], cwd: project)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("1,000,000 tokens"), "\(run.stdout)")
    }

    @Test func aDownloadThatDoesNotMatchIsRejectedAndLeavesNothing() throws {
        let (dir, data, digest) = try served()
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try LocalHTTPServer(serving: dir)

        let wrongDigest = String(repeating: "0", count: 64)
        let cases: [(String, String, String)] = [
            (server.url("en-small.zip"), ", \"sha256\": \"\(wrongDigest)\"", "SHA-256 of \(server.url("en-small.zip")) is \(digest), expected \(wrongDigest)"),
            (server.url("en-small.zip"), ", \"expected_bytes\": \(data.count + 1)", "gave \(Format.grouped(data.count)) bytes, expected \(Format.grouped(data.count + 1))"),
            (server.url("no-such.zip"), "", "HTTP 404"),
        ]
        for (url, extra, message) in cases {
            let project = try project(url: url, extra: extra)
            defer { try? FileManager.default.removeItem(at: project) }
            let r = try CLI.run(["fetch", "experiments/remote.json", "--progress", "none"], cwd: project)
            #expect(r.status == 1)
            #expect(r.stderr.contains(message), "\(r.stderr)")
            #expect(nothingLeft(project))
        }
    }

    @Test func aPresentFileThatDoesNotMatchIsReportedNotReplaced() throws {
        let project = try project(url: "http://127.0.0.1:9/unused.zip", extra: ", \"expected_bytes\": 5")
        defer { try? FileManager.default.removeItem(at: project) }
        let dest = project.appendingPathComponent("data/remote")
        try FileManager.default.createDirectory(at: dest, withIntermediateDirectories: true)
        try Data("abc".utf8).write(to: dest.appendingPathComponent("corpus.zip"))
        let r = try CLI.run(["fetch", "experiments/remote.json"], cwd: project)
        #expect(r.status == 1)
        #expect(r.stderr.contains("is 3 bytes, but stage `corpus` expects 5"), "\(r.stderr)")
        #expect(r.stderr.contains("--force"))
        #expect(try Data(contentsOf: dest.appendingPathComponent("corpus.zip")) == Data("abc".utf8))
    }

    @Test func anInterruptedDownloadLeavesNothing() throws {
        let (dir, _, _) = try served()
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try LocalHTTPServer(serving: dir)
        let dest = FileManager.default.temporaryDirectory.appendingPathComponent("w2v-fetch-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dest) }
        let source = RemoteSource(url: URL(string: server.url("en-small.zip"))!)
        #expect(throws: CancelledError.self) {
            try Downloader.fetch(source, to: dest.appendingPathComponent("corpus.zip"), isCancelled: { true })
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dest.path).isEmpty)
    }
}
