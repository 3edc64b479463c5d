import Foundation
#if canImport(Glibc)
import Glibc
#endif

public enum StoreError: Error, CustomStringConvertible {
    case io(operation: String, path: String, errno: Int32)
    case lockTimeout(path: String, owner: String)
    case badRecord(path: String, detail: String)

    public var description: String {
        switch self {
        case .io(let op, let path, let code):
            let reason = String(cString: strerror(code))
            var hint = ""
            if code == ENOSPC { hint = "; free some disk space (`w2v-pipe gc` removes unreferenced artifacts)" }
            if code == EACCES || code == EROFS { hint = "; check the permissions of the store, or move it with --store DIR" }
            return "cannot \(op) \(path): \(reason)\(hint)"
        case .lockTimeout(let path, let owner):
            return "gave up waiting for lock \(path), held by \(owner); if that process is gone, delete the lock file"
        case .badRecord(let path, let detail):
            return "unreadable record \(path): \(detail)"
        }
    }
}
