import Crypto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Where an input file can be downloaded from, and what the download must look like.
/// A stage declares one for an `.inputFile` parameter through `Stage.remoteSource`.
public struct RemoteSource: Sendable, Equatable {
    public var url: URL
    /// The published size in bytes; a download of any other size is rejected.
    public var expectedBytes: Int64?
    /// The published SHA-256 (lowercase hex); a download with another digest is rejected.
    public var sha256: String?

    public init(url: URL, expectedBytes: Int64? = nil, sha256: String? = nil) {
        self.url = url
        self.expectedBytes = expectedBytes
        self.sha256 = sha256?.lowercased()
    }
}

public enum DownloadError: Error, CustomStringConvertible, Equatable {
    case http(url: String, status: Int)
    case transport(url: String, message: String)
    case sizeMismatch(url: String, expected: Int64, received: Int64)
    case checksumMismatch(url: String, expected: String, received: String)
    case io(operation: String, path: String, message: String)

    public var description: String {
        switch self {
        case .http(let url, let status):
            return "download failed: \(url) answered HTTP \(status) (\(HTTPURLResponse.localizedString(forStatusCode: status))); check the `url` parameter"
        case .transport(let url, let message):
            return "download failed: \(url): \(message); check the address and your network, then run the command again"
        case .sizeMismatch(let url, let expected, let received):
            return "download rejected: \(url) gave \(Format.grouped(received)) bytes, expected \(Format.grouped(expected)); nothing was saved (a proxy error page or a changed file?)"
        case .checksumMismatch(let url, let expected, let received):
            return "download rejected: the SHA-256 of \(url) is \(received), expected \(expected); nothing was saved"
        case .io(let operation, let path, let message):
            return "download failed: cannot \(operation) \(path): \(message)"
        }
    }
}

/// What a finished download gave.
public struct DownloadResult: Sendable, Equatable {
    public let bytes: Int64
    public let sha256: String
    public let seconds: Double
}

/// Streams a URL into a file: to a temporary file beside the destination, hashed as it arrives,
/// checked against the expected size and digest, fsynced, then renamed into place. A failed,
/// rejected or interrupted download leaves nothing at the destination.
public enum Downloader {
    /// - Parameters:
    ///   - progress: called with (bytes so far, total if known) from the download's queue.
    ///   - isCancelled: polled as data arrives; when it turns true the download stops and
    ///     `CancelledError` is thrown.
    public static func fetch(_ source: RemoteSource, to destination: URL,
                             timeout: TimeInterval = 60,
                             progress: @escaping @Sendable (Int64, Int64?) -> Void = { _, _ in },
                             isCancelled: @escaping @Sendable () -> Bool = { false }) throws -> DownloadResult {
        let dir = destination.deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            throw DownloadError.io(operation: "create directory", path: dir, message: error.localizedDescription)
        }
        let tmp = dir + "/.\(destination.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).part"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw DownloadError.io(operation: "create", path: tmp, message: String(cString: strerror(errno)))
        }
        var keep = false
        defer {
            close(fd)
            if !keep { unlink(tmp) }
        }

        let sink = DownloadSink(fd: fd, path: tmp, url: source.url.absoluteString,
                                expected: source.expectedBytes, progress: progress, isCancelled: isCancelled)
        let config = URLSessionConfiguration.ephemeral
        config.timeoutIntervalForRequest = timeout
        config.requestCachePolicy = .reloadIgnoringLocalCacheData
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        let session = URLSession(configuration: config, delegate: sink, delegateQueue: queue)
        defer { session.finishTasksAndInvalidate() }
        let start = Date()
        session.dataTask(with: source.url).resume()
        sink.done.wait()

        let outcome = sink.outcome()
        if outcome.cancelled { throw CancelledError() }
        if let error = outcome.error { throw error }
        let digest = outcome.digest
        if let expected = source.expectedBytes, expected != outcome.bytes {
            throw DownloadError.sizeMismatch(url: source.url.absoluteString, expected: expected, received: outcome.bytes)
        }
        if let expected = source.sha256, expected != digest {
            throw DownloadError.checksumMismatch(url: source.url.absoluteString, expected: expected, received: digest)
        }
        guard fsync(fd) == 0 else {
            throw DownloadError.io(operation: "write", path: tmp, message: String(cString: strerror(errno)))
        }
        guard rename(tmp, destination.path) == 0 else {
            throw DownloadError.io(operation: "rename into", path: destination.path, message: String(cString: strerror(errno)))
        }
        keep = true
        ArtifactStore.fsyncDirectory(dir)
        return DownloadResult(bytes: outcome.bytes, sha256: digest, seconds: Date().timeIntervalSince(start))
    }
}

/// The session delegate: writes each chunk as it arrives. All of its state is touched on the
/// session's serial delegate queue, and read by `fetch` only after `done` is signalled.
private final class DownloadSink: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    let fd: Int32
    let path: String
    let url: String
    let progress: @Sendable (Int64, Int64?) -> Void
    let isCancelled: @Sendable () -> Bool
    let done = DispatchSemaphore(value: 0)
    private var total: Int64?
    private var bytes: Int64 = 0
    private var hasher = SHA256()
    private var error: DownloadError?
    private var cancelled = false

    init(fd: Int32, path: String, url: String, expected: Int64?,
         progress: @escaping @Sendable (Int64, Int64?) -> Void, isCancelled: @escaping @Sendable () -> Bool) {
        self.fd = fd
        self.path = path
        self.url = url
        self.total = expected
        self.progress = progress
        self.isCancelled = isCancelled
    }

    func outcome() -> (bytes: Int64, digest: String, error: DownloadError?, cancelled: Bool) {
        (bytes, hasher.finalize().hexString, error, cancelled)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        if let http = response as? HTTPURLResponse, !(200..<300).contains(http.statusCode) {
            error = .http(url: url, status: http.statusCode)
            completionHandler(.cancel)
            return
        }
        if total == nil, response.expectedContentLength > 0 { total = response.expectedContentLength }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard error == nil, !cancelled else { return }
        if isCancelled() {
            cancelled = true
            dataTask.cancel()
            return
        }
        let ok = data.withUnsafeBytes { raw -> Bool in
            var off = 0
            while off < raw.count {
                let n = write(fd, raw.baseAddress! + off, raw.count - off)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                off += n
            }
            return true
        }
        guard ok else {
            error = .io(operation: "write", path: path, message: String(cString: strerror(errno)))
            dataTask.cancel()
            return
        }
        hasher.update(data: data)
        bytes += Int64(data.count)
        progress(bytes, total)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        if let error, self.error == nil, !cancelled {
            self.error = .transport(url: url, message: error.localizedDescription)
        }
        done.signal()
    }
}
