import Foundation
import Testing
@testable import Pipeline

@Suite("Strict JSON for experiment files")
struct StrictJSONTests {
    func parse(_ text: String) throws -> JSONValue {
        try JSONValue.parse(Data(text.utf8))
    }

    /// The error for `text`, or a recorded issue if it parses.
    func failure(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> JSONSyntaxError? {
        failure(Data(text.utf8), sourceLocation: sourceLocation)
    }

    func failure(_ data: Data, sourceLocation: SourceLocation = #_sourceLocation) -> JSONSyntaxError? {
        do {
            let v = try JSONValue.parse(data)
            Issue.record("expected a syntax error, parsed \(v.canonicalText)", sourceLocation: sourceLocation)
        } catch let e as JSONSyntaxError {
            return e
        } catch {
            Issue.record("expected a JSONSyntaxError, got \(error)", sourceLocation: sourceLocation)
        }
        return nil
    }

    @Test func validDocumentsKeepIntegersNumbersAndNull() throws {
        let v = try parse("""
        \u{FEFF}{"a": 1, "b": -0, "c": 1.5, "d": 1e2, "e": 9223372036854775807, "f": 9223372036854775808,
         "g": null, "h": [true, false, [], {}], "i": "x\\u00e9\\ud83d\\ude00\\n\\/\\"", "j": -1.25E-3, "k": "ünï"}
        """)
        guard case .object(let o) = v else { Issue.record("not an object"); return }
        #expect(o["a"] == .integer(1))
        #expect(o["b"] == .integer(0))
        #expect(o["c"] == .number(1.5))
        #expect(o["d"] == .number(100))
        #expect(o["e"] == .integer(.max))
        #expect(o["f"] == .number(9223372036854775808.0))
        #expect(o["g"] == .null)
        #expect(o["h"] == .array([.bool(true), .bool(false), .array([]), .object([:])]))
        #expect(o["i"] == .string("xé😀\n/\""))
        #expect(o["j"] == .number(-0.00125))
        #expect(o["k"] == .string("ünï"))
        #expect(try parse(" 42 ") == .integer(42))
        #expect(try parse("\"\\u0000\"") == .string("\u{0}"))
    }

    @Test func canonicalTextParsesBackToTheSameValue() throws {
        let values: [JSONValue] = [
            .object(["stages": .object(["a": .object(["type": .string("x"), "params": .object(["t": .number(1e-4), "n": .integer(-3)])])])]),
            .array([.null, .bool(true), .string("tab\there \u{1} \"q\" \\ é"), .number(0.1), .integer(.min)]),
        ]
        for v in values { #expect(try parse(v.canonicalText) == v) }
    }

    @Test func trailingCommasAreRefusedWithTheirPosition() throws {
        let e = failure("{\n  \"a\": 1,\n  \"b\": [1, 2,],\n}")
        #expect(e?.line == 3)
        #expect(e?.column == 13)
        #expect(e?.description == "invalid JSON at line 3, column 13: trailing comma before ']' (remove it); expected another value after a comma")
        let o = failure("{\n  \"a\": 1,\n  \"b\": 2,\n}")
        #expect(o?.description.hasPrefix("invalid JSON at line 3, column 9: trailing comma before '}' (remove it)") == true)
    }

    @Test func duplicateKeysNameTheKeyAndBothPositions() throws {
        let e = failure("{\n  \"min_count\": 5,\n  \"t\": 1,\n    \"min_count\": 10\n}")
        #expect(e?.line == 4)
        #expect(e?.column == 5)
        #expect(e?.message.contains("duplicate key \"min_count\" (first at line 2, column 3)") == true)
        // Nested objects each have their own keys.
        #expect(try parse(#"{"a": {"x": 1}, "b": {"x": 2}}"#) == .object(["a": .object(["x": .integer(1)]), "b": .object(["x": .integer(2)])]))
        #expect(failure(#"{"a": {"x": 1, "x": 1}}"#)?.message.contains("duplicate key \"x\"") == true)
    }

    @Test func everyKindOfBadInputHasALocatedMessage() throws {
        // (input, line, column, fragment of the message)
        let cases: [(String, Int, Int, String)] = [
            ("", 1, 1, "empty"),
            ("  \n ", 2, 2, "empty"),
            ("{\"a\": 1} // note", 1, 10, "comment"),
            ("{\n /* c */ \"a\": 1}", 2, 2, "comment"),
            ("[01]", 1, 2, "leading zeros"),
            ("[-01]", 1, 2, "leading zeros"),
            ("[NaN]", 1, 2, "`NaN` (not a JSON number"),
            ("[Infinity]", 1, 2, "`Infinity` (not a JSON number"),
            ("[-Infinity]", 1, 2, "-Infinity is not a JSON number"),
            ("[1e999]", 1, 2, "too large"),
            ("[1.]", 1, 4, "a digit after the decimal point"),
            ("[.5]", 1, 2, "unexpected '.'"),
            ("[1e]", 1, 4, "a digit in the exponent"),
            ("[-]", 1, 3, "a digit after '-'"),
            ("[+1]", 1, 2, "unexpected '+'"),
            ("[\"a\\x\"]", 1, 4, "invalid escape \\x"),
            ("[\"\\u12G4\"]", 1, 3, "four hex digits"),
            ("[\"\\ud800\"]", 1, 3, "unpaired surrogate \\uD800"),
            ("[\"\\ud800\\u0041\"]", 1, 9, "unpaired surrogate \\uD800 followed by \\u0041"),
            ("[\"\\udc00\"]", 1, 3, "unpaired surrogate \\uDC00"),
            ("[\"a\nb\"]", 1, 4, "control character U+000A"),
            ("[\"a\tb\"]", 1, 4, "control character U+0009"),
            ("[\"abc", 1, 6, "closing '\"'"),
            ("{\"a\": 1} x", 1, 10, "the end of the input"),
            ("{\"a\": 1}{}", 1, 9, "the end of the input"),
            ("{'a': 1}", 1, 2, "single quote"),
            ("{a: 1}", 1, 2, "need double quotes"),
            ("{\"a\" 1}", 1, 6, "':' after the key \"a\""),
            ("{\"a\": 1 \"b\": 2}", 1, 9, "',' or '}'"),
            ("[1 2]", 1, 4, "',' or ']'"),
            ("[True]", 1, 2, "`True`"),
            ("[nul]", 1, 2, "expected `null`"),
            ("{\"a\": }", 1, 7, "for the key \"a\""),
            ("[", 1, 2, "ends too early"),
            ("{\"a\": [1, 2", 1, 12, "ends inside a list"),
            ("\u{FEFF}[1,]", 1, 3, "trailing comma"),
            ("[\"ü\", x]", 1, 7, "unexpected `x`"),
            ("[1]\u{0}", 1, 4, "control character U+0000"),
        ]
        for (text, line, column, fragment) in cases {
            guard let e = failure(text) else { continue }
            #expect(e.line == line && e.column == column, "\(text.debugDescription): \(e)")
            #expect(e.description.contains(fragment), "\(text.debugDescription): \(e)")
            #expect(e.description.hasPrefix("invalid JSON at line \(line), column \(column): "), "\(text.debugDescription): \(e)")
            #expect(e.message.contains("expected"), "\(text.debugDescription): \(e)")
        }
    }

    @Test func invalidUTF8InStringsIsRefused() throws {
        for bad in [[0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xE2, 0x82], [0x80], [0xF4, 0x90, 0x80, 0x80]] as [[UInt8]] {
            let data = Data([0x5B, 0x22, 0x61] + bad + [0x22, 0x5D])
            let e = failure(data)
            #expect(e?.message.contains("invalid UTF-8") == true)
            #expect(e?.column == 4)
        }
    }

    @Test func deepNestingIsRefusedWithoutOverflowingTheStack() throws {
        let ok = String(repeating: "[", count: StrictJSONParser.maxDepth) + String(repeating: "]", count: StrictJSONParser.maxDepth)
        #expect(throws: Never.self) { try parse(ok) }
        let deep = String(repeating: "[", count: 1_000_000)
        let e = failure(deep)
        #expect(e?.message.contains("nesting deeper than 512") == true)
        #expect(e?.column == StrictJSONParser.maxDepth + 1)
        let deepObjects = String(repeating: "{\"a\":", count: 100_000)
        #expect(failure(deepObjects)?.message.contains("nesting deeper") == true)
    }

    @Test func experimentLoaderReportsStrictErrors() throws {
        let sandbox = try Sandbox()
        do {
            _ = try sandbox.load("dup.json", "{\"stages\": {\"a\": {\"type\": \"source\"}},\n \"stages\": {}}")
            Issue.record("a duplicate key must be refused")
        } catch let e as SpecError {
            #expect(e.description.contains("dup.json: invalid JSON at line 2, column 2: duplicate key \"stages\" (first at line 1, column 2)"))
        }
    }

    /// Random bytes, mutations and truncations of a valid file: the parser must return or throw
    /// a `JSONSyntaxError`, never trap; and whatever it accepts Foundation's parser accepts too.
    @Test func neverCrashesOnArbitraryBytes() throws {
        let valid = Array("""
        \u{FEFF}{
          "name": "fuzz", "description": "tab\\t é 😀 \\ud83d\\ude00",
          "stages": {
            "corpus": {"type": "unzip", "params": {"path": "../data/en-small.zip", "member": "text8"}},
            "vocab": {"type": "build-vocab", "inputs": {"tokens": "tokens.tokens"}, "params": {"min_count": 5, "t": 1e-4, "x": [-0.5, null, true, false, {}]}}
          }
        }
        """.utf8)
        #expect(throws: Never.self) { try JSONValue.parse(Data(valid)) }
        var rng = SeededGenerator(seed: 20261201)
        let alphabet = Array("{}[]\",:\\/ \n\t0123456789-+.eEtrufalsn*'uDd".utf8) + [0x00, 0x1F, 0x80, 0xBF, 0xC3, 0xED, 0xEF, 0xF0, 0xFF]
        var inputs: [[UInt8]] = []
        for n in 0...valid.count { inputs.append(Array(valid.prefix(n))) }
        for _ in 0..<3000 {
            var m = valid
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let i = Int.random(in: 0..<m.count, using: &rng)
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: m[i] = alphabet.randomElement(using: &rng)!
                case 1: m.insert(alphabet.randomElement(using: &rng)!, at: i)
                case 2: if m.count > 1 { m.remove(at: i) }
                default: m[i] = UInt8.random(in: 0...255, using: &rng)
                }
            }
            inputs.append(m)
        }
        for _ in 0..<2000 {
            let n = Int.random(in: 0..<64, using: &rng)
            inputs.append((0..<n).map { _ in alphabet.randomElement(using: &rng)! })
            inputs.append((0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) })
        }
        var accepted = 0
        for input in inputs {
            do {
                _ = try JSONValue.parse(Data(input))
                accepted += 1
                // Whatever we accept is JSON for Foundation too (which is laxer, never stricter).
                let foundation = try? JSONSerialization.jsonObject(with: Data(input), options: [.fragmentsAllowed])
                #expect(foundation != nil, "accepted but Foundation refuses: \(String(decoding: input, as: UTF8.self).debugDescription)")
            } catch let e as JSONSyntaxError {
                #expect(e.line != nil && e.column != nil)
                #expect((e.line ?? 0) >= 1 && (e.column ?? 0) >= 1)
            } catch {
                Issue.record("unexpected error type \(error)")
            }
        }
        #expect(accepted > 0)
    }
}

/// A small deterministic generator (SplitMix64), so a failing fuzz input can be reproduced.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension StrictJSONTests {
    @Test func largeDocumentsParseInLinearTime() throws {
        // 200,000 list items and object members: quadratic copying would take minutes.
        let list = "[" + (0..<200_000).map(String.init).joined(separator: ",") + "]"
        let object = "{" + (0..<200_000).map { "\"k\($0)\": \($0)" }.joined(separator: ",") + "}"
        let clock = ContinuousClock()
        let elapsed = try clock.measure {
            guard case .array(let items) = try parse(list) else { Issue.record("not a list"); return }
            #expect(items.count == 200_000)
            guard case .object(let members) = try parse(object) else { Issue.record("not an object"); return }
            #expect(members.count == 200_000 && members["k199999"] == .integer(199_999))
        }
        #expect(elapsed < .seconds(20))
    }
}
