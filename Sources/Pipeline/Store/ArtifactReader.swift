import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A read-only, memory-mapped artifact. Arrays inside are handed out as buffer pointers into
/// the mapping, valid as long as the reader lives.
/// `@unchecked Sendable`: the mapping is read-only (PROT_READ) and lives as long as the reader.
public final class ArtifactReader: @unchecked Sendable {
    public let path: String
    public let header: ArtifactHeader
    private let base: UnsafeMutableRawPointer?
    private let mappedLength: Int

    /// The payload bytes (after the 128-byte header).
    public var payload: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base.map { UnsafeRawPointer($0) + ArtifactHeader.size }, count: Int(header.payloadLength))
    }

    /// Maps `path` and checks its header; `expectedKind`/`maxVersion` when the caller knows them.
    public init(path: String, expectedKind: String? = nil, maxVersion: UInt16? = nil) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw StoreError.io(operation: "open", path: path, errno: errno) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw StoreError.io(operation: "stat", path: path, errno: errno) }
        let size = Int(st.st_size)
        guard size >= ArtifactHeader.size else {
            throw ArtifactError.truncated(file: path, detail: "\(size) bytes, shorter than the \(ArtifactHeader.size)-byte header")
        }
        guard let m = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), m != MAP_FAILED else {
            throw StoreError.io(operation: "mmap", path: path, errno: errno)
        }
        base = m
        mappedLength = size
        let header: ArtifactHeader
        do {
            header = try ArtifactHeader.decode(UnsafeRawBufferPointer(start: m, count: ArtifactHeader.size), file: path)
        } catch {
            munmap(m, size)
            throw error
        }
        self.header = header
        if UInt64(size - ArtifactHeader.size) != header.payloadLength {
            munmap(m, size)
            if UInt64(size - ArtifactHeader.size) < header.payloadLength {
                throw ArtifactError.truncated(file: path, detail: "payload is \(size - ArtifactHeader.size) bytes, header says \(header.payloadLength)")
            }
            throw ArtifactError.malformed(file: path, detail: "\(UInt64(size - ArtifactHeader.size) - header.payloadLength) unexpected bytes after the payload")
        }
        if let expectedKind, header.kind != expectedKind {
            munmap(m, size)
            throw ArtifactError.wrongKind(file: path, expected: expectedKind, found: header.kind)
        }
        if let maxVersion, header.formatVersion > maxVersion {
            munmap(m, size)
            throw ArtifactError.unsupportedVersion(file: path, what: "\(header.kind)", found: Int(header.formatVersion), supported: Int(maxVersion))
        }
        // Large sequential reads: tell the kernel.
        madvise(m, size, MADV_WILLNEED)
    }

    deinit {
        if let base { munmap(base, mappedLength) }
    }

    /// Recomputes the payload's SHA-256 and compares it with the header.
    public func verify() throws {
        var hasher = SHA256()
        let p = payload
        var offset = 0
        let chunk = 8 << 20
        while offset < p.count {
            let n = min(chunk, p.count - offset)
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: p[offset..<(offset + n)]))
            offset += n
        }
        guard Array(hasher.finalize()) == header.payloadSHA256 else { throw ArtifactError.corrupted(file: path) }
    }

    /// A cursor over the payload for decoding sections in order.
    public func cursor() -> PayloadCursor { PayloadCursor(payload, file: path) }
}

/// Reads little-endian values and aligned arrays from a payload, with bounds checks that turn
/// into `ArtifactError.malformed` instead of crashes.
public struct PayloadCursor {
    public let bytes: UnsafeRawBufferPointer
    public private(set) var offset = 0
    let file: String

    public init(_ bytes: UnsafeRawBufferPointer, file: String) {
        self.bytes = bytes
        self.file = file
    }

    public var remaining: Int { bytes.count - offset }

    mutating func need(_ n: Int, _ what: String) throws {
        guard n >= 0, offset + n <= bytes.count else {
            throw ArtifactError.malformed(file: file, detail: "\(what) runs past the end of the payload (offset \(offset), need \(n) bytes)")
        }
    }

    public mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: String = "value") throws -> T {
        try need(MemoryLayout<T>.size, what)
        let v = T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += MemoryLayout<T>.size
        return v
    }

    public mutating func readDouble(_ what: String = "value") throws -> Double {
        Double(bitPattern: try read(UInt64.self, what))
    }

    public mutating func readFloat(_ what: String = "value") throws -> Float {
        Float(bitPattern: try read(UInt32.self, what))
    }

    /// An array of `count` values, in place (no copy). The writer aligned it.
    public mutating func readArray<T: BitwiseCopyable>(_: T.Type, count: Int, _ what: String) throws -> UnsafeBufferPointer<T> {
        let n = count * MemoryLayout<T>.stride
        try need(n, what)
        let start = bytes.baseAddress! + offset
        guard Int(bitPattern: start) % MemoryLayout<T>.alignment == 0 else {
            throw ArtifactError.malformed(file: file, detail: "\(what) is not aligned")
        }
        offset += n
        return UnsafeBufferPointer(start: start.assumingMemoryBound(to: T.self), count: count)
    }

    public mutating func readBytes(count: Int, _ what: String) throws -> UnsafeRawBufferPointer {
        try need(count, what)
        let r = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])
        offset += count
        return r
    }

    public mutating func align(to alignment: Int = 8) {
        let rem = offset % alignment
        if rem != 0 { offset = min(bytes.count, offset + alignment - rem) }
    }

    /// Reads a list written by `ArtifactWriter.write(strings:)`.
    public mutating func readStrings(_ what: String) throws -> StringTable {
        align()
        let count = Int(try read(UInt64.self, "\(what) count"))
        guard count >= 0, count < 1 << 40 else { throw ArtifactError.malformed(file: file, detail: "\(what) count \(count)") }
        let offsets = try readArray(UInt64.self, count: count + 1, "\(what) offsets")
        let total = Int(offsets[count])
        let blob = try readBytes(count: total, "\(what) bytes")
        align()
        // Offsets must be monotone within the blob.
        var last: UInt64 = 0
        for o in offsets {
            guard o >= last, o <= UInt64(total) else { throw ArtifactError.malformed(file: file, detail: "\(what) offsets are not increasing") }
            last = o
        }
        return StringTable(offsets: offsets, blob: blob)
    }
}

/// Strings stored as one blob plus offsets, read in place.
/// `@unchecked Sendable`: it points into a read-only mapping kept alive by its reader.
public struct StringTable: @unchecked Sendable {
    public let offsets: UnsafeBufferPointer<UInt64>
    public let blob: UnsafeRawBufferPointer
    public var count: Int { offsets.count - 1 }

    public func bytes(_ i: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: blob[Int(offsets[i])..<Int(offsets[i + 1])])
    }

    public subscript(i: Int) -> String { String(decoding: bytes(i), as: UTF8.self) }

    public func strings() -> [String] { (0..<count).map { self[$0] } }
}
