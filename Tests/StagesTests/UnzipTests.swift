import Foundation
import Testing
@testable import Stages

@Suite("unzip through libzip")
struct UnzipTests {
    let dir: String = {
        let d = NSTemporaryDirectory() + "w2v-unzip-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }()

    func readAll(_ path: String, member: String? = nil) throws -> [UInt8] {
        let archive = try ZipArchive(path: path)
        let m = try archive.select(member)
        var out: [UInt8] = []
        try archive.read(m, chunkSize: 7) { out += $0 }
        return out
    }

    @Test func readsTheOnlyMemberOrTheNamedOne() throws {
        let text = Array(" anarchism originated as a term".utf8)
        try ZipFixtures.make(at: dir + "/one.zip", [.init(name: "text8", content: text)])
        #expect(try readAll(dir + "/one.zip") == text)
        try ZipFixtures.make(at: dir + "/two.zip", [.init(name: "a.txt", content: [65]), .init(name: "text8", content: text)])
        #expect(try readAll(dir + "/two.zip", member: "text8") == text)
    }

    @Test func severalMembersAndNoneNamedListsThem() throws {
        try ZipFixtures.make(at: dir + "/two.zip", [.init(name: "a.txt", content: [65]), .init(name: "b.txt", content: [66])])
        #expect(throws: ZipError.ambiguousMember(path: dir + "/two.zip", members: ["a.txt", "b.txt"])) { try readAll(dir + "/two.zip") }
        #expect(throws: ZipError.memberNotFound(path: dir + "/two.zip", member: "c.txt", available: ["a.txt", "b.txt"])) {
            try readAll(dir + "/two.zip", member: "c.txt")
        }
    }

    @Test func missingFile() {
        #expect(throws: ZipError.fileMissing(path: dir + "/nope.zip")) { try ZipArchive(path: dir + "/nope.zip") }
    }

    @Test func notAZip() throws {
        try Data("this is plain text, not an archive\n".utf8).write(to: URL(fileURLWithPath: dir + "/plain.zip"))
        #expect(throws: ZipError.notAZip(path: dir + "/plain.zip")) { try ZipArchive(path: dir + "/plain.zip") }
    }

    @Test func truncatedZip() throws {
        let text = (0..<5000).map { _ in UInt8.random(in: 97...122) }
        try ZipFixtures.make(at: dir + "/full.zip", [.init(name: "text8", content: text)])
        let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/full.zip"))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: dir + "/cut.zip"))
        do {
            _ = try ZipArchive(path: dir + "/cut.zip")
            Issue.record("a truncated zip must be refused")
        } catch let e as ZipError {
            guard case .truncated = e else { Issue.record("expected .truncated, got \(e)"); return }
            #expect(e.description.contains("download it again"))
        }
    }

    @Test func emptyMember() throws {
        try ZipFixtures.make(at: dir + "/empty.zip", [.init(name: "text8", content: [])])
        #expect(throws: ZipError.emptyMember(path: dir + "/empty.zip", member: "text8")) { try readAll(dir + "/empty.zip") }
    }

    @Test func encryptedMember() throws {
        do {
            try ZipFixtures.make(at: dir + "/secret.zip", [.init(name: "text8", content: Array("secret words".utf8), password: "pw")])
        } catch {
            // This libzip was built without encryption support: nothing to test here.
            return
        }
        #expect(throws: ZipError.encrypted(path: dir + "/secret.zip", member: "text8")) { try readAll(dir + "/secret.zip") }
    }

    @Test func crcMismatchIsDetected() throws {
        let text = Array(String(repeating: "the quick brown fox ", count: 50).utf8)
        try ZipFixtures.make(at: dir + "/stored.zip", [.init(name: "text8", content: text, stored: true)])
        var data = try Data(contentsOf: URL(fileURLWithPath: dir + "/stored.zip"))
        // Stored data follows the 30-byte local header and the 5-byte name.
        data[30 + 5 + 100] ^= 0x20
        try data.write(to: URL(fileURLWithPath: dir + "/stored.zip"))
        #expect(throws: ZipError.crcMismatch(path: dir + "/stored.zip", member: "text8")) { try readAll(dir + "/stored.zip") }
    }
}
