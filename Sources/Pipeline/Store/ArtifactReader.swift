import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A read-only, memory-mapped artifact. Arrays inside are handed out as `MappedArray`s, which
/// keep the mapping alive; raw pointers into it exist only inside `withPayload` and
/// `MappedArray.withUnsafeBufferPointer`.
/// `@unchecked Sendable`: the mapping is read-only (PROT_READ) and lives as long as the reader.
public final class ArtifactReader: @unchecked Sendable {
    public let path: String
    public let header: ArtifactHeader
    private let base: UnsafeMutableRawPointer?
    private let mappedLength: Int

    /// The payload bytes (after the 128-byte header), valid only inside `body`.
    public func withPayload<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withExtendedLifetime(self) { try body(payload) }
    }

    /// The payload's length in bytes.
    public var payloadCount: Int { Int(header.payloadLength) }

    /// A copy of the payload (for small artifacts such as reports).
    public func payloadData() -> Data { withPayload { Data($0) } }

    private var payload: UnsafeRawBufferPointer {
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
            // Let the pages go once hashed, so verifying a large artifact does not hold it all in
            // memory (read-only file pages: dropping them loses nothing).
            if let base, n == chunk {
                let page = 4096
                let from = (ArtifactHeader.size + offset - n) / page * page
                let to = (ArtifactHeader.size + offset) / page * page
                if to > from { madvise(base + from, to - from, MADV_DONTNEED) }
            }
        }
        guard Array(hasher.finalize()) == header.payloadSHA256 else { throw ArtifactError.corrupted(file: path) }
    }

    /// A cursor over the payload for decoding sections in order.
    public func cursor() -> PayloadCursor { PayloadCursor(payload, file: path, owner: self) }
}

/// Reads little-endian values and aligned arrays from a payload, with bounds checks that turn
/// into `ArtifactError.malformed` instead of crashes.
///
/// A cursor from `ArtifactReader.cursor()` keeps the reader alive; one made from bare bytes
/// (`init(_:file:)`) needs its bytes to outlive every array it hands out.
public struct PayloadCursor {
    private let bytes: UnsafeRawBufferPointer
    private let owner: AnyObject?
    public private(set) var offset = 0
    let file: String

    public init(_ bytes: UnsafeRawBufferPointer, file: String) {
        self.init(bytes, file: file, owner: nil)
    }

    init(_ bytes: UnsafeRawBufferPointer, file: String, owner: AnyObject?) {
        self.bytes = bytes
        self.file = file
        self.owner = owner
    }

    public var remaining: Int { bytes.count - offset }
    public var payloadCount: Int { bytes.count }

    /// Moves to `position` (a payload offset), e.g. to a trailer written last by a streaming writer.
    public mutating func seek(to position: Int, _ what: String) throws {
        guard position >= 0, position <= bytes.count else {
            throw ArtifactError.malformed(file: file, detail: "\(what) at offset \(position) lies outside the \(bytes.count)-byte payload")
        }
        offset = position
    }

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

    /// A count or size stored as UInt64, refused (not trapped) when it does not fit an `Int`.
    public mutating func readInt(_ what: String = "value") throws -> Int {
        let v = try read(UInt64.self, what)
        guard let i = Int(exactly: v) else { throw ArtifactError.malformed(file: file, detail: "\(what) \(v) is out of range") }
        return i
    }

    /// `a × b` for an array's element count, refused when it overflows.
    public func product(_ a: Int, _ b: Int, _ what: String) throws -> Int {
        let (p, overflow) = a.multipliedReportingOverflow(by: b)
        guard !overflow else { throw ArtifactError.malformed(file: file, detail: "\(what): \(a) × \(b) is out of range") }
        return p
    }

    public mutating func readDouble(_ what: String = "value") throws -> Double {
        Double(bitPattern: try read(UInt64.self, what))
    }

    public mutating func readFloat(_ what: String = "value") throws -> Float {
        Float(bitPattern: try read(UInt32.self, what))
    }

    /// An array of `count` values, in place (no copy). The writer aligned it.
    public mutating func readArray<T: BitwiseCopyable>(_: T.Type, count: Int, _ what: String) throws -> MappedArray<T> {
        guard count >= 0, count <= bytes.count / max(1, MemoryLayout<T>.stride) else {
            throw ArtifactError.malformed(file: file, detail: "\(what): \(count) values do not fit in the payload")
        }
        let n = count * MemoryLayout<T>.stride
        try need(n, what)
        if n == 0 { return MappedArray() }
        let start = bytes.baseAddress! + offset
        guard Int(bitPattern: start) % MemoryLayout<T>.alignment == 0 else {
            throw ArtifactError.malformed(file: file, detail: "\(what) is not aligned")
        }
        offset += n
        return MappedArray(UnsafeBufferPointer(start: start.assumingMemoryBound(to: T.self), count: count), owner: owner)
    }

    public mutating func readBytes(count: Int, _ what: String) throws -> MappedArray<UInt8> {
        try readArray(UInt8.self, count: count, what)
    }

    public mutating func align(to alignment: Int = 8) {
        let rem = offset % alignment
        if rem != 0 { offset = min(bytes.count, offset + alignment - rem) }
    }

    /// Reads a list written by `ArtifactWriter.write(strings:)`.
    public mutating func readStrings(_ what: String) throws -> StringTable {
        align()
        let count = try readInt("\(what) count")
        guard count >= 0, count < 1 << 40 else { throw ArtifactError.malformed(file: file, detail: "\(what) count \(count)") }
        let offsets = try readArray(UInt64.self, count: count + 1, "\(what) offsets")
        guard let total = Int(exactly: offsets[count]) else {
            throw ArtifactError.malformed(file: file, detail: "\(what) byte count \(offsets[count])")
        }
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
public struct StringTable: Sendable {
    private let offsets: MappedArray<UInt64>
    private let blob: MappedArray<UInt8>
    init(offsets: MappedArray<UInt64>, blob: MappedArray<UInt8>) {
        self.offsets = offsets
        self.blob = blob
    }
    public var count: Int { offsets.count - 1 }

    /// The UTF-8 bytes of string `i`, valid only inside `body`.
    public func withBytes<R>(_ i: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try blob.withUnsafeBufferPointer { b in
            try body(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: b[Int(offsets[i])..<Int(offsets[i + 1])])))
        }
    }

    public subscript(i: Int) -> String { withBytes(i) { String(decoding: $0, as: UTF8.self) } }

    /// True when string `a` sorts before string `b` by their bytes (shorter first on a tie).
    public func bytesPrecede(_ a: Int, _ b: Int) -> Bool {
        withBytes(a) { x in
            withBytes(b) { y in
                let n = min(x.count, y.count)
                let c = n == 0 ? 0 : memcmp(x.baseAddress!, y.baseAddress!, n)
                return c != 0 ? c < 0 : x.count < y.count
            }
        }
    }

    public func strings() -> [String] { (0..<count).map { self[$0] } }
}
