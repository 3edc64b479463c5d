import Foundation
import Pipeline
#if canImport(Glibc)
import Glibc
#endif

/// unzip: names the corpus text inside a zip archive: one member, a list, globs, or every text
/// member in name order. The `text` artifact refers to the members in place (format 2: archive
/// path, member names, sizes, CRCs), so the corpus is not copied into the store; `tokenize`
/// streams them through libzip, which checks each CRC.
public enum UnzipStage: FetchableInputs {
    public static let typeName = "unzip"
    public static let summary = "Name the corpus text inside a zip archive: one member, several, or all (read in place through libzip; CRC checked)"
    public static let implementationVersion = 2
    public static var outputsReferToInputFiles: Bool { true }
    public struct Parameters: StageParameters {
        public var path: InputFile? = nil
        public var member: String? = nil
        public var members: [String] = []
        public var url: String? = nil
        public var expectedBytes: Int? = nil
        public var sha256: String? = nil
        public var maxMemberBytes = Int(ZipArchive.defaultMaxMemberBytes)
        public var maxCompressionRatio = ZipArchive.defaultMaxCompressionRatio
        public init() {}
        public static let fields: [ParameterField<Self>] = [
            .file("path", \.path, required: true, nullable: false, help: "the zip archive, relative to the experiment file"),
            .string("member", \.member, help: "the one member to read (same as members: [name])"),
            .strings("members", \.members, acceptsSingle: true,
                     help: "members to read, in this order: names or globs (* ? [..]; * also matches /), a list or one string; default: every file member in name order. Folders, __MACOSX/ and hidden files are left out (globs skip them too)"),
            .string("url", \.url, identity: .ignored, help: "where `w2v-pipe fetch` downloads the archive from when it is missing"),
            .integer("expected_bytes", \.expectedBytes, in: 0...Int64.max, identity: .ignored, help: "the archive's size as published; a download of another size is rejected"),
            .string("sha256", \.sha256, identity: .ignored, help: "the archive's SHA-256 as published (hex); a download with another digest is rejected"),
            .integer("max_member_bytes", \.maxMemberBytes, in: 1...Int64.max, identity: .ignored,
                     help: "refuse a member that unpacks to more bytes (default 16 GiB; a guard against zip bombs)"),
            .number("max_compression_ratio", \.maxCompressionRatio, in: 1...1e12, identity: .ignored,
                    help: "refuse a member that unpacks to more than this many times its compressed size (default 1000; text compresses about 3:1)"),
        ]
    }
    public static let inputs: [InputSpec] = []
    public static let outputs = [OutputSpec("text", kind: ArtifactKind.text)]

    public static func run(_ context: StageContext, parameters: Parameters) throws -> StageOutcome {
        guard let url = parameters.path?.url else { throw MissingInputFile(message: "parameter `path` is not set") }
        let archive = try ZipArchive(path: url.path)
        let chosen = try select(parameters, in: archive)
        for m in chosen {
            if m.encrypted { throw ZipError.encrypted(path: archive.path, member: m.name) }
            try archive.checkLimits(m, maxMemberBytes: UInt64(parameters.maxMemberBytes), maxCompressionRatio: parameters.maxCompressionRatio)
        }
        let total = chosen.reduce(UInt64(0)) { $0 + $1.size }
        guard total > 0 else {
            throw ZipError.emptyMember(path: archive.path, member: chosen.map(\.name).joined(separator: "\", \""))
        }
        let digest = try context.fileDigest(url)
        let sources = chosen.map {
            TextSource(kind: .zipMember, path: url.standardizedFileURL.path, member: $0.name, bytes: $0.size,
                       crc32: $0.crc, sha256: digest)
        }
        let manifest = TextManifest(sources: sources, maxMemberBytes: UInt64(parameters.maxMemberBytes),
                                    maxCompressionRatio: parameters.maxCompressionRatio)
        try CorpusText.write(manifest, to: try context.output("text", formatVersion: CorpusText.formatVersion))
        let what = chosen.count == 1 ? chosen[0].name : "\(chosen.count) members"
        return StageOutcome(
            summary: "\(what): \(Format.grouped(total)) bytes of text (\(Format.bytes(total))), read in place by tokenize (CRC checked there), not copied",
            metrics: ["bytes": .integer(Int64(clamping: total)), "members": .integer(Int64(chosen.count)),
                      "member": .string(chosen.map(\.name).joined(separator: ", "))])
    }

    /// The members the parameters name, in reading order.
    static func select(_ p: Parameters, in archive: ZipArchive) throws -> [ZipArchive.Member] {
        if p.member != nil && !p.members.isEmpty {
            throw UnzipParameterError("set either `member` or `members`, not both")
        }
        if let name = p.member { return [try archive.select(name)] }
        let files = archive.members.filter { !$0.name.hasSuffix("/") }
        guard !files.isEmpty else { throw ZipError.noMembers(path: archive.path) }
        // Folders' resource forks (__MACOSX/) and hidden files are never text; globs skip them too.
        let text = files.filter { m in
            !m.name.hasPrefix("__MACOSX/") && !m.name.split(separator: "/").contains { $0.hasPrefix(".") }
        }
        if p.members.isEmpty {
            guard !text.isEmpty else { throw ZipError.noMembers(path: archive.path) }
            return text.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        }
        var out: [ZipArchive.Member] = []
        var seen = Set<String>()
        for pattern in p.members {
            let matches: [ZipArchive.Member]
            // A member named exactly so is taken as it is, even if its name looks like a glob.
            if Glob.isPattern(pattern) && !files.contains(where: { $0.name == pattern }) {
                matches = text.filter { Glob.matches(pattern, $0.name) }
                    .sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
                guard !matches.isEmpty else {
                    throw ZipError.memberNotFound(path: archive.path, member: pattern, available: files.map(\.name))
                }
            } else {
                matches = [try archive.select(pattern)]
            }
            for m in matches where seen.insert(m.name).inserted { out.append(m) }
        }
        return out
    }

    public static func explainMissingFile(parameter: String, url: URL, parameters: Parameters) -> String {
        var msg = "corpus archive not found: \(url.relativePathForDisplay)"
        if let source = parameters.url {
            msg += "\n  download it from \(source)"
            if let size = parameters.expectedBytes { msg += " (\(Format.grouped(size)) bytes)" }
            msg += " and save it as \(url.relativePathForDisplay), e.g.\n    curl -o \(url.relativePathForDisplay) \(source)"
        }
        msg += "\n  or run experiments/quickstart.json, which runs offline on the sample corpus shipped in data/"
        return msg
    }

    public static func remoteSource(parameter: String, parameters: Parameters) -> RemoteSource? {
        guard parameter == "path", let text = parameters.url, let url = URL(string: text),
              url.scheme != nil else { return nil }
        return RemoteSource(url: url, expectedBytes: parameters.expectedBytes.map(Int64.init),
                            sha256: parameters.sha256)
    }
}

/// Parameters that contradict each other (a validation message, not a crash).
public struct UnzipParameterError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Shell-style globs (`*`, `?`, `[...]`) over names, through the C library's fnmatch; `*` also
/// matches `/`, so `*.txt` finds text files at any depth.
enum Glob {
    static func isPattern(_ s: String) -> Bool { s.contains { "*?[".contains($0) } }
    static func matches(_ pattern: String, _ name: String) -> Bool { fnmatch(pattern, name, 0) == 0 }
}
