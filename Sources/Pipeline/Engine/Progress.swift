import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// How progress is shown: a live line on a terminal, a line every few seconds elsewhere, or nothing.
public enum ProgressMode: Sendable {
    case terminal
    case lines(every: TimeInterval)
    case quiet

    /// A live line when stderr is a terminal, else a line every 10 seconds.
    public static var automatic: ProgressMode {
        isatty(STDERR_FILENO) != 0 ? .terminal : .lines(every: 10)
    }
}

/// Throttled progress for one stage. Stages call `update`; it decides whether to draw.
/// `@unchecked Sendable`: its mutable drawing state is touched only under `lock`.
public final class ProgressReporter: @unchecked Sendable {
    public let label: String
    let mode: ProgressMode
    private let lock = NSLock()
    private var lastDraw = Date.distantPast
    private var drewLiveLine = false
    private let start = Date()

    public init(label: String, mode: ProgressMode) {
        self.label = label
        self.mode = mode
        // Off a terminal, the first line comes after one interval, so quick stages print none.
        if case .lines = mode { lastDraw = start }
    }

    /// `fraction` in 0…1; `detail` e.g. "812k words/s  lr 0.0213  loss 2.931".
    /// The ETA is derived from elapsed time and fraction.
    public func update(fraction: Double, detail: String = "") {
        let now = Date()
        lock.lock(); defer { lock.unlock() }
        let interval: TimeInterval
        switch mode {
        case .quiet: return
        case .terminal: interval = 0.2
        case .lines(let every): interval = every
        }
        guard now.timeIntervalSince(lastDraw) >= interval else { return }
        lastDraw = now
        let elapsed = now.timeIntervalSince(start)
        var eta = ""
        if fraction > 0.001, fraction < 1 {
            eta = "  ETA " + Self.formatDuration(elapsed / fraction - elapsed)
        }
        let pct = String(format: "%5.1f%%", min(1, max(0, fraction)) * 100)
        let line = "  \(label) \(pct)\(detail.isEmpty ? "" : "  " + detail)\(eta)"
        switch mode {
        case .terminal:
            FileHandle.standardError.write(Data(("\r\u{1B}[2K" + line).utf8))
            drewLiveLine = true
        case .lines:
            FileHandle.standardError.write(Data((line + "\n").utf8))
        case .quiet: break
        }
    }

    /// Clears the live line, if one was drawn.
    public func finish() {
        lock.lock(); defer { lock.unlock() }
        if drewLiveLine {
            FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
            drewLiveLine = false
        }
    }

    public static func formatDuration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let s = Int(seconds.rounded())
        if s >= 3600 { return String(format: "%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60) }
        return String(format: "%d:%02d", s / 60, s % 60)
    }
}

/// A request to stop, shared by whoever may ask (a signal handler, a test, a failing sweep
/// trial) and the work that polls it. Each `Engine` has its own token, so cancelling one run
/// never stops another; the CLI gives its engines `CancellationToken.process`, which Ctrl-C
/// cancels. Cancelled work throws `CancelledError` — the one cancellation error there is.
public final class CancellationToken: Sendable {
    private let flag = Atomic<Bool>(false)

    public init() {}

    public var isCancelled: Bool { flag.load(ordering: .relaxed) }

    public func cancel() { flag.store(true, ordering: .relaxed) }

    /// Throws `CancelledError` once cancelled.
    public func check() throws {
        if isCancelled { throw CancelledError() }
    }

    /// The token of this process's command-line run: SIGINT/SIGTERM cancel it once
    /// `installSignalHandlers()` ran; a second signal exits at once.
    public static let process = CancellationToken()

    public static func installSignalHandlers() {
        let handler: @convention(c) (Int32) -> Void = { signal in
            // Only async-signal-safe work here: an atomic load/store and write(2).
            if CancellationToken.process.isCancelled { _exit(128 + signal) }
            CancellationToken.process.cancel()
            let msg = "\ninterrupted: stopping cleanly (press Ctrl-C again to abort at once)\n"
            _ = msg.withCString { write(STDERR_FILENO, $0, strlen($0)) }
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
    }
}

/// Thrown by stages that notice a cancellation request.
public struct CancelledError: Error, CustomStringConvertible {
    public init() {}
    public var description: String { "cancelled; no partial artifact was kept" }
}
