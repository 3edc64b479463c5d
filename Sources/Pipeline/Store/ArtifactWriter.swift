import CStoreSupport
import Crypto
import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes one artifact to a temporary file: header placeholder, then a payload streamed
/// through a buffer and a running SHA-256. `finish()` writes the real header and fsyncs;
/// the store then renames the file into place. Nothing is visible under `objects/` before that.
public final class ArtifactWriter {
    public let kind: String
    public let formatVersion: UInt16
    public let temporaryPath: String
    private var fd: Int32
    private var hasher = SHA256()
    private var buffer: UnsafeMutableRawPointer
    private var buffered = 0
    private let capacity = 1 << 20
    public private(set) var payloadLength: UInt64 = 0
    private var finished = false
    private var finishedHeader: ArtifactHeader?

    init(kind: String, formatVersion: UInt16, temporaryPath: String) throws {
        self.kind = kind
        self.formatVersion = formatVersion
        self.temporaryPath = temporaryPath
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StoreError.io(operation: "create", path: temporaryPath, errno: errno) }
        buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
        let zeros = [UInt8](repeating: 0, count: ArtifactHeader.size)
        try zeros.withUnsafeBytes { try writeAll($0) }
    }

    deinit {
        buffer.deallocate()
        if !finished {
            close(fd)
            unlink(temporaryPath)
        }
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        try ArtifactWriter.writeAll(bytes, fd: fd, path: temporaryPath)
        written += Int64(bytes.count)
        if written - writebackStart >= ArtifactWriter.writebackBatch {
            _ = w2v_start_writeback(fd, writebackStart, written - writebackStart)
            writebackStart = written
        }
    }

    /// Bytes in the file so far (header placeholder included), and where the part whose
    /// writeback has not been started begins.
    private var written: Int64 = 0
    private var writebackStart: Int64 = 0
    /// Once this many bytes are written and not yet on their way to the device, their writeback
    /// is started (`w2v_start_writeback`), so `finish()`'s fsync waits for little more than the
    /// tail: on the AMD VM (2026-12-04) a 56 MB file's fsync took ~22 ms, ~0.2–7 ms when
    /// writeback had been started ~20 ms before.
    static let writebackBatch: Int64 = 8 << 20

    /// The most bytes one write(2) is given. The kernel may size the page cache's pages by the
    /// write (large folios: ext4 on Linux 6.18), and on a VM whose host takes freed memory back
    /// the larger ones come from memory the host must provide again. On the 2-vCPU AMD VM of
    /// 2026-12-04, 81 MB written into a new file 4 s after the last such write (3 runs each):
    /// in 27 MB writes 235–328 ms, 8 MB 303–399 ms, 1 MB 124–201 ms, 256 KB 20–23 ms, 64 KB
    /// 23–27 ms; the train stage's two 27 MB table writes took 0.14–0.17 s each.
    static let writeChunk = 256 << 10

    fileprivate static func writeAll(_ bytes: UnsafeRawBufferPointer, fd: Int32, path: String) throws {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, min(writeChunk, bytes.count - offset))
            if n < 0 {
                if errno == EINTR { continue }
                throw StoreError.io(operation: "write", path: path, errno: errno)
            }
            offset += n
        }
    }

    private func flush() throws {
        guard buffered > 0 else { return }
        let chunk = UnsafeRawBufferPointer(start: buffer, count: buffered)
        hasher.update(bufferPointer: chunk)
        try writeAll(chunk)
        buffered = 0
    }

    /// Buffers of at least this many bytes are hashed on one thread while a second writes them.
    static let concurrentWriteThreshold = 4 << 20

    /// Hashes and writes `bytes` (already flushed past the buffer): on two threads at once when
    /// it is large. Hashing (SHA-256, ~1.7 GB/s on a Zen 4 core) and copying into the page cache
    /// take comparable time, so a large table is written in about the time of the slower one
    /// rather than of both (on a 2-vCPU VM, 2026-12-04: a 56 MB model ~45–48 → ~32–42 ms into
    /// warm pages; fresh pages cost the hypervisor ~2 ms per MB either way).
    private func hashAndWrite(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count >= ArtifactWriter.concurrentWriteThreshold, ProcessInfo.processInfo.activeProcessorCount > 1 else {
            hasher.update(bufferPointer: bytes)
            try writeAll(bytes)
            return
        }
        let job = BackgroundWrite(fd: fd, path: temporaryPath, bytes: bytes, writebackFrom: writebackStart, at: written)
        Thread { job.run() }.start()
        hasher.update(bufferPointer: bytes)
        job.done.wait()   // `bytes` stays the caller's until the write has ended
        if let error = job.error { throw error }
        written += Int64(bytes.count)
        writebackStart = written
    }

    /// Appends raw bytes to the payload.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        if bytes.count >= capacity {
            try flush()
            try hashAndWrite(bytes)
        } else {
            if buffered + bytes.count > capacity { try flush() }
            (buffer + buffered).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
            buffered += bytes.count
        }
        payloadLength += UInt64(bytes.count)
    }

    public func write<T: FixedWidthInteger>(_ value: T) throws {
        try withUnsafeBytes(of: value.littleEndian) { try write($0) }
    }

    public func write(_ value: Double) throws { try write(value.bitPattern) }
    public func write(_ value: Float) throws { try write(value.bitPattern) }

    /// Appends a contiguous array of plain values (little-endian platform).
    public func write<T: BitwiseCopyable>(array: UnsafeBufferPointer<T>) throws {
        guard array.count > 0 else { return }
        try write(UnsafeRawBufferPointer(array))
    }

    public func write<T: BitwiseCopyable>(array: [T]) throws {
        try array.withUnsafeBufferPointer { try write(array: $0) }
    }

    /// Pads the payload with zeros so the next section starts at a multiple of `alignment`
    /// (payload offsets; the payload itself starts at a 128-byte boundary).
    public func align(to alignment: Int = 8) throws {
        let rem = Int(payloadLength % UInt64(alignment))
        if rem != 0 {
            let zeros = [UInt8](repeating: 0, count: alignment - rem)
            try zeros.withUnsafeBytes { try write($0) }
        }
    }

    /// A length-prefixed list of strings: count, offsets (count+1 × UInt64), bytes, padding.
    public func write(strings: [String]) throws {
        try align()
        try write(UInt64(strings.count))
        var offsets = [UInt64]()
        offsets.reserveCapacity(strings.count + 1)
        var total: UInt64 = 0
        offsets.append(0)
        for s in strings { total += UInt64(s.utf8.count); offsets.append(total) }
        try write(array: offsets)
        for var s in strings {
            try s.withUTF8 { try write(UnsafeRawBufferPointer($0)) }
        }
        try align()
    }

    /// Writes the header, fsyncs and closes. Returns the header (whose digest names the object);
    /// once it has succeeded, a second call returns the same header and does nothing.
    func finish() throws -> ArtifactHeader {
        if let finishedHeader { return finishedHeader }
        try flush()
        let digest = Array(hasher.finalize())
        let header = ArtifactHeader(kind: kind, formatVersion: formatVersion, payloadLength: payloadLength, payloadSHA256: digest)
        let bytes = header.encoded()
        let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress!, $0.count, 0) }
        guard n == ArtifactHeader.size else { throw StoreError.io(operation: "write header", path: temporaryPath, errno: errno) }
        guard fsync(fd) == 0 else { throw StoreError.io(operation: "fsync", path: temporaryPath, errno: errno) }
        close(fd)
        finished = true
        finishedHeader = header
        return header
    }

    /// Finishes `writers` (each `finish()`: header, fsync, close) at the same time, one thread
    /// each, so their fsyncs overlap (on the AMD VM, 2026-12-04: a 56 MB and a 28 MB file
    /// ~33–49 ms one after the other, ~27–35 ms together). Throws the first writer's error, after all have ended.
    static func finishAll(_ writers: [ArtifactWriter]) throws {
        guard writers.count > 1 else {
            for w in writers { _ = try w.finish() }
            return
        }
        let jobs = writers.map { BackgroundFinish($0) }
        for job in jobs.dropFirst() { Thread { job.run() }.start() }
        jobs[0].run()
        for job in jobs {
            job.done.wait()
        }
        if let error = jobs.lazy.compactMap({ $0.error }).first { throw error }
    }

    /// Drops the temporary file (also one finished but not yet moved into the store, when
    /// another output of the stage failed to finish).
    func abandon() {
        if !finished {
            close(fd)
            unlink(temporaryPath)
            finished = true
        } else if finishedHeader != nil {
            unlink(temporaryPath)
            finishedHeader = nil
        }
    }
}

/// The writing half of `ArtifactWriter.hashAndWrite`, run on its own thread while the caller hashes.
/// `@unchecked Sendable`: `bytes` is only read, and stays valid until the caller has waited on
/// `done`; `error` is set before `done` is signalled and read after.
private final class BackgroundWrite: @unchecked Sendable {
    let fd: Int32
    let path: String
    let bytes: UnsafeRawBufferPointer
    let done = DispatchSemaphore(value: 0)
    let writebackFrom: Int64, offset: Int64
    var error: Error?

    /// `bytes` go to the file at `offset` (where its end is); writeback is then started from `writebackFrom`.
    init(fd: Int32, path: String, bytes: UnsafeRawBufferPointer, writebackFrom: Int64, at offset: Int64) {
        self.fd = fd
        self.path = path
        self.bytes = bytes
        self.writebackFrom = writebackFrom
        self.offset = offset
    }

    func run() {
        do {
            try ArtifactWriter.writeAll(bytes, fd: fd, path: path)
            _ = w2v_start_writeback(fd, writebackFrom, offset + Int64(bytes.count) - writebackFrom)
        } catch {
            self.error = error
        }
        done.signal()
    }
}

/// One writer of `ArtifactWriter.finishAll`, finished on its own thread. `@unchecked Sendable`:
/// the writer is touched only by that thread until `done` is signalled, and `error` is read after.
private final class BackgroundFinish: @unchecked Sendable {
    let writer: ArtifactWriter
    let done = DispatchSemaphore(value: 0)
    var error: Error?

    init(_ writer: ArtifactWriter) { self.writer = writer }

    func run() {
        do { _ = try writer.finish() } catch { self.error = error }
        done.signal()
    }
}
