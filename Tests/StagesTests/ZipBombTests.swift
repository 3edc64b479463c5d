import Foundation
import Pipeline
import Testing
@testable import Stages

@Suite("unzip: zip bombs are refused by declared and by streamed sizes")
struct ZipBombTests {
    let dir: String = {
        let d = NSTemporaryDirectory() + "w2v-zipbomb-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }()

    static let fiftyMB = 50 << 20

    /// A zip of one member of 50 MB of zeros (deflate: about 50 kB).
    func zeros(_ name: String) throws -> String {
        let path = dir + "/" + name
        try ZipFixtures.make(at: path, [.init(name: "zeros", content: [UInt8](repeating: 0, count: Self.fiftyMB))])
        return path
    }

    /// Reads the only member with the given limits; returns how many bytes `body` saw before an error.
    func read(_ path: String, maxMemberBytes: UInt64 = ZipArchive.defaultMaxMemberBytes,
              maxCompressionRatio: Double = ZipArchive.defaultMaxCompressionRatio) -> (seen: Int, error: ZipError?) {
        var seen = 0
        do {
            let archive = try ZipArchive(path: path)
            let member = try archive.select(nil)
            try archive.read(member, maxMemberBytes: maxMemberBytes, maxCompressionRatio: maxCompressionRatio) { seen += $0.count }
            return (seen, nil)
        } catch let e as ZipError {
            return (seen, e)
        } catch {
            Issue.record("unexpected error \(error)")
            return (seen, nil)
        }
    }

    /// Rewrites the member's uncompressed size in its local header and its central directory entry.
    func lieAboutSize(_ path: String, size: UInt32) throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        func put(_ v: UInt32, at i: Int) { for k in 0..<4 { bytes[i + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(k))) } }
        #expect(bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]))
        put(size, at: 22)  // local file header: uncompressed size
        let central = try #require((0..<(bytes.count - 4)).last { bytes[$0..<($0 + 4)].elementsEqual([0x50, 0x4B, 0x01, 0x02]) })
        put(size, at: central + 24)  // central directory: uncompressed size
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    @Test func declaredSizeOverTheLimitIsRefusedBeforeExtracting() throws {
        let path = try zeros("big.zip")
        let member = try ZipArchive(path: path).select(nil)
        #expect(member.size == UInt64(Self.fiftyMB))
        let r = read(path, maxMemberBytes: 1 << 20)
        #expect(r.seen == 0)
        #expect(r.error == .memberTooLarge(path: path, member: "zeros", bytes: UInt64(Self.fiftyMB), limit: 1 << 20, declared: true))
        let message = r.error?.description ?? ""
        #expect(message.contains("member \"zeros\" of \(path) says it decompresses to 52,428,800 bytes"))
        #expect(message.contains("over max_member_bytes = 1,048,576"))
        #expect(message.contains("raise the unzip stage's `max_member_bytes` parameter (default 17,179,869,184 = 16 GiB)"))
    }

    @Test func declaredRatioOverTheLimitIsRefusedBeforeExtracting() throws {
        let path = try zeros("ratio.zip")
        let member = try ZipArchive(path: path).select(nil)
        let ratio = Double(member.size) / Double(member.compressedSize)
        #expect(ratio > 1000) // deflate on one repeated byte: about 1030:1
        // Even the defaults refuse 50 MB of zeros; a limit of 10 certainly does.
        for limit in [ZipArchive.defaultMaxCompressionRatio, 10] {
            let r = read(path, maxCompressionRatio: limit)
            #expect(r.seen == 0)
            #expect(r.error == .compressionRatioTooHigh(path: path, member: "zeros", bytes: member.size,
                                                        compressedBytes: member.compressedSize, limit: limit, declared: true))
            let message = r.error?.description ?? ""
            #expect(message.contains("member \"zeros\" of \(path) says it decompresses to 52,428,800 bytes from \(Format.grouped(member.compressedSize)) compressed bytes, a compression ratio of \(Format.grouped(Int64(ratio.rounded()))):1"))
            #expect(message.contains("over max_compression_ratio = \(Format.grouped(Int64(limit)))"))
            #expect(message.contains("raise the unzip stage's `max_compression_ratio` parameter (default 1,000)"))
        }
        // Raised limits let the trusted archive through.
        #expect(read(path, maxCompressionRatio: 2000) == (Self.fiftyMB, nil))
    }

    @Test func lyingHeadersAreCaughtWhileStreaming() throws {
        let path = try zeros("liar.zip")
        try lieAboutSize(path, size: 1000)
        let member = try ZipArchive(path: path).select(nil)
        #expect(member.size == 1000)  // passes every declared check
        // Size: stops within one chunk of the limit; the body never sees more than the limit.
        let bySize = read(path, maxMemberBytes: 4 << 20)
        #expect(bySize.seen <= 4 << 20)
        #expect(bySize.error == .memberTooLarge(path: path, member: "zeros", bytes: 1000, limit: 4 << 20, declared: false))
        #expect(bySize.error?.description.contains("decompressed past 4,194,304 bytes although its header says 1,000") == true)
        #expect(bySize.error?.description.contains("`max_member_bytes`") == true)
        // Ratio: the compressed size is what libzip reads, so it bounds the output too.
        let byRatio = read(path, maxCompressionRatio: 50)
        #expect(byRatio.seen <= Int(member.compressedSize) * 50)
        #expect(byRatio.error == .compressionRatioTooHigh(path: path, member: "zeros", bytes: 1000, compressedBytes: member.compressedSize,
                                                         limit: 50, declared: false))
        #expect(byRatio.error?.description.contains("decompressed past 50 times its") == true)
        #expect(byRatio.error?.description.contains("`max_compression_ratio`") == true)
    }

    @Test func ordinaryTextPassesTheDefaults() throws {
        var rng = SystemRandomNumberGenerator()
        let words = ["the", "of", "and", "one", "zero", "in", "a", "to", "is", "anarchism"]
        let text = Array((0..<200_000).map { _ in words.randomElement(using: &rng)! }.joined(separator: " ").utf8)
        try ZipFixtures.make(at: dir + "/text.zip", [.init(name: "text8", content: text)])
        let r = read(dir + "/text.zip")
        #expect(r.error == nil)
        #expect(r.seen == text.count)
    }
}
