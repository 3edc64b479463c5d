import Foundation
import Pipeline
#if canImport(Glibc)
import Glibc
#endif

/// A scratch file for spilled data: created in a folder and unlinked at once, so it has no name
/// and disappears when it is closed (deinit), when the stage fails, or when the process dies.
/// Appends go through `ScratchWriter`; reads are positioned (`pread`), so several readers can
/// share one file.
final class ScratchFile {
    let fd: Int32
    let path: String

    init(directory: String) throws {
        path = directory + "/\(ProcessInfo.processInfo.processIdentifier)-\(UInt64.random(in: 0 ... .max)).cooccur-scratch"
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StoreError.io(operation: "create scratch file", path: path, errno: errno) }
        unlink(path)
    }

    deinit { close(fd) }

    /// Appends `bytes` (the file is only ever appended to).
    func append(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress else { return }
        var done = 0
        while done < bytes.count {
            let n = write(fd, base + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw StoreError.io(operation: "write scratch file", path: path, errno: errno)
            }
            done += n
        }
    }

    /// Reads exactly `count` bytes at `offset` into `destination`.
    func read(into destination: UnsafeMutableRawPointer, count: Int, at offset: Int) throws {
        var done = 0
        while done < count {
            let n = pread(fd, destination + done, count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw StoreError.io(operation: "read scratch file", path: path, errno: errno)
            }
            if n == 0 { throw CooccurrenceError.internalInconsistency("scratch file \(path) ended at \(offset + done) bytes, \(count - done) short") }
            done += n
        }
    }
}

/// Buffered appends of plain values to a `ScratchFile`; `offset` counts every byte appended so
/// far (buffered or not). Call `flush()` before reading back what was appended.
final class ScratchWriter {
    let file: ScratchFile
    private let buffer: UnsafeMutableRawPointer
    private let capacity: Int
    private var used = 0
    private(set) var offset = 0

    init(_ file: ScratchFile, bufferBytes: Int = 1 << 20) {
        self.file = file
        capacity = max(64, bufferBytes)
        buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
    }

    deinit { buffer.deallocate() }

    var bufferBytes: Int { capacity }

    @inline(__always)
    func append<T: BitwiseCopyable>(_ value: T) throws {
        let size = MemoryLayout<T>.size
        if used + size > capacity { try flush() }
        buffer.storeBytes(of: value, toByteOffset: used, as: T.self)
        used += size
        offset += size
    }

    func flush() throws {
        guard used > 0 else { return }
        try file.append(UnsafeRawBufferPointer(start: buffer, count: used))
        used = 0
    }
}
