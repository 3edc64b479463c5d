import CLibzip
import Foundation
import Pipeline
#if canImport(Glibc)
import Glibc
#endif

/// Errors reading a zip archive, each with what to do about it.
public enum ZipError: Error, CustomStringConvertible, Equatable {
    case fileMissing(path: String)
    case notAZip(path: String)
    case truncated(path: String, detail: String)
    case noMembers(path: String)
    case memberNotFound(path: String, member: String, available: [String])
    case ambiguousMember(path: String, members: [String])
    case encrypted(path: String, member: String)
    case emptyMember(path: String, member: String)
    case crcMismatch(path: String, member: String)
    case readFailed(path: String, member: String, detail: String)
    case unsupportedCompression(path: String, member: String, detail: String)
    /// The member is (`declared`: says in the central directory it is) larger than `limit` bytes.
    case memberTooLarge(path: String, member: String, bytes: UInt64, limit: UInt64, declared: Bool)
    /// The member expands (`declared`: says it expands) more than `limit` times its compressed size.
    case compressionRatioTooHigh(path: String, member: String, bytes: UInt64, compressedBytes: UInt64, limit: Double, declared: Bool)

    public var description: String {
        switch self {
        case .fileMissing(let p):
            return "zip file not found: \(p)"
        case .notAZip(let p):
            return "\(p) is not a zip archive; give the path of a .zip file (e.g. text8.zip), or use a plain-text corpus with the tokenize stage's input"
        case .truncated(let p, let d):
            return "\(p) is a damaged or truncated zip archive (\(d)); download it again and compare its size with the source's"
        case .noMembers(let p):
            return "\(p) holds no files"
        case .memberNotFound(let p, let m, let available):
            return "\(p) has no member named \"\(m)\"; it holds: \(available.map { "\"\($0)\"" }.joined(separator: ", "))"
        case .ambiguousMember(let p, let members):
            return "\(p) holds \(members.count) members; choose one with params.member: \(members.prefix(20).map { "\"\($0)\"" }.joined(separator: ", "))\(members.count > 20 ? ", …" : "")"
        case .encrypted(let p, let m):
            return "member \"\(m)\" of \(p) is encrypted; w2v-pipe reads unencrypted archives only: extract it with your password and zip it again without one"
        case .emptyMember(let p, let m):
            return "member \"\(m)\" of \(p) is empty (0 bytes); there is no text to train on"
        case .crcMismatch(let p, let m):
            return "member \"\(m)\" of \(p) fails its CRC check: the archive is corrupted; download it again"
        case .readFailed(let p, let m, let d):
            return "cannot read member \"\(m)\" of \(p): \(d)"
        case .unsupportedCompression(let p, let m, let d):
            return "member \"\(m)\" of \(p) uses a compression method this libzip cannot read (\(d))"
        case .memberTooLarge(let p, let m, let bytes, let limit, let declared):
            let what = declared
                ? "says it decompresses to \(Format.grouped(bytes)) bytes (\(Format.bytes(bytes)))"
                : "decompressed past \(Format.grouped(limit)) bytes although its header says \(Format.grouped(bytes)) (the archive lies about its sizes: likely a zip bomb)"
            return "member \"\(m)\" of \(p) \(what), over max_member_bytes = \(Format.grouped(limit)) (\(Format.bytes(limit))); nothing past the limit was extracted. "
                + "If you trust the archive, raise the unzip stage's `max_member_bytes` parameter (default \(Format.grouped(ZipArchive.defaultMaxMemberBytes)) = 16 GiB)"
        case .compressionRatioTooHigh(let p, let m, let bytes, let compressed, let limit, let declared):
            let what: String
            if declared {
                let ratio = compressed == 0 ? "from 0 compressed bytes" : "from \(Format.grouped(compressed)) compressed bytes, a compression ratio of \(Self.ratioText((Double(bytes) / Double(compressed)).rounded())):1"
                what = "says it decompresses to \(Format.grouped(bytes)) bytes \(ratio)"
            } else {
                what = "decompressed past \(Self.ratioText(limit)) times its \(Format.grouped(compressed)) compressed bytes although its header says \(Format.grouped(bytes)) bytes (the archive lies about its sizes)"
            }
            return "member \"\(m)\" of \(p) \(what), over max_compression_ratio = \(Self.ratioText(limit)) (text compresses about 3:1; ratios near 1000:1 are zip bombs); nothing past the limit was extracted. "
                + "If you trust the archive, raise the unzip stage's `max_compression_ratio` parameter (default \(Self.ratioText(ZipArchive.defaultMaxCompressionRatio)))"
        }
    }

    static func ratioText(_ r: Double) -> String {
        r == r.rounded() && abs(r) < 1e15 ? Format.grouped(Int64(r)) : String(r)
    }
}

/// A zip archive opened read-only through libzip. C calls are wrapped here once and their
/// error codes turned into `ZipError`.
public final class ZipArchive {
    public struct Member: Equatable {
        public let index: Int
        public let name: String
        public let size: UInt64
        public let compressedSize: UInt64
        public let crc: UInt32
        public let encrypted: Bool
    }

    public let path: String
    private let handle: OpaquePointer

    /// Default for `read`'s `maxMemberBytes` (`max_member_bytes`): 16 GiB, six times the largest
    /// Wikipedia text dumps used for word2vec, far below a disk-filling zip bomb.
    public static let defaultMaxMemberBytes: UInt64 = 16 << 30
    /// Default for `read`'s `maxCompressionRatio` (`max_compression_ratio`): deflate peaks near
    /// 1032:1 on runs of one byte; text compresses 3–5:1. Bombs need ratios beyond this.
    public static let defaultMaxCompressionRatio: Double = 1000

    public init(path: String) throws {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else { throw ZipError.fileMissing(path: path) }
        var code: Int32 = 0
        guard let za = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &code) else {
            throw Self.openError(path: path, code: code)
        }
        handle = za
    }

    deinit { zip_discard(handle) }

    static func openError(path: String, code: Int32) -> ZipError {
        switch code {
        case ZIP_ER_NOENT: return .fileMissing(path: path)
        case ZIP_ER_NOZIP, ZIP_ER_INCONS:
            // A file that starts like a zip but has no readable central directory was cut short.
            if let fh = FileHandle(forReadingAtPath: path), let head = try? fh.read(upToCount: 4), head == Data([0x50, 0x4B, 0x03, 0x04]) {
                return .truncated(path: path, detail: code == ZIP_ER_INCONS ? "inconsistent central directory" : "no end-of-archive record")
            }
            return .notAZip(path: path)
        default:
            return .readFailed(path: path, member: "", detail: Self.message(code))
        }
    }

    static func message(_ code: Int32) -> String {
        var error = zip_error_t()
        zip_error_init_with_code(&error, code)
        defer { zip_error_fini(&error) }
        return String(cString: zip_error_strerror(&error))
    }

    public var members: [Member] {
        let n = zip_get_num_entries(handle, 0)
        guard n > 0 else { return [] }
        return (0..<Int(n)).compactMap { i in
            var st = zip_stat_t()
            zip_stat_init(&st)
            guard zip_stat_index(handle, zip_uint64_t(i), 0, &st) == 0, let name = st.name else { return nil }
            return Member(index: i, name: String(cString: name), size: st.size, compressedSize: st.comp_size,
                          crc: st.crc, encrypted: st.encryption_method != UInt16(ZIP_EM_NONE))
        }
    }

    /// The member named `name`, or the only file member when `name` is nil.
    public func select(_ name: String?) throws -> Member {
        let files = members.filter { !$0.name.hasSuffix("/") }
        guard !files.isEmpty else { throw ZipError.noMembers(path: path) }
        let member: Member
        if let name {
            guard let m = files.first(where: { $0.name == name }) else {
                throw ZipError.memberNotFound(path: path, member: name, available: files.map(\.name))
            }
            member = m
        } else {
            guard files.count == 1 else { throw ZipError.ambiguousMember(path: path, members: files.map(\.name)) }
            member = files[0]
        }
        if member.encrypted { throw ZipError.encrypted(path: path, member: member.name) }
        if member.size == 0 { throw ZipError.emptyMember(path: path, member: member.name) }
        return member
    }

    /// Throws if the member's declared sizes (central directory) exceed the limits: more than
    /// `maxMemberBytes` uncompressed, or more than `maxCompressionRatio` times its compressed size.
    public func checkLimits(_ member: Member, maxMemberBytes: UInt64 = ZipArchive.defaultMaxMemberBytes,
                            maxCompressionRatio: Double = ZipArchive.defaultMaxCompressionRatio) throws {
        if member.size > maxMemberBytes {
            throw ZipError.memberTooLarge(path: path, member: member.name, bytes: member.size, limit: maxMemberBytes, declared: true)
        }
        if exceedsRatio(member.size, compressed: member.compressedSize, maxCompressionRatio) {
            throw ZipError.compressionRatioTooHigh(path: path, member: member.name, bytes: member.size,
                                                   compressedBytes: member.compressedSize, limit: maxCompressionRatio, declared: true)
        }
    }

    /// Whether `bytes` out of `compressed` in is more expansion than `limit` allows (no bytes never is).
    private func exceedsRatio(_ bytes: UInt64, compressed: UInt64, _ limit: Double) -> Bool {
        bytes > 0 && Double(bytes) > Double(compressed) * limit
    }

    /// Streams a member's bytes in chunks; libzip checks the CRC when the member ends.
    ///
    /// Zip bombs are refused: first by the declared sizes (`checkLimits`), then while streaming,
    /// since declared sizes can lie: as soon as the bytes produced pass `maxMemberBytes` or
    /// `maxCompressionRatio` × the compressed size, reading stops with `ZipError.memberTooLarge`
    /// or `.compressionRatioTooHigh`, and `body` never sees the bytes past the limit.
    public func read(_ member: Member, chunkSize: Int = 1 << 20,
                     maxMemberBytes: UInt64 = ZipArchive.defaultMaxMemberBytes,
                     maxCompressionRatio: Double = ZipArchive.defaultMaxCompressionRatio,
                     _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        try checkLimits(member, maxMemberBytes: maxMemberBytes, maxCompressionRatio: maxCompressionRatio)
        guard let file = zip_fopen_index(handle, zip_uint64_t(member.index), 0) else {
            let err = zip_get_error(handle)
            let code = zip_error_code_zip(err)
            if code == ZIP_ER_NOPASSWD || code == ZIP_ER_ENCRNOTSUPP || code == ZIP_ER_WRONGPASSWD {
                throw ZipError.encrypted(path: path, member: member.name)
            }
            if code == ZIP_ER_COMPNOTSUPP {
                throw ZipError.unsupportedCompression(path: path, member: member.name, detail: Self.message(code))
            }
            throw ZipError.readFailed(path: path, member: member.name, detail: String(cString: zip_error_strerror(err)))
        }
        defer { zip_fclose(file) }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunkSize, alignment: 64)
        defer { buffer.deallocate() }
        var total: UInt64 = 0
        while true {
            let n = zip_fread(file, buffer, zip_uint64_t(chunkSize))
            if n < 0 {
                let err = zip_file_get_error(file)
                let code = zip_error_code_zip(err)
                if code == ZIP_ER_CRC { throw ZipError.crcMismatch(path: path, member: member.name) }
                if code == ZIP_ER_EOF || code == ZIP_ER_READ || code == ZIP_ER_ZLIB || code == ZIP_ER_INCONS {
                    throw ZipError.truncated(path: path, detail: "reading \"\(member.name)\" failed after \(total) bytes: \(String(cString: zip_error_strerror(err)))")
                }
                throw ZipError.readFailed(path: path, member: member.name, detail: String(cString: zip_error_strerror(err)))
            }
            if n == 0 { break }
            total += UInt64(n)
            // The declared sizes passed checkLimits, so going past a limit means they lied.
            if total > maxMemberBytes {
                throw ZipError.memberTooLarge(path: path, member: member.name, bytes: member.size, limit: maxMemberBytes, declared: false)
            }
            if exceedsRatio(total, compressed: member.compressedSize, maxCompressionRatio) {
                throw ZipError.compressionRatioTooHigh(path: path, member: member.name, bytes: member.size,
                                                       compressedBytes: member.compressedSize, limit: maxCompressionRatio, declared: false)
            }
            try body(UnsafeRawBufferPointer(start: buffer, count: Int(n)))
        }
        if total != member.size {
            throw ZipError.truncated(path: path, detail: "member \"\(member.name)\" gave \(total) bytes, its header says \(member.size)")
        }
    }
}
