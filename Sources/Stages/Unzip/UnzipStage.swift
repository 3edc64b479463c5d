import Foundation
import Pipeline

/// unzip: reads one member of a zip archive through libzip (CRC checked) into a `text` artifact,
/// whose payload is the member's bytes, unchanged (format 1).
public enum UnzipStage: Stage {
    public static let typeName = "unzip"
    public static let summary = "Read the corpus text out of a zip archive (libzip; CRC checked)"
    public static let implementationVersion = 1
    public static let parameters: [ParameterSpec] = [
        ParameterSpec("path", .inputFile, help: "the zip archive, relative to the experiment file"),
        ParameterSpec("member", .string, default: .null, help: "the member to read; default: the only one"),
        ParameterSpec("url", .string, default: .null, identity: .ignored, help: "where `w2v-pipe fetch` downloads the archive from when it is missing"),
        ParameterSpec("expected_bytes", .integer(0...Int64.max), default: .null, identity: .ignored, help: "the archive's size as published; a download of another size is rejected"),
        ParameterSpec("sha256", .string, default: .null, identity: .ignored, help: "the archive's SHA-256 as published (hex); a download with another digest is rejected"),
    ]
    public static let inputs: [InputSpec] = []
    public static let outputs = [OutputSpec("text", kind: ArtifactKind.text)]
    public static let textFormatVersion: UInt16 = 1

    public static func run(_ context: StageContext) throws -> StageOutcome {
        let url = context.files["path"]!
        let archive = try ZipArchive(path: url.path)
        let member = try archive.select(context.parameters.optionalString("member"))
        let out = try context.output("text", formatVersion: textFormatVersion)
        let start = Date()
        var done: UInt64 = 0
        try archive.read(member) { chunk in
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

    public static func explainMissingFile(parameter: String, url: URL, parameters: ResolvedParameters) -> String {
        var msg = "corpus archive not found: \(url.relativePathForDisplay)"
        if let source = parameters.optionalString("url") {
            msg += "\n  download it from \(source)"
            if let size = parameters.optionalInt("expected_bytes") { msg += " (\(Format.grouped(size)) bytes)" }
            msg += " and save it as \(url.relativePathForDisplay), e.g.\n    curl -o \(url.relativePathForDisplay) \(source)"
        }
        msg += "\n  or run experiments/quickstart.json, which runs offline on the sample corpus shipped in data/"
        return msg
    }

    public static func remoteSource(parameter: String, parameters: ResolvedParameters) -> RemoteSource? {
        guard parameter == "path", let text = parameters.optionalString("url"), let url = URL(string: text),
              url.scheme != nil else { return nil }
        return RemoteSource(url: url, expectedBytes: parameters.optionalInt("expected_bytes").map(Int64.init),
                            sha256: parameters.optionalString("sha256"))
    }
}
