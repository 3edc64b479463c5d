import Foundation

/// A strict RFC 8259 JSON parser producing `JSONValue`.
///
/// Experiment files are written by hand, so what a lenient parser forgives is usually a
/// mistake: a duplicate key silently drops one of two parameter values, a trailing comma
/// hints at a deleted line. This parser accepts exactly RFC 8259 (plus a leading UTF-8 byte
/// order mark) and rejects everything else with the line and column (1-based, counted in
/// Unicode scalars) and what was expected there:
///
/// - trailing commas in arrays and objects, duplicate keys (both positions named);
/// - comments, single quotes, unquoted keys, `NaN` / `Infinity`, leading zeros, numbers too
///   large for a double;
/// - bad escapes, unpaired UTF-16 surrogates, control characters and invalid UTF-8 in strings;
/// - empty input, data after the value, nesting deeper than `maxDepth`.
///
/// It is iterative (an explicit stack of open containers), so deep input cannot overflow the
/// call stack, and it never traps on any input: every index is checked against the end.
struct StrictJSONParser {
    /// Deeper nesting than this is refused; experiment files are a handful of levels deep.
    static let maxDepth = 512

    private let bytes: [UInt8]
    private var pos: Int
    /// Where the text starts (3 after a byte order mark), so columns match what an editor shows.
    private let textStart: Int

    init(_ data: Data) {
        bytes = [UInt8](data)
        textStart = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        pos = textStart
    }

    /// An open object while its members are read: `keyOffsets` holds where each key was first
    /// written, for the duplicate-key message; `key` is the key whose value is being read.
    private struct OpenObject {
        var members: [String: JSONValue] = [:]
        var keyOffsets: [String: Int]
        var key: String
    }

    /// The open containers, innermost last. Lists and objects are kept in separate stacks and
    /// grown in place through their subscripts, so adding a member never copies its container
    /// (popping an enum payload, appending and pushing it back would copy it every time).
    private struct OpenContainers {
        enum Kind { case array, object }
        var kinds: [Kind] = []
        var arrays: [[JSONValue]] = []
        var objects: [OpenObject] = []

        /// For messages about a missing value: which container is open.
        var hint: String {
            switch kinds.last {
            case .array?: return " (inside a list)"
            case .object?: return objects.last.map { " (for the key \(JSONValue.quote($0.key)))" } ?? ""
            case nil: return ""
            }
        }
    }

    // MARK: Driver

    mutating func parse() throws -> JSONValue {
        skipWhitespace()
        guard pos < bytes.count else {
            throw error(at: pos, "the input is empty; expected a JSON value (an experiment file is an object: {\"stages\": {…}})")
        }
        var open = OpenContainers()
        readValue: while true {
            // Read one value; containers are opened and their first member read in this loop.
            skipWhitespace()
            var value: JSONValue
            guard pos < bytes.count else {
                throw error(at: pos, "the input ends too early; expected a value" + open.hint)
            }
            switch bytes[pos] {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                let isObject = bytes[pos] == UInt8(ascii: "{")
                if open.kinds.count >= Self.maxDepth {
                    throw error(at: pos, "nesting deeper than \(Self.maxDepth) levels; expected at most \(Self.maxDepth) nested arrays and objects")
                }
                pos += 1
                skipWhitespace()
                if isObject {
                    if pos < bytes.count && bytes[pos] == UInt8(ascii: "}") {
                        pos += 1
                        value = .object([:])
                    } else {
                        let (key, keyOffset) = try readKey()
                        open.kinds.append(.object)
                        open.objects.append(OpenObject(keyOffsets: [key: keyOffset], key: key))
                        continue readValue
                    }
                } else {
                    if pos < bytes.count && bytes[pos] == UInt8(ascii: "]") {
                        pos += 1
                        value = .array([])
                    } else {
                        open.kinds.append(.array)
                        open.arrays.append([])
                        continue readValue
                    }
                }
            case UInt8(ascii: "\""):
                value = .string(try readString())
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                value = try readNumber()
            case UInt8(ascii: "t"):
                try readLiteral("true")
                value = .bool(true)
            case UInt8(ascii: "f"):
                try readLiteral("false")
                value = .bool(false)
            case UInt8(ascii: "n"):
                try readLiteral("null")
                value = .null
            default:
                throw unexpected(expected: "a value (an object, list, string, number, true, false or null)" + open.hint)
            }

            // Hand the finished value to the enclosing containers, closing those that end here.
            while true {
                skipWhitespace()
                switch open.kinds.last {
                case nil:
                    if pos < bytes.count {
                        throw unexpected(expected: "the end of the input after the top-level value (only one value per file)")
                    }
                    return value
                case .array?:
                    let top = open.arrays.count - 1
                    open.arrays[top].append(value)
                    guard pos < bytes.count else {
                        throw error(at: pos, "the input ends inside a list; expected ',' or ']'")
                    }
                    if bytes[pos] == UInt8(ascii: ",") {
                        let comma = pos
                        pos += 1
                        skipWhitespace()
                        if pos < bytes.count && bytes[pos] == UInt8(ascii: "]") {
                            throw error(at: comma, "trailing comma before ']' (remove it); expected another value after a comma")
                        }
                        continue readValue
                    } else if bytes[pos] == UInt8(ascii: "]") {
                        pos += 1
                        open.kinds.removeLast()
                        value = .array(open.arrays.removeLast())
                    } else {
                        throw unexpected(expected: "',' or ']' after a list item")
                    }
                case .object?:
                    let top = open.objects.count - 1
                    let key = open.objects[top].key
                    open.objects[top].members[key] = value
                    guard pos < bytes.count else {
                        throw error(at: pos, "the input ends inside an object; expected ',' or '}'")
                    }
                    if bytes[pos] == UInt8(ascii: ",") {
                        let comma = pos
                        pos += 1
                        skipWhitespace()
                        if pos < bytes.count && bytes[pos] == UInt8(ascii: "}") {
                            throw error(at: comma, "trailing comma before '}' (remove it); expected another \"key\": value after a comma")
                        }
                        let (next, nextOffset) = try readKey()
                        if let first = open.objects[top].keyOffsets[next] {
                            let (line, column) = location(of: first)
                            throw error(at: nextOffset, "duplicate key \(JSONValue.quote(next)) (first at line \(line), column \(column)); expected each key once per object: remove or rename one of them")
                        }
                        open.objects[top].keyOffsets[next] = nextOffset
                        open.objects[top].key = next
                        continue readValue
                    } else if bytes[pos] == UInt8(ascii: "}") {
                        pos += 1
                        open.kinds.removeLast()
                        value = .object(open.objects.removeLast().members)
                    } else {
                        throw unexpected(expected: "',' or '}' after the value of \(JSONValue.quote(key))")
                    }
                }
            }
        }
    }

    /// Reads `"key"` and the `:` after it; returns the key and the offset of its opening quote.
    private mutating func readKey() throws -> (String, Int) {
        guard pos < bytes.count else {
            throw error(at: pos, "the input ends inside an object; expected a \"key\" in double quotes or '}'")
        }
        guard bytes[pos] == UInt8(ascii: "\"") else {
            throw unexpected(expected: "a \"key\" in double quotes")
        }
        let offset = pos
        let key = try readString()
        skipWhitespace()
        guard pos < bytes.count else {
            throw error(at: pos, "the input ends after the key \(JSONValue.quote(key)); expected ':'")
        }
        guard bytes[pos] == UInt8(ascii: ":") else {
            throw unexpected(expected: "':' after the key \(JSONValue.quote(key))")
        }
        pos += 1
        return (key, offset)
    }

    // MARK: Scalars

    private mutating func skipWhitespace() {
        while pos < bytes.count {
            switch bytes[pos] {
            case 0x20, 0x0A, 0x0D, 0x09: pos += 1
            default: return
            }
        }
    }

    private mutating func readLiteral(_ word: StaticString) throws {
        let start = pos
        let expected = word.withUTF8Buffer { Array($0) }
        for b in expected {
            guard pos < bytes.count, bytes[pos] == b else {
                throw error(at: start, "unknown word \(quotedWord(at: start)); expected `\(word)` (JSON literals are lower case: true, false, null)")
            }
            pos += 1
        }
    }

    /// RFC 8259 numbers: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    /// Integers without fraction or exponent that fit Int64 become `.integer`, the rest `.number`.
    private mutating func readNumber() throws -> JSONValue {
        let start = pos
        func isDigit(_ i: Int) -> Bool { i < bytes.count && bytes[i] >= UInt8(ascii: "0") && bytes[i] <= UInt8(ascii: "9") }
        if bytes[pos] == UInt8(ascii: "-") {
            pos += 1
            if pos < bytes.count && bytes[pos] == UInt8(ascii: "I") {
                throw error(at: start, "-Infinity is not a JSON number; expected a finite number")
            }
            guard isDigit(pos) else { throw unexpected(expected: "a digit after '-'") }
        }
        if bytes[pos] == UInt8(ascii: "0") {
            pos += 1
            if isDigit(pos) {
                throw error(at: start, "leading zeros are not allowed in JSON numbers; expected a number without them (write 7, not 07)")
            }
        } else {
            while isDigit(pos) { pos += 1 }
        }
        var integral = true
        if pos < bytes.count && bytes[pos] == UInt8(ascii: ".") {
            integral = false
            pos += 1
            guard isDigit(pos) else { throw unexpected(expected: "a digit after the decimal point (write 1.0, not 1.)") }
            while isDigit(pos) { pos += 1 }
        }
        if pos < bytes.count && (bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E")) {
            integral = false
            pos += 1
            if pos < bytes.count && (bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-")) { pos += 1 }
            guard isDigit(pos) else { throw unexpected(expected: "a digit in the exponent (e.g. 1e-4)") }
            while isDigit(pos) { pos += 1 }
        }
        // The grammar above allows only ASCII digits, signs, '.' and 'e', so this is valid text.
        let text = String(decoding: bytes[start..<pos], as: UTF8.self)
        if integral, let i = Int64(text) { return .integer(i) }
        guard let d = Double(text), d.isFinite else {
            throw error(at: start, "the number \(text) is too large; expected a number within ±1.8e308")
        }
        return .number(d)
    }

    /// Reads a string starting at its opening quote: escapes decoded, UTF-8 validated.
    private mutating func readString() throws -> String {
        let open = pos
        pos += 1
        var out: [UInt8] = []
        while true {
            guard pos < bytes.count else {
                let (line, column) = location(of: open)
                throw error(at: pos, "the input ends inside the string that starts at line \(line), column \(column); expected a closing '\"'")
            }
            let b = bytes[pos]
            switch b {
            case UInt8(ascii: "\""):
                pos += 1
                // Every byte appended was validated UTF-8 or an encoded scalar, so nothing is replaced.
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try readEscape(into: &out)
            case 0..<0x20:
                let hint = b == 0x0A ? "a string cannot span lines; expected \\n for a line break or a closing '\"'"
                    : b == 0x09 ? "expected \\t instead of a literal tab in a string"
                    : "expected it escaped, as \\u\(hex4(UInt32(b)))"
                throw error(at: pos, "control character U+\(hex4(UInt32(b))) in a string; \(hint)")
            case 0..<0x80:
                out.append(b)
                pos += 1
            default:
                guard let n = utf8SequenceLength(at: pos) else {
                    throw error(at: pos, "invalid UTF-8 (byte 0x\(String(b, radix: 16, uppercase: true))) in a string; expected UTF-8 text (save the file as UTF-8)")
                }
                out.append(contentsOf: bytes[pos..<(pos + n)])
                pos += n
            }
        }
    }

    /// Reads a backslash escape at `pos`, appending the UTF-8 of what it stands for.
    private mutating func readEscape(into out: inout [UInt8]) throws {
        let start = pos
        pos += 1
        guard pos < bytes.count else {
            throw error(at: start, "the input ends inside an escape; expected one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX")
        }
        let c = bytes[pos]
        pos += 1
        switch c {
        case UInt8(ascii: "\""): out.append(0x22)
        case UInt8(ascii: "\\"): out.append(0x5C)
        case UInt8(ascii: "/"): out.append(0x2F)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
            let unit = try readHex4(escapeStart: start)
            var scalarValue = unit
            if (0xD800...0xDBFF).contains(unit) {
                // A high surrogate must be followed by an escaped low surrogate.
                guard pos + 1 < bytes.count, bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u") else {
                    throw error(at: start, "unpaired surrogate \\u\(hex4(unit)); expected a low surrogate \\uDC00…\\uDFFF right after it")
                }
                let lowStart = pos
                pos += 2
                let low = try readHex4(escapeStart: lowStart)
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw error(at: lowStart, "unpaired surrogate \\u\(hex4(unit)) followed by \\u\(hex4(low)); expected a low surrogate \\uDC00…\\uDFFF")
                }
                scalarValue = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(unit) {
                throw error(at: start, "unpaired surrogate \\u\(hex4(unit)); expected a high surrogate \\uD800…\\uDBFF before it")
            }
            // Not a surrogate, or a valid pair: always a Unicode scalar.
            guard let scalar = Unicode.Scalar(scalarValue) else {
                throw error(at: start, "\\u escape is not a Unicode scalar; expected a valid code point")
            }
            out.append(contentsOf: Array(String(Character(scalar)).utf8))
        default:
            throw error(at: start, "invalid escape \\\(printable(c)); expected one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX")
        }
    }

    /// Four hex digits at `pos` (after `\u`).
    private mutating func readHex4(escapeStart: Int) throws -> UInt32 {
        var v: UInt32 = 0
        for _ in 0..<4 {
            guard pos < bytes.count, let d = hexValue(bytes[pos]) else {
                throw error(at: escapeStart, "invalid \\u escape; expected four hex digits after \\u (e.g. \\u00e9)")
            }
            v = v << 4 | d
            pos += 1
        }
        return v
    }

    private func hexValue(_ b: UInt8) -> UInt32? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(b - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(b - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(b - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }

    /// The length of the well-formed UTF-8 sequence at `i` (first byte ≥ 0x80), or nil:
    /// no overlong forms, no encoded surrogates, nothing above U+10FFFF (RFC 3629, table 3-7).
    private func utf8SequenceLength(at i: Int) -> Int? {
        let b0 = bytes[i]
        func cont(_ k: Int, _ range: ClosedRange<UInt8> = 0x80...0xBF) -> Bool {
            i + k < bytes.count && range.contains(bytes[i + k])
        }
        switch b0 {
        case 0xC2...0xDF: return cont(1) ? 2 : nil
        case 0xE0: return cont(1, 0xA0...0xBF) && cont(2) ? 3 : nil
        case 0xE1...0xEC, 0xEE...0xEF: return cont(1) && cont(2) ? 3 : nil
        case 0xED: return cont(1, 0x80...0x9F) && cont(2) ? 3 : nil
        case 0xF0: return cont(1, 0x90...0xBF) && cont(2) && cont(3) ? 4 : nil
        case 0xF1...0xF3: return cont(1) && cont(2) && cont(3) ? 4 : nil
        case 0xF4: return cont(1, 0x80...0x8F) && cont(2) && cont(3) ? 4 : nil
        default: return nil
        }
    }

    // MARK: Errors

    /// 1-based line and column (in Unicode scalars, after any byte order mark) of a byte offset.
    private func location(of offset: Int) -> (line: Int, column: Int) {
        let end = min(max(offset, textStart), bytes.count)
        var line = 1, lineStart = textStart
        for i in textStart..<end where bytes[i] == 0x0A {
            line += 1
            lineStart = i + 1
        }
        // Count scalar starts: every byte that is not a UTF-8 continuation byte.
        var column = 1
        for i in lineStart..<end where bytes[i] & 0xC0 != 0x80 { column += 1 }
        return (line, column)
    }

    private func error(at offset: Int, _ message: String) -> JSONSyntaxError {
        let (line, column) = location(of: offset)
        return JSONSyntaxError(message: message, line: line, column: column)
    }

    /// "unexpected X; expected Y" for the byte at `pos`, with a hint for the usual non-JSON habits.
    private func unexpected(expected: String) -> JSONSyntaxError {
        guard pos < bytes.count else {
            return error(at: pos, "the input ends too early; expected \(expected)")
        }
        let b = bytes[pos]
        let found: String
        switch b {
        case UInt8(ascii: "/") where pos + 1 < bytes.count && (bytes[pos + 1] == UInt8(ascii: "/") || bytes[pos + 1] == UInt8(ascii: "*")):
            found = "comment (JSON has none; remove it or move the note into a \"description\" member)"
        case UInt8(ascii: "'"):
            found = "single quote (JSON strings use double quotes)"
        case UInt8(ascii: "N"), UInt8(ascii: "I"):
            let word = quotedWord(at: pos)
            found = word == "`NaN`" || word.hasPrefix("`Infinity") ? "\(word) (not a JSON number; use a finite number or null)" : word
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "_"):
            found = "\(quotedWord(at: pos)) (strings and keys need double quotes)"
        default:
            found = describe(at: pos)
        }
        return error(at: pos, "unexpected \(found); expected \(expected)")
    }

    /// The run of letters/digits at `i`, back-quoted and shortened, for "unknown word" messages.
    private func quotedWord(at i: Int) -> String {
        var j = i
        while j < bytes.count, j - i < 20,
              (bytes[j] >= UInt8(ascii: "a") && bytes[j] <= UInt8(ascii: "z")) || (bytes[j] >= UInt8(ascii: "A") && bytes[j] <= UInt8(ascii: "Z"))
                || (bytes[j] >= UInt8(ascii: "0") && bytes[j] <= UInt8(ascii: "9")) || bytes[j] == UInt8(ascii: "_") {
            j += 1
        }
        if j == i { return describe(at: i) }
        return "`" + String(decoding: bytes[i..<j], as: UTF8.self) + "`"
    }

    /// A byte for a message: 'x' for printable ASCII, the scalar or the raw byte otherwise.
    private func describe(at i: Int) -> String {
        let b = bytes[i]
        if b >= 0x20 && b < 0x7F { return "'\(printable(b))'" }
        if b < 0x80 { return "control character U+\(hex4(UInt32(b)))" }
        if let n = utf8SequenceLength(at: i), let scalar = String(decoding: bytes[i..<(i + n)], as: UTF8.self).unicodeScalars.first {
            return "character U+\(hex4(scalar.value)) \(String(Character(scalar)).debugDescription)"
        }
        return "byte 0x\(String(b, radix: 16, uppercase: true)) (not UTF-8)"
    }

    private func printable(_ b: UInt8) -> String {
        b >= 0x20 && b < 0x7F ? String(UnicodeScalar(b)) : "U+\(hex4(UInt32(b)))"
    }

    private func hex4(_ v: UInt32) -> String {
        let s = String(v, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - s.count)) + s
    }
}
