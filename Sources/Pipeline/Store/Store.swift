import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The content-addressed artifact store.
///
/// ```
/// artifacts/
///   objects/ab/cdef…        artifact files, read-only once written, named by digest
///   runs/<stage-key>.json   run records: what ran, with which parameters, inputs, outputs, timings
///   refs/<experiment>/<stage>.json   the latest key of each stage of each experiment
///   locks/<stage-key>.lock  held while a stage runs (host, pid, start time)
///   cache/files/…           content digests of input files, by path/size/mtime/inode
///   cache/verified/…        stat stamps of objects whose checksum was verified
///   tmp/                    files being written; renamed into objects/ when complete
/// ```
public final class ArtifactStore: Sendable {
    public let root: URL
    let fm = FileManager.default

    public init(root: URL) throws {
        self.root = root.standardizedFileURL
        for dir in ["objects", "runs", "refs", "locks", "cache/files", "cache/verified", "tmp"] {
            let url = self.root.appendingPathComponent(dir)
            do {
                try fm.createDirectory(at: url, withIntermediateDirectories: true)
            } catch {
                throw StoreError.io(operation: "create store directory", path: url.path, errno: (error as NSError).code == 0 ? EIO : Int32((error as NSError).code))
            }
        }
    }

    // MARK: Paths

    public func objectPath(_ digest: String) -> String {
        root.appendingPathComponent("objects/\(digest.prefix(2))/\(digest.dropFirst(2))").path
    }
    func runPath(_ key: String) -> String { root.appendingPathComponent("runs/\(key).json").path }
    func refPath(experiment: String, stage: String) -> String { root.appendingPathComponent("refs/\(experiment)/\(stage).json").path }
    func lockPath(_ key: String) -> String { root.appendingPathComponent("locks/\(key).lock").path }
    var tmpDirectory: String { root.appendingPathComponent("tmp").path }

    // MARK: Objects

    /// A writer whose temporary file lives in `tmp/`, named after this process so a later run
    /// can clean it up if the process dies.
    public func makeWriter(kind: String, formatVersion: UInt16) throws -> ArtifactWriter {
        let name = "\(ProcessInfo.processInfo.processIdentifier)-\(UInt64.random(in: 0 ... .max)).tmp"
        return try ArtifactWriter(kind: kind, formatVersion: formatVersion, temporaryPath: tmpDirectory + "/" + name)
    }

    /// Finishes a writer and moves its file into `objects/` atomically. Returns the output record.
    public func commit(_ writer: ArtifactWriter) throws -> OutputRecord {
        let header = try writer.finish()
        let digest = header.objectDigest
        let destination = objectPath(digest)
        let dir = (destination as NSString).deletingLastPathComponent
        try? fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        chmod(writer.temporaryPath, 0o444)
        if rename(writer.temporaryPath, destination) != 0 {
            let code = errno
            unlink(writer.temporaryPath)
            throw StoreError.io(operation: "move artifact into", path: destination, errno: code)
        }
        Self.fsyncDirectory(dir)
        markVerified(digest)
        return OutputRecord(digest: digest, kind: header.kind, bytes: header.payloadLength + UInt64(ArtifactHeader.size))
    }

    public enum ObjectState: Equatable { case ok, missing, corrupted(String) }

    /// Checks an object: present, header matches its name, payload matches its checksum.
    /// The payload is re-hashed only when the file's stat stamp (size, mtime, ctime, inode)
    /// differs from the one recorded at the last verification — any write changes ctime.
    public func checkObject(_ digest: String, forceVerify: Bool = false) -> ObjectState {
        let path = objectPath(digest)
        guard let stamp = Self.statStamp(path) else { return .missing }
        if !forceVerify, let recorded = try? String(contentsOfFile: verifiedPath(digest), encoding: .utf8), recorded == stamp {
            return .ok
        }
        do {
            let reader = try ArtifactReader(path: path)
            guard reader.header.objectDigest == digest else { return .corrupted("its header does not match its name") }
            try reader.verify()
        } catch {
            return .corrupted("\(error)")
        }
        markVerified(digest)
        return .ok
    }

    /// Opens an object for reading, verified.
    public func open(_ digest: String, kind: String, maxVersion: UInt16) throws -> ArtifactReader {
        switch checkObject(digest) {
        case .ok: break
        case .missing: throw StoreError.io(operation: "open artifact", path: objectPath(digest), errno: ENOENT)
        case .corrupted: throw ArtifactError.corrupted(file: objectPath(digest))
        }
        return try ArtifactReader(path: objectPath(digest), expectedKind: kind, maxVersion: maxVersion)
    }

    /// Moves a corrupted object out of the way so it is recomputed.
    public func quarantine(_ digest: String) {
        let path = objectPath(digest)
        let dest = root.appendingPathComponent("tmp/corrupted-\(digest)-\(ProcessInfo.processInfo.processIdentifier)").path
        if rename(path, dest) != 0 { unlink(path) }
        unlink(verifiedPath(digest))
    }

    func verifiedPath(_ digest: String) -> String { root.appendingPathComponent("cache/verified/\(digest)").path }

    func markVerified(_ digest: String) {
        guard let stamp = Self.statStamp(objectPath(digest)) else { return }
        try? atomicWrite(Data(stamp.utf8), to: verifiedPath(digest), sync: false)
    }

    public static func statStamp(_ path: String) -> String? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return "\(st.st_size) \(st.st_ino) \(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec) \(st.st_ctim.tv_sec).\(st.st_ctim.tv_nsec)"
    }

    // MARK: Records

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        e.dateEncodingStrategy = .iso8601
        return e
    }()
    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }()

    public func runRecord(key: String) -> RunRecord? {
        guard let data = fm.contents(atPath: runPath(key)) else { return nil }
        return try? Self.decoder.decode(RunRecord.self, from: data)
    }

    public func save(_ record: RunRecord) throws {
        try atomicWrite(try Self.encoder.encode(record), to: runPath(record.key))
    }

    public func ref(experiment: String, stage: String) -> StageRef? {
        guard let data = fm.contents(atPath: refPath(experiment: experiment, stage: stage)) else { return nil }
        return try? Self.decoder.decode(StageRef.self, from: data)
    }

    public func save(_ ref: StageRef, experiment: String, stage: String) throws {
        let path = refPath(experiment: experiment, stage: stage)
        try? fm.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try atomicWrite(try Self.encoder.encode(ref), to: path)
    }

    /// Every ref in the store, by experiment.
    public func allRefs() -> [(experiment: String, stage: String, ref: StageRef)] {
        var out: [(String, String, StageRef)] = []
        let refsDir = root.appendingPathComponent("refs").path
        for experiment in ((try? fm.contentsOfDirectory(atPath: refsDir)) ?? []).sorted() {
            for file in ((try? fm.contentsOfDirectory(atPath: refsDir + "/" + experiment)) ?? []).sorted() where file.hasSuffix(".json") {
                let stage = String(file.dropLast(5))
                if let r = ref(experiment: experiment, stage: stage) { out.append((experiment, stage, r)) }
            }
        }
        return out
    }

    public func allRunRecords() -> [RunRecord] {
        let dir = root.appendingPathComponent("runs").path
        return ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).sorted().compactMap { file in
            guard file.hasSuffix(".json") else { return nil }
            return runRecord(key: String(file.dropLast(5)))
        }
    }

    // MARK: Atomic small files

    /// Writes to a temporary file, fsyncs (unless told not to), renames over `path`.
    public func atomicWrite(_ data: Data, to path: String, sync: Bool = true) throws {
        try data.withUnsafeBytes {
            try Self.writeAtomically($0, to: path, temporaryDirectory: tmpDirectory, sync: sync)
        }
    }

    /// Writes `bytes` to a temporary file in `temporaryDirectory` (default: beside `path`, so the
    /// rename stays on one filesystem), fsyncs it unless told not to, and renames it over `path`:
    /// readers see the old file or the whole new one, never a part.
    public static func writeAtomically(_ bytes: UnsafeRawBufferPointer, to path: String,
                                       temporaryDirectory: String? = nil, sync: Bool = true) throws {
        let dir = temporaryDirectory ?? (path as NSString).deletingLastPathComponent
        let tmp = (dir.isEmpty ? "." : dir) + "/\(ProcessInfo.processInfo.processIdentifier)-\(UInt64.random(in: 0 ... .max)).tmp"
        let fd = Glibc.open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StoreError.io(operation: "create", path: tmp, errno: errno) }
        var off = 0
        var ok = true
        while off < bytes.count {
            let n = write(fd, bytes.baseAddress! + off, bytes.count - off)
            if n <= 0 { if errno == EINTR { continue }; ok = false; break }
            off += n
        }
        if !ok || (sync && fsync(fd) != 0) {
            let code = errno
            close(fd); unlink(tmp)
            throw StoreError.io(operation: "write", path: tmp, errno: code)
        }
        close(fd)
        if rename(tmp, path) != 0 {
            let code = errno
            unlink(tmp)
            throw StoreError.io(operation: "rename into", path: path, errno: code)
        }
    }

    /// Makes a rename in `path` durable.
    static func fsyncDirectory(_ path: String) {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    // MARK: Input files

    /// The SHA-256 of an external file, cached by (path, size, inode, mtime, ctime) so an
    /// unchanged input is not re-hashed on every run.
    ///
    /// A folder's digest covers the names and digests of the regular files beneath it (hidden
    /// ones, whose names start with `.`, left out), each file cached as above.
    public func fileDigest(_ url: URL) throws -> FileRecord {
        let path = url.standardizedFileURL.path
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            return try folderDigest(path)
        }
        guard let stamp = Self.statStamp(path) else { throw StoreError.io(operation: "read", path: path, errno: errno) }
        let cacheName = SHA256.hash(data: Data(path.utf8)).hexString
        let cachePath = root.appendingPathComponent("cache/files/\(cacheName)").path
        if let cached = try? String(contentsOfFile: cachePath, encoding: .utf8) {
            let parts = cached.split(separator: "\n", omittingEmptySubsequences: false)
            if parts.count >= 2, parts[0] == stamp {
                var st = stat(); stat(path, &st)
                return FileRecord(path: path, digest: String(parts[1]), bytes: UInt64(st.st_size))
            }
        }
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw StoreError.io(operation: "open", path: path, errno: errno) }
        defer { close(fd) }
        var hasher = SHA256()
        let buf = UnsafeMutableRawPointer.allocate(byteCount: 4 << 20, alignment: 64)
        defer { buf.deallocate() }
        var total: UInt64 = 0
        while true {
            let n = read(fd, buf, 4 << 20)
            if n < 0 { if errno == EINTR { continue }; throw StoreError.io(operation: "read", path: path, errno: errno) }
            if n == 0 { break }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(start: buf, count: n))
            total += UInt64(n)
        }
        let digest = hasher.finalize().hexString
        try? atomicWrite(Data("\(stamp)\n\(digest)\n".utf8), to: cachePath, sync: false)
        return FileRecord(path: path, digest: digest, bytes: total)
    }

    /// The regular files beneath `folder`, as paths relative to it, sorted bytewise; hidden
    /// files and folders (names starting with `.`) are left out. Symbolic links are followed,
    /// each folder at most once (a link back up the tree is not a loop).
    public static func filesBeneath(_ folder: String) throws -> [String] {
        var out: [String] = []
        var visited = Set<[UInt64]>()
        func walk(_ relative: String) throws {
            let dir = relative.isEmpty ? folder : folder + "/" + relative
            var here = stat()
            guard stat(dir, &here) == 0, visited.insert([UInt64(here.st_dev), UInt64(here.st_ino)]).inserted else { return }
            let names: [String]
            do { names = try FileManager.default.contentsOfDirectory(atPath: dir) }
            catch { throw StoreError.io(operation: "list", path: dir, errno: errno == 0 ? EACCES : errno) }
            for name in names where !name.hasPrefix(".") {
                let rel = relative.isEmpty ? name : relative + "/" + name
                var st = stat()
                guard stat(folder + "/" + rel, &st) == 0 else { continue }
                if st.st_mode & S_IFMT == S_IFDIR { try walk(rel) }
                else if st.st_mode & S_IFMT == S_IFREG { out.append(rel) }
            }
        }
        try walk("")
        return out.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    private func folderDigest(_ path: String) throws -> FileRecord {
        var hasher = SHA256()
        var total: UInt64 = 0
        for rel in try Self.filesBeneath(path) {
            let record = try fileDigest(URL(fileURLWithPath: path + "/" + rel))
            hasher.update(data: Data("\(rel)\t\(record.digest)\n".utf8))
            total += record.bytes
        }
        return FileRecord(path: path, digest: "folder:" + hasher.finalize().hexString, bytes: total)
    }

    // MARK: Housekeeping

    /// Removes temporary files left by processes that are gone (killed mid-write).
    public func cleanTemporaryFiles() {
        let dir = tmpDirectory
        for name in (try? fm.contentsOfDirectory(atPath: dir)) ?? [] {
            let pidText = name.split(separator: "-").first.map(String.init) ?? ""
            if name.hasPrefix("corrupted-") { continue }
            if let pid = Int32(pidText), pid > 0, !Self.processIsAlive(pid) {
                unlink(dir + "/" + name)
            }
        }
    }

    static func processIsAlive(_ pid: Int32) -> Bool {
        if kill(pid, 0) == 0 { return true }
        return errno == EPERM
    }

    /// A ref or run record that `garbage()` could not read or decode. An unreadable ref may be
    /// the only thing keeping an experiment's artifacts alive, so its presence blocks collection.
    public struct UnreadableRecord: Equatable, Sendable {
        /// The file (or directory that could not be listed), relative to the store root.
        public let path: String
        /// Why it could not be used ("cannot decode: …", "cannot read: …").
        public let reason: String
        /// True for refs/, false for runs/.
        public let isRef: Bool
    }

    public struct GarbageReport {
        public var objects: [(digest: String, bytes: UInt64)] = []
        public var runRecords: [String] = []
        public var temporaryFiles: [String] = []
        /// Refs and run records that could not be read. While this is non-empty the report is
        /// not safe to collect (see `isSafeToCollect`): the objects listed may be live.
        public var unreadable: [UnreadableRecord] = []
        /// Set by `garbage(treatingUnreadableAsAbsent: true)`: the caller has looked at the
        /// unreadable files and accepts that what only they refer to is removed.
        public var unreadableTreatedAsAbsent = false
        public var bytes: UInt64 { objects.reduce(0) { $0 + $1.bytes } }
        /// Whether `collect` may remove the objects and run records listed.
        public var isSafeToCollect: Bool { unreadable.isEmpty || unreadableTreatedAsAbsent }
    }

    /// Objects that no experiment's ref points to, and the run records that describe them.
    ///
    /// Refs and run records that cannot be read or decoded are listed in `unreadable` rather than
    /// skipped: skipping a damaged ref would make its experiment's artifacts look like garbage.
    /// Such a report is only collected when `treatingUnreadableAsAbsent` is true (`gc --force`).
    public func garbage(treatingUnreadableAsAbsent: Bool = false) -> GarbageReport {
        var report = GarbageReport()
        report.unreadableTreatedAsAbsent = treatingUnreadableAsAbsent
        var live = Set<String>()
        let refsDir = root.appendingPathComponent("refs").path
        for experiment in listForGarbage("refs", isRef: true, into: &report) {
            var isDirectory: ObjCBool = false
            // Only directories hold refs; a stray file directly in refs/ is not one.
            guard fm.fileExists(atPath: refsDir + "/" + experiment, isDirectory: &isDirectory), isDirectory.boolValue else { continue }
            for file in listForGarbage("refs/\(experiment)", isRef: true, into: &report) where file.hasSuffix(".json") {
                if let ref = decodeForGarbage(StageRef.self, "refs/\(experiment)/\(file)", isRef: true, into: &report) {
                    for o in ref.outputs.values { live.insert(o.digest) }
                }
            }
        }
        let objectsDir = root.appendingPathComponent("objects").path
        for prefix in ((try? fm.contentsOfDirectory(atPath: objectsDir)) ?? []).sorted() {
            for rest in ((try? fm.contentsOfDirectory(atPath: objectsDir + "/" + prefix)) ?? []).sorted() {
                let digest = prefix + rest
                if !live.contains(digest) {
                    var st = stat()
                    stat(objectPath(digest), &st)
                    report.objects.append((digest, UInt64(st.st_size)))
                }
            }
        }
        for file in listForGarbage("runs", isRef: false, into: &report) where file.hasSuffix(".json") {
            guard let record = decodeForGarbage(RunRecord.self, "runs/\(file)", isRef: false, into: &report) else { continue }
            if record.outputs.values.contains(where: { !live.contains($0.digest) }) {
                // Named by the file, which is what collect removes (it equals record.key when intact).
                report.runRecords.append(String(file.dropLast(5)))
            }
        }
        for name in (try? fm.contentsOfDirectory(atPath: tmpDirectory)) ?? [] {
            let pid = Int32(name.split(separator: "-").first.map(String.init) ?? "") ?? 0
            if name.hasPrefix("corrupted-") || (pid > 0 && !Self.processIsAlive(pid)) { report.temporaryFiles.append(name) }
        }
        return report
    }

    /// The sorted entries of a store directory for `garbage()`; a directory that exists but
    /// cannot be listed is recorded as unreadable (a missing one is simply empty).
    private func listForGarbage(_ relative: String, isRef: Bool, into report: inout GarbageReport) -> [String] {
        let path = root.appendingPathComponent(relative).path
        do {
            return try fm.contentsOfDirectory(atPath: path).sorted()
        } catch {
            if fm.fileExists(atPath: path) {
                report.unreadable.append(UnreadableRecord(path: relative + "/", reason: "cannot list the directory: \(Self.shortReason(error))", isRef: isRef))
            }
            return []
        }
    }

    /// A ref or run record for `garbage()`, or nil after recording why it cannot be used.
    private func decodeForGarbage<T: Decodable>(_ type: T.Type, _ relative: String, isRef: Bool, into report: inout GarbageReport) -> T? {
        let path = root.appendingPathComponent(relative).path
        guard let data = fm.contents(atPath: path) else {
            // Removed between listing and reading (a concurrent run replacing it) is not damage.
            if !fm.fileExists(atPath: path) { return nil }
            let reason = access(path, R_OK) == 0 ? "cannot read the file" : "cannot read the file: \(String(cString: strerror(errno)))"
            report.unreadable.append(UnreadableRecord(path: relative, reason: reason, isRef: isRef))
            return nil
        }
        do {
            return try Self.decoder.decode(T.self, from: data)
        } catch {
            let what = data.isEmpty ? "the file is empty" : Self.shortReason(error)
            report.unreadable.append(UnreadableRecord(path: relative, reason: "cannot decode: \(what)", isRef: isRef))
            return nil
        }
    }

    /// A one-line reason for a decoding or file error.
    static func shortReason(_ error: Error) -> String {
        func path(_ codingPath: [CodingKey]) -> String {
            codingPath.isEmpty ? "" : " at `" + codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".") + "`"
        }
        switch error {
        case DecodingError.dataCorrupted(let c):
            let underlying = (c.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return (underlying ?? c.debugDescription) + path(c.codingPath)
        case DecodingError.keyNotFound(let key, let c):
            return "missing key `\(key.stringValue)`" + path(c.codingPath)
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c):
            return c.debugDescription + path(c.codingPath)
        default:
            return (error as NSError).localizedDescription
        }
    }

    /// Removes what `garbage()` found. When the report is not safe to collect (unreadable refs or
    /// run records, not forced) only the temporary files of dead processes are removed: the
    /// objects listed might be live.
    public func collect(_ report: GarbageReport) {
        for name in report.temporaryFiles { unlink(tmpDirectory + "/" + name) }
        guard report.isSafeToCollect else { return }
        for (digest, _) in report.objects {
            unlink(objectPath(digest))
            unlink(verifiedPath(digest))
        }
        for key in report.runRecords { unlink(runPath(key)) }
    }
}
