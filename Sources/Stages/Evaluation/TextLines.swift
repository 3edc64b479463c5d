import Foundation

enum EvalText {
    /// Reads a whole text file as UTF-8 (invalid bytes replaced).
    static func readText(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            var isDir: ObjCBool = false
            let reason = FileManager.default.fileExists(atPath: path, isDirectory: &isDir)
                ? (isDir.boolValue ? "it is a directory" : "it is not readable (check permissions)")
                : "no such file (check the path)"
            throw DatasetError(kind: .cannotRead, path: path, message: "cannot read the file: \(reason)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Lines with 1-based numbers; splits on \n, strips a trailing \r.
    static func numberedLines(_ text: String) -> [(number: Int, text: Substring)] {
        var out: [(Int, Substring)] = []
        var n = 0
        // "\r\n" is a single Character in Swift, so match it explicitly.
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            n += 1
            var line = raw
            if line.last == "\r" { line = line.dropLast() }
            out.append((n, line))
        }
        if let last = out.last, last.1.isEmpty, n > 0 { out.removeLast() }
        return out
    }

    static func fields(_ line: Substring) -> [Substring] {
        line.split(whereSeparator: { $0 == " " || $0 == "\t" })
    }

    static func isBlank(_ line: Substring) -> Bool {
        line.allSatisfy { $0 == " " || $0 == "\t" }
    }

    static func quoted(_ s: Substring, max: Int = 80) -> String {
        let t = s.count > max ? String(s.prefix(max)) + "…" : String(s)
        return "`\(t)`"
    }
}
