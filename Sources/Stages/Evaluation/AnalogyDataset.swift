import Foundation

/// One question "a b c d": a is to b as c is to d.
public struct AnalogyQuestion: Codable, Sendable, Equatable {
    public var a: String
    public var b: String
    public var c: String
    /// The expected answer.
    public var d: String
    /// 1-based line in the source file.
    public var line: Int

    public init(a: String, b: String, c: String, d: String, line: Int) {
        self.a = a; self.b = b; self.c = c; self.d = d; self.line = line
    }
}

public struct AnalogySection: Codable, Sendable, Equatable {
    public var name: String
    public var questions: [AnalogyQuestion]
    /// Google's convention: sections named `gram*` are syntactic, the others semantic.
    public var isSyntactic: Bool { name.hasPrefix("gram") }

    public init(name: String, questions: [AnalogyQuestion]) {
        self.name = name
        self.questions = questions
    }
}

/// Analogy questions in the Google `questions-words.txt` format:
/// `: section-name` lines, then `A B C D` lines (whitespace separated).
public struct AnalogyDataset: Codable, Sendable, Equatable {
    public var source: String
    public var sections: [AnalogySection]
    /// True when the words were lowercased on load (our corpus is lowercased).
    public var lowercased: Bool

    public var questionCount: Int { sections.reduce(0) { $0 + $1.questions.count } }

    public init(source: String, sections: [AnalogySection], lowercased: Bool) {
        self.source = source
        self.sections = sections
        self.lowercased = lowercased
    }

    /// Loads a Google-format analogy file. Malformed lines throw `DatasetError`
    /// naming the file and line.
    public static func load(_ path: String, lowercase: Bool = true) throws -> AnalogyDataset {
        try parse(EvalText.readText(path), source: path, lowercase: lowercase)
    }

    public static func parse(_ text: String, source: String = "<text>", lowercase: Bool = true) throws -> AnalogyDataset {
        var sections: [AnalogySection] = []
        for (n, line) in EvalText.numberedLines(text) {
            if EvalText.isBlank(line) { continue }
            let trimmed = line.drop(while: { $0 == " " || $0 == "\t" })
            if trimmed.hasPrefix(":") {
                let name = trimmed.dropFirst().trimmingCharacters(in: .whitespaces)
                guard !name.isEmpty else {
                    throw DatasetError(kind: .malformedLine, path: source, line: n,
                        message: "section line has no name; write it as `: section-name`")
                }
                sections.append(AnalogySection(name: name, questions: []))
                continue
            }
            let f = EvalText.fields(line)
            guard f.count == 4 else {
                throw DatasetError(kind: .malformedLine, path: source, line: n,
                    message: "expected 4 words `A B C D` (A is to B as C is to D) or a `: section` line, found \(f.count) field\(f.count == 1 ? "" : "s"): \(EvalText.quoted(line))")
            }
            guard !sections.isEmpty else {
                throw DatasetError(kind: .malformedLine, path: source, line: n,
                    message: "question before any `: section` line; start the file with a section header such as `: capital-common-countries`")
            }
            let w = f.map { lowercase ? $0.lowercased() : String($0) }
            sections[sections.count - 1].questions.append(
                AnalogyQuestion(a: w[0], b: w[1], c: w[2], d: w[3], line: n))
        }
        guard sections.contains(where: { !$0.questions.isEmpty }) else {
            throw DatasetError(kind: .empty, path: source,
                message: "no analogy questions found; expected `: section` lines followed by `A B C D` lines")
        }
        return AnalogyDataset(source: source, sections: sections, lowercased: lowercase)
    }
}
