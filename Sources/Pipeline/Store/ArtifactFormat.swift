import Crypto
import Foundation

#if _endian(big)
#error("w2v-pipe artifacts are little-endian; this platform is big-endian")
#endif

/// The fixed header every artifact file starts with.
///
/// ```
/// offset size
///      0    8  magic "W2VPIPE\0"
///      8    2  container version (UInt16 LE) = 1
///     10    2  kind format version (UInt16 LE)
///     12    4  header size (UInt32 LE) = 128
///     16   32  kind name, ASCII, NUL padded ("tokens", "vocab", …)
///     48    8  payload length in bytes (UInt64 LE)
///     56   32  SHA-256 of the payload
///     88   40  reserved, zero
///    128    …  payload (little-endian; sections aligned to 8 bytes by the writer)
/// ```
/// The object's identity (its digest, and its file name in the store) is the SHA-256 of these
/// 128 header bytes, which commit to the payload through its hash.
public struct ArtifactHeader: Equatable, Sendable {
    public static let magic: [UInt8] = Array("W2VPIPE\0".utf8)
    public static let containerVersion: UInt16 = 1
    public static let size = 128

    public var kind: String
    public var formatVersion: UInt16
    public var payloadLength: UInt64
    public var payloadSHA256: [UInt8]

    public init(kind: String, formatVersion: UInt16, payloadLength: UInt64, payloadSHA256: [UInt8]) {
        precondition(kind.utf8.count <= 32 && kind.allSatisfy(\.isASCII), "artifact kind names are ASCII, at most 32 bytes")
        self.kind = kind
        self.formatVersion = formatVersion
        self.payloadLength = payloadLength
        self.payloadSHA256 = payloadSHA256
    }

    public func encoded() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Self.size)
        bytes.replaceSubrange(0..<8, with: Self.magic)
        withUnsafeBytes(of: Self.containerVersion.littleEndian) { bytes.replaceSubrange(8..<10, with: $0) }
        withUnsafeBytes(of: formatVersion.littleEndian) { bytes.replaceSubrange(10..<12, with: $0) }
        withUnsafeBytes(of: UInt32(Self.size).littleEndian) { bytes.replaceSubrange(12..<16, with: $0) }
        let k = Array(kind.utf8)
        bytes.replaceSubrange(16..<(16 + k.count), with: k)
        withUnsafeBytes(of: payloadLength.littleEndian) { bytes.replaceSubrange(48..<56, with: $0) }
        bytes.replaceSubrange(56..<88, with: payloadSHA256)
        return bytes
    }

    /// The digest that names the object: SHA-256 of the encoded header.
    public var objectDigest: String { SHA256.hash(data: encoded()).hexString }

    /// Parses and checks a header. `file` is only for messages.
    public static func decode(_ raw: UnsafeRawBufferPointer, file: String) throws -> ArtifactHeader {
        guard raw.count >= size else {
            throw ArtifactError.truncated(file: file, detail: "\(raw.count) bytes, shorter than the \(size)-byte header")
        }
        guard Array(raw[0..<8]) == magic else { throw ArtifactError.notAnArtifact(file: file) }
        let container = raw.loadUnaligned(fromByteOffset: 8, as: UInt16.self).littleEndian
        guard container == containerVersion else {
            throw ArtifactError.unsupportedVersion(file: file, what: "container", found: Int(container), supported: Int(containerVersion))
        }
        let formatVersion = raw.loadUnaligned(fromByteOffset: 10, as: UInt16.self).littleEndian
        let headerSize = raw.loadUnaligned(fromByteOffset: 12, as: UInt32.self).littleEndian
        guard headerSize == size else { throw ArtifactError.notAnArtifact(file: file) }
        let kindBytes = raw[16..<48].prefix { $0 != 0 }
        let kind = String(decoding: kindBytes, as: UTF8.self)
        let payloadLength = raw.loadUnaligned(fromByteOffset: 48, as: UInt64.self).littleEndian
        let sha = Array(raw[56..<88])
        return ArtifactHeader(kind: kind, formatVersion: formatVersion, payloadLength: payloadLength, payloadSHA256: sha)
    }
}

public enum ArtifactError: Error, CustomStringConvertible, Equatable {
    case notAnArtifact(file: String)
    case truncated(file: String, detail: String)
    case corrupted(file: String)
    case wrongKind(file: String, expected: String, found: String)
    case unsupportedVersion(file: String, what: String, found: Int, supported: Int)
    case malformed(file: String, detail: String)

    public var description: String {
        switch self {
        case .notAnArtifact(let f):
            return "\(f) is not a w2v-pipe artifact (bad magic or header); remove it, or run `w2v-pipe gc` to clean the store"
        case .truncated(let f, let d):
            return "\(f) is truncated (\(d)); it will be recomputed on the next run"
        case .corrupted(let f):
            return "\(f) is corrupted: its payload does not match the SHA-256 in its header; it will be recomputed on the next run"
        case .wrongKind(let f, let e, let found):
            return "\(f) holds a \(found) artifact where a \(e) artifact was expected"
        case .unsupportedVersion(let f, let what, let found, let supported):
            return "\(f) uses \(what) format version \(found), but this w2v-pipe reads up to version \(supported); upgrade w2v-pipe, or delete the artifact and rerun to rebuild it with this version"
        case .malformed(let f, let d):
            return "\(f) is malformed: \(d)"
        }
    }
}

extension Sequence where Element == UInt8 {
    public var hexString: String {
        var s = ""
        s.reserveCapacity(64)
        for b in self {
            s.append(Character(Unicode.Scalar(hexDigits[Int(b >> 4)])))
            s.append(Character(Unicode.Scalar(hexDigits[Int(b & 15)])))
        }
        return s
    }
}
private let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

extension Digest {
    public var hexString: String { self.withUnsafeBytes { Array($0) }.hexString }
}
