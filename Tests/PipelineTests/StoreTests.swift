import Foundation
import Testing
@testable import Pipeline

@Suite("Artifact format and store")
struct StoreTests {
    @Test func headerGoldenBytes() {
        let header = ArtifactHeader(kind: "vocab", formatVersion: 3, payloadLength: 0x0102, payloadSHA256: Array(repeating: 0xAB, count: 32))
        let bytes = header.encoded()
        #expect(bytes.count == 128)
        #expect(Array(bytes[0..<8]) == Array("W2VPIPE\0".utf8))
        #expect(Array(bytes[8..<16]) == [1, 0, 3, 0, 128, 0, 0, 0])
        #expect(Array(bytes[16..<21]) == Array("vocab".utf8))
        #expect(bytes[21..<48].allSatisfy { $0 == 0 })
        #expect(Array(bytes[48..<56]) == [0x02, 0x01, 0, 0, 0, 0, 0, 0])
        #expect(bytes[56..<88].allSatisfy { $0 == 0xAB })
        #expect(bytes[88..<128].allSatisfy { $0 == 0 })
    }

    @Test func writeCommitReadRoundTrip() throws {
        let s = try Sandbox()
        let w = try s.store.makeWriter(kind: "demo", formatVersion: 1)
        try w.write(UInt32(7))
        try w.align()
        try w.write(array: [Float](arrayLiteral: 1.5, -2, 3))
        try w.write(strings: ["the", "king", ""])
        let record = try s.store.commit(w)
        #expect(FileManager.default.fileExists(atPath: s.store.objectPath(record.digest)))
        let r = try s.store.open(record.digest, kind: "demo", maxVersion: 1)
        var c = r.cursor()
        #expect(try c.read(UInt32.self) == 7)
        c.align()
        #expect(Array(try c.readArray(Float.self, count: 3, "floats")) == [1.5, -2, 3])
        let table = try c.readStrings("words")
        #expect(table.strings() == ["the", "king", ""])
        #expect(c.remaining == 0)
        // Identical content gives the identical object.
        let w2 = try s.store.makeWriter(kind: "demo", formatVersion: 1)
        try w2.write(UInt32(7)); try w2.align(); try w2.write(array: [Float](arrayLiteral: 1.5, -2, 3)); try w2.write(strings: ["the", "king", ""])
        #expect(try s.store.commit(w2).digest == record.digest)
    }

    /// Arrays of 4 MB and more are hashed while a second thread writes them; the object must be
    /// the same as when the same bytes come in small pieces (hashed and written on one thread),
    /// and must verify.
    @Test func largeWritesHashedWhileWrittenGiveTheSameObject() throws {
        let s = try Sandbox()
        let big = (0..<(ArtifactWriter.concurrentWriteThreshold / 4 + 12_345)).map { UInt32(truncatingIfNeeded: $0 &* 2_654_435_761) }
        let w = try s.store.makeWriter(kind: "demo", formatVersion: 1)
        try w.write(UInt32(7))
        try w.write(array: big)
        try w.write(array: big)
        try w.write(UInt64(9))
        let record = try s.store.commit(w)
        #expect(s.store.checkObject(record.digest, forceVerify: true) == .ok)
        let pieces = try s.store.makeWriter(kind: "demo", formatVersion: 1)
        try pieces.write(UInt32(7))
        for _ in 0..<2 {
            for start in stride(from: 0, to: big.count, by: 1000) {
                try big[start..<min(big.count, start + 1000)].withUnsafeBufferPointer { try pieces.write(array: $0) }
            }
        }
        try pieces.write(UInt64(9))
        // Same payload, same name: a digest taken over the wrong bytes (or not kept) would differ.
        #expect(try s.store.commit(pieces).digest == record.digest)
        let r = try s.store.open(record.digest, kind: "demo", maxVersion: 1)
        var c = r.cursor()
        #expect(try c.read(UInt32.self) == 7)
        #expect(Array(try c.readArray(UInt32.self, count: big.count, "big")) == big)
        #expect(Array(try c.readArray(UInt32.self, count: big.count, "big")) == big)
        #expect(try c.read(UInt64.self) == 9)
    }

    /// A stage's outputs are finished together (their fsyncs overlap) before any is moved into
    /// place; a finished writer still commits to the same object, or, abandoned, leaves no file.
    @Test func outputsFinishedTogetherThenCommittedOrAbandoned() throws {
        let s = try Sandbox()
        func writer(_ value: UInt64) throws -> ArtifactWriter {
            let w = try s.store.makeWriter(kind: "demo", formatVersion: 1)
            try w.write(value)
            return w
        }
        let reference = try s.store.commit(try writer(1))
        let (a, b) = (try writer(1), try writer(2))
        try ArtifactWriter.finishAll([a, b])
        #expect(FileManager.default.fileExists(atPath: a.temporaryPath) && FileManager.default.fileExists(atPath: b.temporaryPath))
        #expect(try s.store.commit(a).digest == reference.digest)
        #expect(s.store.checkObject(reference.digest, forceVerify: true) == .ok)
        b.abandon()
        #expect(!FileManager.default.fileExists(atPath: b.temporaryPath))
        let c = try writer(3)
        try ArtifactWriter.finishAll([c])
        c.abandon()
        #expect(!FileManager.default.fileExists(atPath: c.temporaryPath))
    }

    @Test func readersRefuseWrongKindNewerVersionTruncationAndCorruption() throws {
        let s = try Sandbox()
        let w = try s.store.makeWriter(kind: "demo", formatVersion: 2)
        try w.write(array: [UInt64](repeating: 9, count: 100))
        let record = try s.store.commit(w)
        let path = s.store.objectPath(record.digest)
        #expect(throws: ArtifactError.self) { try ArtifactReader(path: path, expectedKind: "other") }
        do {
            _ = try ArtifactReader(path: path, expectedKind: "demo", maxVersion: 1)
            Issue.record("a newer format version must be refused")
        } catch let e as ArtifactError {
            #expect(e.description.contains("upgrade w2v-pipe"))
        }
        // Truncate a copy.
        let copy = s.dir.appendingPathComponent("cut").path
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        try data.prefix(data.count - 10).write(to: URL(fileURLWithPath: copy))
        #expect(throws: ArtifactError.truncated(file: copy, detail: "payload is 790 bytes, header says 800")) { try ArtifactReader(path: copy) }
        try data.prefix(50).write(to: URL(fileURLWithPath: copy))
        #expect(throws: ArtifactError.self) { try ArtifactReader(path: copy) }
        // Flip a payload byte in a copy: the header parses, the checksum fails.
        var flipped = data
        flipped[200] ^= 1
        try flipped.write(to: URL(fileURLWithPath: copy))
        let reader = try ArtifactReader(path: copy)
        #expect(throws: ArtifactError.corrupted(file: copy)) { try reader.verify() }
        // Not an artifact at all.
        try Data("hello world, this is not an artifact".utf8).write(to: URL(fileURLWithPath: copy))
        #expect(throws: ArtifactError.self) { try ArtifactReader(path: copy) }
    }

    @Test func verificationStampsNoticeRewrites() throws {
        let s = try Sandbox()
        let w = try s.store.makeWriter(kind: "demo", formatVersion: 1)
        try w.write(array: [UInt8](repeating: 1, count: 1000))
        let record = try s.store.commit(w)
        #expect(s.store.checkObject(record.digest) == .ok)
        let path = s.store.objectPath(record.digest)
        chmod(path, 0o644)
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        data[500] = 2
        // Rewrite in place (same inode); ctime changes even if mtime is restored.
        let fh = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try fh.write(contentsOf: data)
        try fh.close()
        guard case .corrupted = s.store.checkObject(record.digest) else { Issue.record("corruption not detected"); return }
    }

    @Test func fileDigestIsCachedAndFollowsChanges() throws {
        let s = try Sandbox()
        let url = try s.write("f.txt", "abc")
        let d1 = try s.store.fileDigest(url)
        #expect(d1.digest == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") // sha256("abc")
        #expect(try s.store.fileDigest(url).digest == d1.digest)
        _ = try s.write("f.txt", "abd")
        #expect(try s.store.fileDigest(url).digest != d1.digest)
    }

    @Test func deadOwnersLockIsTakenOver() throws {
        let s = try Sandbox()
        let path = s.store.lockPath("k")
        // A pid that does not exist on this host.
        var dead: Int32 = 999_999
        while kill(dead, 0) == 0 || errno == EPERM { dead -= 1 }
        try "\(StageLock.hostName) \(dead) 0\n".write(toFile: path, atomically: false, encoding: .utf8)
        var waited = false
        let lock = try StageLock.acquire(path: path, timeout: 2) { _ in waited = true }
        #expect(!waited)
        let content = try String(contentsOfFile: path, encoding: .utf8)
        #expect(content.contains(" \(getpid()) "))
        // A live owner (us) is respected.
        #expect(throws: StoreError.self) { try StageLock.acquire(path: path, timeout: 0.2) { _ in } }
        lock.release()
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func temporaryFilesOfDeadProcessesAreCleaned() throws {
        let s = try Sandbox()
        var dead: Int32 = 999_999
        while kill(dead, 0) == 0 || errno == EPERM { dead -= 1 }
        let stale = s.store.tmpDirectory + "/\(dead)-123.tmp"
        let live = s.store.tmpDirectory + "/\(getpid())-456.tmp"
        #expect(FileManager.default.createFile(atPath: stale, contents: Data([1])))
        #expect(FileManager.default.createFile(atPath: live, contents: Data([1])))
        s.store.cleanTemporaryFiles()
        #expect(!FileManager.default.fileExists(atPath: stale))
        #expect(FileManager.default.fileExists(atPath: live))
    }
}
