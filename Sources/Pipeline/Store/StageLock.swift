import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An exclusive per-key lock: a file created with O_EXCL holding `host pid start-time`.
/// Works across processes, and across hosts on a shared filesystem (no flock, which NFS may
/// not honour). The holder touches the file every few seconds (a heartbeat); a lock whose
/// owner is a dead pid on this host, or whose heartbeat stopped long ago, is taken over.
/// `@unchecked Sendable`: `released` is only set by `release()` on the owner's thread; the
/// heartbeat timer runs on its own serial queue and touches only the file.
public final class StageLock: @unchecked Sendable {
    public let path: String
    private let heartbeat: DispatchSourceTimer
    private var released = false

    /// How long another host's lock may go without a heartbeat before it counts as abandoned.
    public static let staleAfter: TimeInterval = 120
    static let heartbeatInterval = 10

    public static let hostName: String = {
        var buf = [UInt8](repeating: 0, count: 256)
        gethostname(&buf, 255)
        return String(decoding: buf.prefix { $0 != 0 }, as: UTF8.self)
    }()

    private init(path: String) {
        self.path = path
        heartbeat = DispatchSource.makeTimerSource(queue: DispatchQueue.global(qos: .utility))
        heartbeat.schedule(deadline: .now() + .seconds(Self.heartbeatInterval), repeating: .seconds(Self.heartbeatInterval))
        heartbeat.setEventHandler { [path] in utimes(path, nil) }
        heartbeat.resume()
    }

    /// Tries once. Returns nil if a live owner holds it; `owner` then describes who.
    static func tryAcquire(path: String, owner: inout String) throws -> StageLock? {
        let me = "\(hostName) \(getpid()) \(Int(Date().timeIntervalSince1970))\n"
        for _ in 0..<3 {
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if fd >= 0 {
                _ = me.withCString { write(fd, $0, strlen($0)) }
                fsync(fd)
                close(fd)
                return StageLock(path: path)
            }
            guard errno == EEXIST else { throw StoreError.io(operation: "create lock", path: path, errno: errno) }
            guard let content = try? String(contentsOfFile: path, encoding: .utf8) else { continue } // vanished: retry
            owner = describe(content)
            guard isAbandoned(content: content, path: path) else { return nil }
            // Take over: move the dead owner's file aside under a unique name, check that what
            // we moved is what we judged dead, and retry the exclusive create.
            let aside = path + ".stale.\(getpid()).\(UInt32.random(in: 0 ... .max))"
            if rename(path, aside) == 0 {
                let moved = (try? String(contentsOfFile: aside, encoding: .utf8)) ?? ""
                if moved != content {
                    // A live owner slipped in between; put its lock back if the slot is still free.
                    if link(aside, path) != 0 { /* someone else holds it now */ }
                }
                unlink(aside)
            }
        }
        return nil
    }

    /// Waits until the lock is free, printing once who holds it.
    public static func acquire(path: String, timeout: TimeInterval = .infinity, onWait: (String) -> Void) throws -> StageLock {
        var owner = ""
        var told = false
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let lock = try tryAcquire(path: path, owner: &owner) { return lock }
            if !told { onWait(owner); told = true }
            if Date() > deadline { throw StoreError.lockTimeout(path: path, owner: owner) }
            usleep(50_000)
        }
    }

    static func describe(_ content: String) -> String {
        let parts = content.split(separator: " ")
        guard parts.count >= 2 else { return "an unknown process" }
        return "pid \(parts[1].trimmingCharacters(in: .whitespacesAndNewlines)) on \(parts[0])"
    }

    static func isAbandoned(content: String, path: String) -> Bool {
        let parts = content.split(separator: " ")
        if parts.count >= 2, String(parts[0]) == hostName, let pid = Int32(parts[1]) {
            return !ArtifactStore.processIsAlive(pid)
        }
        // Another host (or unreadable): judge by the heartbeat.
        var st = stat()
        guard stat(path, &st) == 0 else { return false }
        let age = Date().timeIntervalSince1970 - Double(st.st_mtim.tv_sec)
        return age > staleAfter
    }

    public func release() {
        guard !released else { return }
        released = true
        heartbeat.cancel()
        unlink(path)
    }

    deinit { release() }
}
