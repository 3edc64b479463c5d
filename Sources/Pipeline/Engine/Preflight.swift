import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Checks made before any stage runs, so that nothing that can be known beforehand is found
/// after minutes of training: every input file that any stage of the run (every trial of a
/// sweep) reads exists and is a readable file, and every destination outside the store can be
/// written and is written by one stage of one trial only. All problems are reported at once.
public enum Preflight {
    /// The problems of running `units` (an experiment, or the trials of a sweep) together.
    public static func problems(_ units: [Experiment]) -> [SpecError.Problem] {
        var problems: [SpecError.Problem] = []
        var seenFiles = Set<String>()
        var writers: [String: [(unit: String, stage: String)]] = [:]
        var destinationOrder: [String] = []
        for unit in units {
            for stage in unit.stages {
                for (param, url) in stage.files.sorted(by: { $0.key < $1.key }) {
                    guard seenFiles.insert(url.path).inserted else { continue }
                    let message: String?
                    switch inputFileComplaint(url, folderAllowed: stage.type.fileParametersAcceptingFolders.contains(param)) {
                    case nil: message = nil
                    case .missing?: message = stage.type.explainMissing(parameter: param, url: url, parameters: stage.parameters)
                    case let other?: message = other.message(url)
                    }
                    if let message { problems.append(.init(path: "stages.\(stage.id).params.\(param)", message: message)) }
                }
                guard let publisher = stage.type as? any PublishingStage.Type else { continue }
                for url in publisher.destinationsErased(stage.parameters, experimentFile: unit.file) {
                    let path = url.standardizedFileURL.path
                    if writers[path] == nil { destinationOrder.append(path) }
                    writers[path, default: []].append((unit.name, stage.id))
                }
            }
        }
        for path in destinationOrder {
            guard let who = writers[path], let first = who.first else { continue }
            let display = URL(fileURLWithPath: path).relativePathForDisplay
            if who.count > 1 {
                let names = who.map { units.count > 1 ? "\($0.unit) (stage `\($0.stage)`)" : "stage `\($0.stage)`" }
                problems.append(.init(path: "stages.\(first.stage).params",
                                      message: "\(names.joined(separator: " and ")) would all write \(display); give each its own path (in a sweep, put {trial} in the path)"))
            }
            if let complaint = destinationComplaint(URL(fileURLWithPath: path)) {
                problems.append(.init(path: "stages.\(first.stage).params", message: "cannot write \(display): \(complaint)"))
            }
        }
        return problems
    }

    /// Throws a `SpecError` (exit 2) listing every problem, if there is any.
    public static func check(_ units: [Experiment], file: URL) throws {
        let found = problems(units)
        if !found.isEmpty { throw SpecError(file: file.relativePathForDisplay, problems: found) }
    }

    enum FileComplaint: Equatable {
        case missing, directory, unreadable, notRegular
        /// A file inside a folder the parameter names cannot be read.
        case unreadableInside(String)
        /// What is wrong with a file that exists (a missing one is explained by its stage).
        func message(_ url: URL) -> String {
            let shown = url.relativePathForDisplay
            switch self {
            case .missing: return "not found: \(shown)"
            case .directory: return "\(shown) is a folder; this parameter needs a file (paths are relative to the experiment file)"
            case .unreadable: return "\(shown) cannot be read (permission denied); check its mode and owner"
            case .notRegular: return "\(shown) is not a regular file"
            case .unreadableInside(let file): return "\(shown)/\(file) cannot be read (permission denied); check its mode and owner, or move it out of the folder"
            }
        }
    }

    static func inputFileComplaint(_ url: URL, folderAllowed: Bool = false) -> FileComplaint? {
        var st = stat()
        guard stat(url.path, &st) == 0 else { return .missing }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            if !folderAllowed { return .directory }
            guard access(url.path, R_OK | X_OK) == 0, let files = try? ArtifactStore.filesBeneath(url.path) else { return .unreadable }
            if let locked = files.first(where: { access(url.path + "/" + $0, R_OK) != 0 }) {
                return .unreadableInside(locked)
            }
            return nil
        }
        if (st.st_mode & S_IFMT) != S_IFREG { return .notRegular }
        if access(url.path, R_OK) != 0 { return .unreadable }
        return nil
    }

    /// Why `url` cannot be written as a file, if it cannot: it is a folder, or its nearest
    /// existing ancestor is not a writable folder (missing folders below it are created).
    static func destinationComplaint(_ url: URL) -> String? {
        var st = stat()
        if stat(url.path, &st) == 0 {
            if (st.st_mode & S_IFMT) == S_IFDIR { return "it is a folder; give a file path" }
            if access(url.path, W_OK) != 0 { return "the file exists and is not writable" }
            return nil
        }
        var ancestor = url.deletingLastPathComponent()
        while stat(ancestor.path, &st) != 0 {
            let parent = ancestor.deletingLastPathComponent()
            if parent.path == ancestor.path { return "no folder of it exists" }
            ancestor = parent
        }
        let shown = ancestor.relativePathForDisplay
        if (st.st_mode & S_IFMT) != S_IFDIR { return "\(shown.isEmpty ? "." : shown) is a file, not a folder" }
        if access(ancestor.path, W_OK) != 0 { return "the folder \(shown.isEmpty ? "." : shown) is not writable" }
        return nil
    }
}
