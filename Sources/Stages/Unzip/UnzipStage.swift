import Foundation
import Pipeline

/// unzip: reads one member of a zip archive through libzip (CRC checked) into a `text` artifact,
/// whose payload is the member's bytes, unchanged (format 1).
public enum UnzipStage: FetchableInputs {
    public static let typeName = "unzip"
    public static let summary = "Read the corpus text out of a zip archive (libzip; CRC checked)"
    public static let implementationVersion = 1
    public struct Parameters: StageParameters {
        public var path: InputFile? = nil
        public var member: String? = nil
        public var url: String? = nil
        public var expectedBytes: Int? = nil
        public var sha256: String? = nil
        public var maxMemberBytes = Int(ZipArchive.defaultMaxMemberBytes)
        public var maxCompressionRatio = ZipArchive.defaultMaxCompressionRatio
        public init() {}
        public static let fields: [ParameterField<Self>] = [
            .file("path", \.path, required: true, nullable: false, help: "the zip archive, relative to the experiment file"),
            .string("member", \.member, help: "the member to read; default: the only one"),
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
        let member = try archive.select(parameters.member)
        let out = try context.output("text", formatVersion: CorpusText.formatVersion)
        let start = Date()
        var done: UInt64 = 0
        try archive.read(member, maxMemberBytes: UInt64(parameters.maxMemberBytes),
                         maxCompressionRatio: parameters.maxCompressionRatio) { chunk in
            try out.write(chunk)
            done += UInt64(chunk.count)
            context.progress.update(fraction: Double(done) / Double(member.size), detail: Format.bytes(done))
            try context.checkCancelled()
        }
        let seconds = Date().timeIntervalSince(start)
        let rate = Double(done) / max(seconds, 1e-9) / 1e6
        return StageOutcome(
            summary: "\(member.name): \(Format.grouped(done)) bytes, CRC ok (\(String(format: "%.0f", rate)) MB/s)",
            metrics: ["bytes": .integer(Int64(done)), "member": .string(member.name), "mb_per_s": .number(rate)])
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
