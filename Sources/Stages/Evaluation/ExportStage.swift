import Foundation
import Pipeline
#if canImport(Glibc)
import Glibc
#endif

/// export: embeddings → word2vec binary or text (as word2vec.c writes them, loadable by
/// gensim's `KeyedVectors.load_word2vec_format`), GloVe text (no header, as Stanford GloVe writes
/// it; gensim: `no_header=True`), or TSV for the TensorFlow Embedding Projector.
/// The files are kept in the store as an `export` artifact and copied to `path`.
public enum ExportStage: PublishingStage {
    public static let typeName = "export"
    public static let summary = "Write the vectors as word2vec binary/text (gensim, fastText-era tools), GloVe text, or Embedding Projector TSV"
    public static let implementationVersion = 1
    public enum FileFormat: String, CaseIterable, Sendable {
        case word2vecBinary = "word2vec-binary"
        case word2vecText = "word2vec-text"
        case gloveText = "glove-text"
        case tsv
    }
    public struct Parameters: StageParameters {
        public var format: FileFormat = .word2vecBinary
        public var path = ""
        public var normalize = false
        public var limit: Int? = nil
        public init() {}
        public static let fields: [ParameterField<Self>] = [
            .choice("format", \.format, help: "word2vec-binary, word2vec-text, glove-text (no header line), or tsv (vectors.tsv + metadata.tsv)"),
            .destination("path", \.path, help: "destination, relative to the experiment file: a file for word2vec formats, a directory for tsv"),
            .bool("normalize", \.normalize, help: "write unit-length vectors"),
            .integer("limit", \.limit, in: 1...Int64.max, help: "only the N most frequent words (null: all)"),
        ]
    }
    public static let inputs = [Slots.embeddings.spec]
    public static let outputs = [OutputSpec("files", kind: ArtifactKind.export)]
    public static let exportFormatVersion: UInt16 = 1

    public static func run(_ context: StageContext, parameters: Parameters) throws -> StageOutcome {
        let table = try context.read(Slots.embeddings)
        let vectors = try table.wordVectors()
        let format = parameters.format
        let normalize = parameters.normalize
        let limit = parameters.limit
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("w2v-export-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        var files: [(String, URL)] = []
        switch format {
        case .tsv:
            let v = scratch.appendingPathComponent("vectors.tsv"), m = scratch.appendingPathComponent("metadata.tsv")
            try ProjectorTSV.write(vectors, vectorsPath: v.path, metadataPath: m.path, normalize: normalize, limit: limit)
            files = [("vectors.tsv", v), ("metadata.tsv", m)]
        case .word2vecBinary, .word2vecText:
            let binary = format == .word2vecBinary
            let f = scratch.appendingPathComponent(binary ? "vectors.bin" : "vectors.txt")
            try Word2VecFormat.write(vectors, to: f.path, binary: binary, normalize: normalize, limit: limit)
            files = [(f.lastPathComponent, f)]
        case .gloveText:
            let f = scratch.appendingPathComponent("vectors.glove.txt")
            try Word2VecFormat.writeGloVe(vectors, to: f.path, normalize: normalize, limit: limit)
            files = [(f.lastPathComponent, f)]
        }
        let out = try context.output("files", formatVersion: exportFormatVersion)
        try out.write(UInt64(files.count))
        var total = 0
        for (name, url) in files {
            let data = try Data(contentsOf: url, options: .alwaysMapped)
            try out.write(strings: [name])
            try out.write(UInt64(data.count))
            try data.withUnsafeBytes { try out.write($0) }
            try out.align()
            total += data.count
        }
        let rows = min(vectors.count, limit ?? .max)
        return StageOutcome(summary: "\(format.rawValue): \(Format.grouped(rows)) words × \(vectors.dimension), \(Format.bytes(total))\(normalize ? ", unit length" : "")",
                            metrics: ["bytes": .integer(Int64(total)), "rows": .integer(Int64(rows))])
    }

    /// The files inside an export artifact.
    public static func files(_ reader: ArtifactReader) throws -> [(name: String, bytes: MappedArray<UInt8>)] {
        var c = reader.cursor()
        let n = try c.read(UInt64.self, "file count")
        var out: [(String, MappedArray<UInt8>)] = []
        for _ in 0..<n {
            let name = try c.readStrings("file name")
            guard name.count == 1 else { throw ArtifactError.malformed(file: reader.path, detail: "export file name list of \(name.count)") }
            guard let length = Int(exactly: try c.read(UInt64.self, "file length")) else {
                throw ArtifactError.malformed(file: reader.path, detail: "export file length")
            }
            out.append((name[0], try c.readBytes(count: length, "file bytes")))
            c.align()
        }
        return out
    }

    /// Where a file of the export goes: `path` itself for the one-file formats, inside the
    /// `path` folder for tsv.
    static func target(_ name: String, parameters: Parameters, experimentFile: URL) -> URL {
        let dest = URL(fileURLWithPath: parameters.path, relativeTo: experimentFile.deletingLastPathComponent()).standardizedFileURL
        return parameters.format == .tsv ? dest.appendingPathComponent(name) : dest
    }

    public static func destinations(parameters: Parameters, experimentFile: URL) -> [URL] {
        let names = parameters.format == .tsv ? ["vectors.tsv", "metadata.tsv"] : [""]
        return names.map { target($0, parameters: parameters, experimentFile: experimentFile) }
    }

    public static func publish(outputs: [String: ArtifactReader], parameters: Parameters, experimentFile: URL) throws -> [String] {
        guard let reader = outputs["files"] else { return [] }
        let files = try files(reader)
        var written: [String] = []
        for (name, bytes) in files {
            let target = target(name, parameters: parameters, experimentFile: experimentFile)
            // Already there with the same bytes: nothing to do.
            if let existing = try? Data(contentsOf: target, options: .alwaysMapped), existing.count == bytes.count,
               existing.withUnsafeBytes({ e in bytes.withUnsafeBufferPointer { b in b.isEmpty || memcmp(e.baseAddress!, b.baseAddress!, b.count) == 0 } }) {
                continue
            }
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try bytes.withUnsafeBufferPointer { try ArtifactStore.writeAtomically(UnsafeRawBufferPointer($0), to: target.path) }
            written.append(target.relativePathForDisplay)
        }
        return written
    }
}
