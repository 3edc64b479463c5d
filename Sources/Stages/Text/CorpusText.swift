import CLibzip
import Foundation
import Pipeline
#if canImport(Glibc)
import Glibc
#endif

/// One piece of corpus text that a `text` artifact refers to: a zip member, a plain file or a
/// gzip file, by absolute path, with what identifies its content.
public struct TextSource: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case zipMember = "zip-member", file, gzip }
    public var kind: Kind
    /// Absolute path of the archive or file.
    public var path: String
    /// The member's name (zip members only).
    public var member: String?
    /// Zip member: its uncompressed size (central directory); file and gzip: bytes on disk.
    public var bytes: UInt64
    /// Zip member: its CRC-32 (central directory).
    public var crc32: UInt32?
    /// SHA-256 of the file on disk (of the whole archive for a member), hex. Only what the
    /// content is enters the artifact (no inode or times), so the same corpus gives the same
    /// artifact on any machine.
    public var sha256: String

    public var displayName: String { member.map { "\(path) (member \"\($0)\")" } ?? path }
}

/// What a `text` artifact (format 2) holds: the list of sources, in reading order, and the
/// limits that guard decompression.
public struct TextManifest: Codable, Sendable, Equatable {
    public var sources: [TextSource]
    public var maxMemberBytes: UInt64
    public var maxCompressionRatio: Double

    public init(sources: [TextSource], maxMemberBytes: UInt64 = ZipArchive.defaultMaxMemberBytes,
                maxCompressionRatio: Double = ZipArchive.defaultMaxCompressionRatio) {
        self.sources = sources
        self.maxMemberBytes = maxMemberBytes
        self.maxCompressionRatio = maxCompressionRatio
    }
}

/// The `text` artifact: the corpus.
///
/// Format 2 is a reference, not a copy: a JSON `TextManifest` naming the zip members or files
/// to read, in order, so a corpus of gigabytes is not stored twice. Readers check each source
/// against the record as they stream it (a member's size and CRC, a file's size and SHA-256,
/// which the store's digest cache gives without rereading a file whose size, inode and times are
/// unchanged) and fail with the file's name when it no longer matches.
/// Format 1 (still read) is the corpus bytes themselves.
public struct CorpusText: ArtifactType, Sendable {
    public static var artifactKind: String { ArtifactKind.text }
    public static let formatVersion: UInt16 = 2
    public let reader: ArtifactReader
    /// The sources (format 2); nil for format 1, whose payload is the text.
    public let manifest: TextManifest?

    public init(_ reader: ArtifactReader) throws {
        self.reader = reader
        if reader.header.formatVersion < 2 {
            manifest = nil
        } else {
            do {
                manifest = try JSONDecoder().decode(TextManifest.self, from: reader.payloadData())
            } catch {
                throw ArtifactError.malformed(file: reader.path, detail: "the list of text sources does not decode (\(error))")
            }
        }
    }

    public static func write(_ manifest: TextManifest, to out: ArtifactWriter) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        let data = try encoder.encode(manifest)
        try data.withUnsafeBytes { try out.write($0) }
    }

    /// How many sources there are (1 for format 1).
    public var sourceCount: Int { manifest?.sources.count ?? 1 }

    /// Per source, what its progress is weighed by: a zip member's uncompressed size, a file's
    /// size on disk (compressed for gzip).
    var progressWeights: [UInt64] {
        guard let manifest else { return [UInt64(reader.payloadCount)] }
        return manifest.sources.map { $0.bytes }
    }
}

/// A text source that no longer matches what the reading stage recorded, or cannot be read.
public enum TextSourceError: Error, CustomStringConvertible {
    case missing(path: String)
    case changed(source: String, detail: String)
    case unreadable(path: String, detail: String)
    case gzip(path: String, detail: String)
    case tooLarge(path: String, bytes: UInt64, limit: UInt64)
    case ratioTooHigh(path: String, bytes: UInt64, compressed: UInt64, limit: Double)

    public var description: String {
        let inPlace = "w2v-pipe reads a corpus where it lies instead of copying it into the store"
        switch self {
        case .missing(let p):
            return "corpus file not found: \(p); the text artifact refers to it (\(inPlace)). Put it back, or point the experiment at its new place and run again"
        case .changed(let s, let d):
            return "\(s) changed after it was recorded (\(d)); run the experiment again so the stage that reads it records the new content"
        case .unreadable(let p, let d):
            return "cannot read \(p): \(d)"
        case .gzip(let p, let d):
            return "\(p) is not a readable gzip file (\(d)); check the file, or name it without .gz to read it as plain text"
        case .tooLarge(let p, let bytes, let limit):
            return "\(p) decompressed past \(Format.grouped(bytes)) bytes, over max_member_bytes = \(Format.grouped(limit)); raise that parameter if you trust the file"
        case .ratioTooHigh(let p, let bytes, let compressed, let limit):
            return "\(p) decompressed to over \(Format.grouped(bytes)) bytes from \(Format.grouped(compressed)), more than max_compression_ratio = \(ZipError.ratioText(limit)) times (text compresses about 3:1; this looks like a decompression bomb); raise that parameter if you trust the file"
        }
    }
}

/// Streams the text a `CorpusText` stands for, source after source, checking each one.
struct TextStreamer: Sendable {
    let text: CorpusText
    /// The SHA-256 (hex) of the file at a path: `StageContext.fileDigest` (cached by stat stamp)
    /// in a stage; by default the file is read and hashed.
    var digest: @Sendable (String) throws -> String = TextStreamer.hashFile
    var chunkSize = 4 << 20

    /// Calls `body` with the text in chunks, and `boundary` after each source (the tokenizer
    /// passes a line break there, so that a word or a sentence never runs from one file into
    /// the next). `progress` gets the fraction of the sources' bytes on disk read so far.
    func stream(progress: (Double) -> Void, boundary: () throws -> Void = {},
                _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let weights = text.progressWeights.map(Double.init)
        let total = max(1, weights.reduce(0, +))
        var before = 0.0
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunkSize, alignment: 64)
        defer { buffer.deallocate() }
        func report(_ within: Double, _ k: Int) { progress(min(1, (before + within * weights[k]) / total)) }
        guard let manifest = text.manifest else {
            try streamFile(text.reader.path, offset: ArtifactHeader.size, buffer: buffer) { chunk, fraction in
                try body(chunk); report(fraction, 0)
            }
            try boundary()
            return
        }
        var archive: ZipArchive?
        var membersByName: [String: ZipArchive.Member] = [:]
        for (k, source) in manifest.sources.enumerated() {
            switch source.kind {
            case .zipMember:
                if archive?.path != source.path {
                    guard FileManager.default.fileExists(atPath: source.path) else { throw TextSourceError.missing(path: source.path) }
                    let opened = try ZipArchive(path: source.path)
                    archive = opened
                    membersByName = Dictionary(opened.members.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
                }
                guard let archive else { continue }
                let name = source.member ?? ""
                guard let member = membersByName[name] else {
                    throw TextSourceError.changed(source: source.displayName, detail: "the archive no longer has that member")
                }
                guard member.size == source.bytes, member.crc == source.crc32 else {
                    throw TextSourceError.changed(source: source.displayName, detail: "its size or CRC differs")
                }
                var done: UInt64 = 0
                try archive.read(member, chunkSize: chunkSize, maxMemberBytes: manifest.maxMemberBytes,
                                 maxCompressionRatio: manifest.maxCompressionRatio) { chunk in
                    try body(chunk)
                    done += UInt64(chunk.count)
                    report(Double(done) / Double(max(1, member.size)), k)
                }
            case .file:
                try check(source)
                try streamFile(source.path, offset: 0, buffer: buffer, expectedBytes: source.bytes) { chunk, fraction in
                    try body(chunk); report(fraction, k)
                }
            case .gzip:
                try check(source)
                try streamGzip(source, limits: manifest, buffer: buffer) { chunk, fraction in
                    try body(chunk); report(fraction, k)
                }
            }
            try boundary()
            before += weights[k]
        }
    }

    /// Throws unless the file on disk is the one recorded (its content digest).
    private func check(_ source: TextSource) throws {
        guard FileManager.default.fileExists(atPath: source.path) else { throw TextSourceError.missing(path: source.path) }
        guard try digest(source.path) == source.sha256 else {
            throw TextSourceError.changed(source: source.displayName, detail: "its SHA-256 differs")
        }
    }

    /// The SHA-256 of a file, read in full.
    @Sendable static func hashFile(_ path: String) throws -> String {
        var hasher = StreamingSHA256()
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 4 << 20, alignment: 64)
        defer { buffer.deallocate() }
        try TextStreamer.readFile(path, offset: 0, buffer: buffer, chunkSize: 4 << 20) { chunk, _ in hasher.update(chunk) }
        return hasher.finalize()
    }

    private func streamFile(_ path: String, offset: Int, buffer: UnsafeMutableRawPointer, expectedBytes: UInt64? = nil,
                            _ body: (UnsafeRawBufferPointer, Double) throws -> Void) throws {
        try Self.readFile(path, offset: offset, buffer: buffer, chunkSize: chunkSize, expectedBytes: expectedBytes, body)
    }

    /// Reads a file from `offset` to its end in chunks; `expectedBytes` checks the length read.
    static func readFile(_ path: String, offset: Int, buffer: UnsafeMutableRawPointer, chunkSize: Int, expectedBytes: UInt64? = nil,
                         _ body: (UnsafeRawBufferPointer, Double) throws -> Void) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { throw TextSourceError.missing(path: path) }
            throw TextSourceError.unreadable(path: path, detail: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var st = stat()
        fstat(fd, &st)
        let size = max(1, Double(st.st_size) - Double(offset))
        if offset > 0 { lseek(fd, off_t(offset), SEEK_SET) }
        var done: UInt64 = 0
        while true {
            let n = read(fd, buffer, chunkSize)
            if n < 0 {
                if errno == EINTR { continue }
                throw TextSourceError.unreadable(path: path, detail: String(cString: strerror(errno)))
            }
            if n == 0 { break }
            done += UInt64(n)
            try body(UnsafeRawBufferPointer(start: buffer, count: n), Double(done) / size)
        }
        if let expectedBytes, done != expectedBytes {
            throw TextSourceError.changed(source: path, detail: "it holds \(Format.grouped(done)) bytes, \(Format.grouped(expectedBytes)) were recorded")
        }
    }

    /// Decompresses a gzip file (several concatenated members are read as one stream).
    private func streamGzip(_ source: TextSource, limits: TextManifest, buffer: UnsafeMutableRawPointer,
                            _ body: (UnsafeRawBufferPointer, Double) throws -> Void) throws {
        let fd = open(source.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { throw TextSourceError.missing(path: source.path) }
            throw TextSourceError.unreadable(path: source.path, detail: String(cString: strerror(errno)))
        }
        guard let gz = gzdopen(fd, "rb") else {
            close(fd)
            throw TextSourceError.unreadable(path: source.path, detail: "zlib could not open it")
        }
        defer { gzclose_r(gz) }
        gzbuffer(gz, 1 << 20)
        let compressed = max(1, source.bytes)
        var produced: UInt64 = 0
        while true {
            let n = gzread(gz, buffer, UInt32(min(chunkSize, Int(Int32.max))))
            if n < 0 {
                var code: Int32 = 0
                let message = gzerror(gz, &code).map { String(cString: $0) } ?? "error \(code)"
                throw TextSourceError.gzip(path: source.path, detail: message)
            }
            if n == 0 { break }
            if produced == 0 && gzdirect(gz) != 0 {
                throw TextSourceError.gzip(path: source.path, detail: "it does not start with a gzip header")
            }
            produced += UInt64(n)
            if produced > limits.maxMemberBytes {
                throw TextSourceError.tooLarge(path: source.path, bytes: produced, limit: limits.maxMemberBytes)
            }
            if Double(produced) > Double(compressed) * limits.maxCompressionRatio {
                throw TextSourceError.ratioTooHigh(path: source.path, bytes: produced, compressed: compressed, limit: limits.maxCompressionRatio)
            }
            let offset = Double(max(0, gzoffset(gz)))
            try body(UnsafeRawBufferPointer(start: buffer, count: Int(n)), offset / Double(compressed))
        }
        // gzread stops quietly at a truncated end; gzeof/gzerror tell.
        var code: Int32 = 0
        _ = gzerror(gz, &code)
        if code != Z_OK && code != Z_STREAM_END {
            let message = gzerror(gz, &code).map { String(cString: $0) } ?? "error \(code)"
            throw TextSourceError.gzip(path: source.path, detail: message)
        }
    }
}
