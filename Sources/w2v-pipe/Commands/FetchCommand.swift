import ArgumentParser
import Foundation
import Pipeline

struct FetchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Download an experiment's missing input files (e.g. text8.zip) from the `url` its stages give.",
        discussion: """
        For every input file of the experiment (of every trial, for a sweep) that is missing and whose stage gives a `url` (unzip does), downloads it with progress, checks its size against `expected_bytes` and its SHA-256 against `sha256` when the experiment gives them, and only then moves it into place: an interrupted, failed or rejected download leaves nothing behind. A file already present is not downloaded again (it is checked against `expected_bytes` and `sha256` when given); --force downloads it anyway.

        Example:
          w2v-pipe fetch experiments/baseline.json     (text8.zip, 31,344,016 bytes, into data/)
          w2v-pipe run experiments/baseline.json
        """
    )

    @Argument(help: "The experiment file (JSON).")
    var experiment: String

    @Flag(name: .long, help: "Download files that are already present again (replacing them only once the new copy has passed its checks).")
    var force = false

    @Option(name: .long, help: "Progress display: auto (a live line on a terminal, else a line every 10 s), lines, none.")
    var progress: RunCommand.ProgressChoice = .auto

    @OptionGroup var storeOptions: StoreOptions

    /// One input file and where it can come from.
    struct Wanted {
        var stage: String
        var parameter: String
        var file: URL
        var source: RemoteSource?
    }

    func run() throws {
        do {
            let experiment = try loadExperiment(self.experiment)
            let store = try storeOptions.openStore()
            let wanted = Self.inputFiles(of: experiment)
            if wanted.isEmpty { print("\(self.experiment) reads no input files"); return }
            CancellationToken.installSignalHandlers()
            var failures = 0
            for item in wanted {
                if try !fetch(item, store: store) { failures += 1 }
            }
            if failures > 0 { throw ExitCode(1) }
        } catch let e as ExitCode {
            throw e
        } catch {
            throw CLIExit.fail(error)
        }
    }

    /// The distinct input files of the experiment and of every trial, in stage order.
    static func inputFiles(of experiment: Experiment) -> [Wanted] {
        var seen = Set<String>()
        var out: [Wanted] = []
        for exp in [experiment] + experiment.trials.map(\.experiment) {
            for stage in exp.stages {
                for (param, file) in stage.files.sorted(by: { $0.key < $1.key }) where seen.insert(file.path).inserted {
                    out.append(Wanted(stage: stage.id, parameter: param, file: file,
                                      source: stage.type.remoteSource(parameter: param, parameters: stage.parameters)))
                }
            }
        }
        return out
    }

    /// For other commands' errors: the fetch command that would download the experiment's
    /// missing input files, if any of them has a `url`.
    static func hint(_ path: String) -> String? {
        guard let experiment = try? loadExperiment(path) else { return nil }
        let missing = inputFiles(of: experiment).filter {
            $0.source != nil && !FileManager.default.fileExists(atPath: $0.file.path)
        }
        guard !missing.isEmpty else { return nil }
        let files = missing.map(\.file.relativePathForDisplay).joined(separator: ", ")
        return "  or let w2v-pipe download \(files) and check it: w2v-pipe fetch \(path)"
    }

    /// Returns false when the file is still missing or does not match what the experiment says.
    private func fetch(_ item: Wanted, store: ArtifactStore) throws -> Bool {
        let shown = item.file.relativePathForDisplay
        let present = FileManager.default.fileExists(atPath: item.file.path)
        if present && !force {
            guard let source = item.source, source.expectedBytes != nil || source.sha256 != nil else {
                print("  \(shown)  present")
                return true
            }
            let record = try store.fileDigest(item.file)
            if let expected = source.expectedBytes, expected != Int64(record.bytes) {
                CLIExit.printError("error: \(shown) is \(Format.grouped(record.bytes)) bytes, but stage `\(item.stage)` expects \(Format.grouped(expected)); remove it, or run `w2v-pipe fetch \(self.experiment) --force` to download it again")
                return false
            }
            if let expected = source.sha256, expected != record.digest {
                CLIExit.printError("error: the SHA-256 of \(shown) is \(record.digest), but stage `\(item.stage)` expects \(expected); remove it, or run `w2v-pipe fetch \(self.experiment) --force` to download it again")
                return false
            }
            print("  \(shown)  present, \(Format.grouped(record.bytes)) bytes\(source.sha256 != nil ? ", SHA-256 ok" : "")")
            return true
        }
        guard let source = item.source else {
            CLIExit.printError("error: \(shown) is missing, and stage `\(item.stage)` gives no `url` to download it from (parameter `\(item.parameter)`); put the file there or add a `url` to the stage's params")
            return false
        }
        print("  \(shown)  downloading \(source.url.absoluteString)\(source.expectedBytes.map { " (\(Format.bytes($0)))" } ?? "")")
        let reporter = ProgressReporter(label: "fetch", mode: progress.mode())
        let start = Date()
        let result: DownloadResult
        do {
            result = try Downloader.fetch(source, to: item.file, progress: { bytes, total in
                let rate = Double(bytes) / max(Date().timeIntervalSince(start), 1e-3)
                let of = total.map { " of \(Format.bytes($0))" } ?? ""
                reporter.update(fraction: total.map { Double(bytes) / Double(max($0, 1)) } ?? 0,
                                detail: "\(Format.bytes(bytes))\(of)  \(Format.bytes(Int64(rate)))/s")
            })
        } catch let e as DownloadError {
            reporter.finish()
            CLIExit.printError("error: \(shown): \(e)")
            return false
        }
        reporter.finish()
        let rate = Double(result.bytes) / max(result.seconds, 1e-3)
        print("  \(shown)  downloaded \(Format.grouped(result.bytes)) bytes in \(Format.seconds(result.seconds)) (\(Format.bytes(Int64(rate)))/s), SHA-256 \(result.sha256)\(source.sha256 != nil ? " (as expected)" : "")")
        return true
    }
}
