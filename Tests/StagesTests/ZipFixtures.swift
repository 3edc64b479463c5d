import CLibzip
import Foundation

/// Builds zip files for tests through libzip's writing API.
enum ZipFixtures {
    struct Member {
        var name: String
        var content: [UInt8]
        var password: String? = nil
        var stored = false
    }

    static func make(at path: String, _ members: [Member]) throws {
        unlink(path)
        var code: Int32 = 0
        guard let za = zip_open(path, ZIP_CREATE | ZIP_EXCL, &code) else { throw Failure("zip_open \(code)") }
        for m in members {
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(1, m.content.count), alignment: 1)
            m.content.withUnsafeBytes { if $0.count > 0 { buffer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
            // freep = 1: libzip frees the buffer with free(); allocate with malloc instead.
            let mallocd = malloc(max(1, m.content.count))!
            mallocd.copyMemory(from: buffer, byteCount: m.content.count)
            buffer.deallocate()
            guard let src = zip_source_buffer(za, mallocd, zip_uint64_t(m.content.count), 1) else { throw Failure("source") }
            let idx = zip_file_add(za, m.name, src, zip_flags_t(ZIP_FL_ENC_UTF_8))
            guard idx >= 0 else { throw Failure("add") }
            if m.stored { zip_set_file_compression(za, zip_uint64_t(idx), ZIP_CM_STORE, 0) }
            if let pw = m.password {
                guard zip_file_set_encryption(za, zip_uint64_t(idx), UInt16(ZIP_EM_AES_256), pw) == 0 else {
                    throw Failure("encryption not supported by this libzip")
                }
            }
        }
        guard zip_close(za) == 0 else { throw Failure("zip_close") }
    }

    struct Failure: Error { let what: String; init(_ w: String) { what = w } }
}
