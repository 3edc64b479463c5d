import Foundation

/// Runs the real `w2v-pipe` binary built beside the test bundle.
enum CLI {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var binary: URL {
        // CI points the end-to-end tests at the release binary it built (the kernels run ~100×
        // slower unoptimised, and the Slurm test trains for real).
        if let path = ProcessInfo.processInfo.environment["W2V_PIPE_TEST_BINARY"], !path.isEmpty {
            return URL(fileURLWithPath: path, relativeTo: packageRoot)
        }
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("w2v-pipe")
        if FileManager.default.isExecutableFile(atPath: beside.path) { return beside }
        return packageRoot.appendingPathComponent(".build/debug/w2v-pipe")
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func start(_ args: [String], cwd: URL) throws -> (Process, Pipe, Pipe) {
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        p.currentDirectoryURL = cwd
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "W2V_PIPE_STORE")
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        return (p, out, err)
    }

    @discardableResult
    static func run(_ args: [String], cwd: URL) throws -> Result {
        let (p, out, err) = try start(args, cwd: cwd)
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    /// A scratch project: experiments/ and data/ copied from the repo, its own store.
    static func makeProject() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("w2v-cli-\(UUID().uuidString)")
        let fm = FileManager.default
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        try fm.copyItem(at: packageRoot.appendingPathComponent("experiments"), to: dir.appendingPathComponent("experiments"))
        try fm.createDirectory(at: dir.appendingPathComponent("data"), withIntermediateDirectories: true)
        try fm.copyItem(at: packageRoot.appendingPathComponent("data/en-small.zip"), to: dir.appendingPathComponent("data/en-small.zip"))
        try fm.copyItem(at: packageRoot.appendingPathComponent("data/eval"), to: dir.appendingPathComponent("data/eval"))
        // The quickstart's four data stages: quick in a debug build.
        try fm.copyItem(at: packageRoot.appendingPathComponent("Tests/CLITests/data-only.json"), to: dir.appendingPathComponent("experiments/data-only.json"))
        return dir
    }

    /// `makeProject()` plus `data/slice.zip`: the first `words` words of the sample, one member
    /// `text8` (small enough for debug-build tests that train).
    static func makeSliceProject(words: Int) throws -> URL {
        let dir = try makeProject()
        _ = try python("""
        import zipfile
        words = zipfile.ZipFile('\(dir.path)/data/en-small.zip').read('text8').decode().split()[:\(words)]
        with zipfile.ZipFile('\(dir.path)/data/slice.zip', 'w', zipfile.ZIP_DEFLATED) as z:
            z.writestr('text8', ' ' + ' '.join(words))
        """)
        return dir
    }

    /// The data stages on `data/slice.zip` (unzip, tokenize, build-vocab with min_count 5,
    /// subsample), as entries of a Python dict literal for an experiment's "stages".
    static let sliceDataStages = """
      "corpus": {"type": "unzip", "params": {"path": "../data/slice.zip"}},
      "tokens": {"type": "tokenize", "inputs": {"text": "corpus.text"}},
      "vocab": {"type": "build-vocab", "inputs": {"tokens": "tokens.tokens"}, "params": {"min_count": 5}},
      "subsample": {"type": "subsample", "inputs": {"vocab": "vocab.vocab"}},
    """

    /// stage id → output digests, from `status --json`.
    static func digests(_ project: URL, _ experiment: String = "experiments/data-only.json", store: String = "artifacts") throws -> [String: String] {
        let r = try run(["status", experiment, "--json", "--store", store, "--verify"], cwd: project)
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        var out: [String: String] = [:]
        for s in json["stages"] as! [[String: Any]] {
            if let outputs = s["outputs"] as? [String: String] {
                for (k, v) in outputs { out["\(s["stage"]!).\(k)"] = v }
            }
        }
        return out
    }

    /// stage.output → digest for one trial of a sweep.
    static func digestsOfTrial(_ project: URL, _ experiment: String, trial: Int, store: String) throws -> [String: String] {
        let r = try run(["status", experiment, "--trial", String(trial), "--json", "--store", store], cwd: project)
        guard let json = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] else { return [:] }
        var out: [String: String] = [:]
        for s in json["stages"] as? [[String: Any]] ?? [] {
            if let outputs = s["outputs"] as? [String: String] { for (k, v) in outputs { out["\(s["stage"]!).\(k)"] = v } }
        }
        return out
    }

    @discardableResult
    static func command(_ name: String, _ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [name] + args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    static func python(_ script: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
