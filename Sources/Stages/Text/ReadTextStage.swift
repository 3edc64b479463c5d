import Foundation
import Pipeline
#if canImport(Glibc)
import Glibc
#endif

/// read-text: names a corpus of plain-text files: one file, or the files of a folder chosen by
/// globs, read in name order; `.gz` files are decompressed through zlib. Like `unzip`, the
/// `text` artifact refers to the files in place (path, size, SHA-256), so nothing
/// is copied into the store, and a changed file is caught when `tokenize` reads it.
public enum ReadTextStage: Stage {
    public static let typeName = "read-text"
    public static let summary = "Name a corpus of plain-text files: one file or a folder (globs, name order, .gz through zlib), read in place"
    public static let implementationVersion = 1
    public static var outputsReferToInputFiles: Bool { true }
    public static var fileParametersAcceptingFolders: Set<String> { ["path"] }

    public enum Compression: String, Sendable, CaseIterable {
        /// `.gz` names are gzip files, all others plain text.
        case auto
        case none
        case gzip
    }

    public struct Parameters: StageParameters {
        public var path: InputFile? = nil
        public var files: [String] = []
        public var compression: Compression = .auto
        public var maxFileBytes = Int(ZipArchive.defaultMaxMemberBytes)
        public var maxCompressionRatio = ZipArchive.defaultMaxCompressionRatio
        public init() {}
        public static let fields: [ParameterField<Self>] = [
            .file("path", \.path, required: true, nullable: false,
                  help: "a text file, or a folder of them, relative to the experiment file; a folder's content (every file in it, by digest) keys the stage"),
            .strings("files", \.files, acceptsSingle: true,
                     help: "in a folder: the files to read, as paths relative to it or globs (* ? [..]; * also matches /), a list or one string, read in this order (each glob's matches in name order); default: every file, in name order; hidden files are left out"),
            .choice("compression", \.compression, help: "auto: files named *.gz are gzip, others plain text; none: all plain; gzip: all gzip"),
            .integer("max_file_bytes", \.maxFileBytes, in: 1...Int64.max, identity: .ignored,
                     help: "refuse a .gz file that unpacks to more bytes (default 16 GiB; a guard against decompression bombs)"),
            .number("max_compression_ratio", \.maxCompressionRatio, in: 1...1e12, identity: .ignored,
                    help: "refuse a .gz file that unpacks to more than this many times its size (default 1000)"),
        ]
    }
    public static let inputs: [InputSpec] = []
    public static let outputs = [OutputSpec("text", kind: ArtifactKind.text)]

    public static func run(_ context: StageContext, parameters: Parameters) throws -> StageOutcome {
        guard let url = parameters.path?.url else { throw MissingInputFile(message: "parameter `path` is not set") }
        let root = url.standardizedFileURL.path
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isFolder) else {
            throw TextSourceError.missing(path: root)
        }
        let paths: [String]
        if isFolder.boolValue {
            paths = try select(parameters.files, in: root).map { root + "/" + $0 }
        } else {
            guard parameters.files.isEmpty else {
                throw ReadTextError("`files` chooses files inside a folder, but path \(url.relativePathForDisplay) is a file; drop `files` or give the folder as path")
            }
            paths = [root]
        }
        var sources: [TextSource] = []
        var gzipCount = 0
        for path in paths {
            let gzip = parameters.compression == .gzip || (parameters.compression == .auto && path.hasSuffix(".gz"))
            if gzip { gzipCount += 1 }
            var st = stat()
            guard stat(path, &st) == 0 else { throw TextSourceError.missing(path: path) }
            sources.append(TextSource(kind: gzip ? .gzip : .file, path: path, member: nil, bytes: UInt64(st.st_size),
                                      crc32: nil, sha256: try context.fileDigest(URL(fileURLWithPath: path))))
        }
        let total = sources.reduce(UInt64(0)) { $0 + $1.bytes }
        let manifest = TextManifest(sources: sources, maxMemberBytes: UInt64(parameters.maxFileBytes),
                                    maxCompressionRatio: parameters.maxCompressionRatio)
        try CorpusText.write(manifest, to: try context.output("text", formatVersion: CorpusText.formatVersion))
        let what = paths.count == 1 ? (paths[0] as NSString).lastPathComponent : "\(Format.grouped(paths.count)) files"
        return StageOutcome(
            summary: "\(what): \(Format.grouped(total)) bytes on disk\(gzipCount > 0 ? " (\(gzipCount) gzip)" : ""), read in place by tokenize, not copied",
            metrics: ["files": .integer(Int64(paths.count)), "bytes": .integer(Int64(clamping: total)),
                      "gzip_files": .integer(Int64(gzipCount))])
    }

    /// The files of `folder` that `patterns` name (relative paths), in reading order.
    static func select(_ patterns: [String], in folder: String) throws -> [String] {
        let all = try ArtifactStore.filesBeneath(folder)
        guard !all.isEmpty else { throw ReadTextError("folder \(folder) holds no files (hidden files are left out)") }
        if patterns.isEmpty { return all }
        var out: [String] = []
        var seen = Set<String>()
        for pattern in patterns {
            // A file named exactly so is taken as it is, even if its name looks like a glob.
            let matches = Glob.isPattern(pattern) && !all.contains(pattern) ? all.filter { Glob.matches(pattern, $0) } : all.filter { $0 == pattern }
            guard !matches.isEmpty else {
                let sample = all.prefix(10).map { "\"\($0)\"" }.joined(separator: ", ")
                throw ReadTextError("no file in \(folder) matches \"\(pattern)\"; it holds \(Format.grouped(all.count)) file(s): \(sample)\(all.count > 10 ? ", …" : "")")
            }
            for m in matches where seen.insert(m).inserted { out.append(m) }
        }
        return out
    }
}

/// A read-text parameter that does not fit the files on disk.
public struct ReadTextError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
