import Foundation

/// Errors about a `WordVectors` value itself (shape, duplicates, unknown words).
public struct WordVectorsError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: String, Sendable, Codable {
        case shapeMismatch, duplicateWord, unknownWord, invalidArgument
    }
    public let kind: Kind
    /// The offending word, when there is one.
    public let word: String?
    /// For `.unknownWord`: close spellings in the vocabulary, most likely first.
    public let suggestions: [String]
    public let message: String

    public init(kind: Kind, word: String? = nil, suggestions: [String] = [], message: String) {
        self.kind = kind
        self.word = word
        self.suggestions = suggestions
        self.message = message
    }

    public var description: String { message }

    static func unknown(_ word: String, suggestions: [String], vocabularySize: Int) -> WordVectorsError {
        let msg: String
        if suggestions.isEmpty {
            msg = "unknown word `\(word)`: it is not among the \(vocabularySize) words of the vocabulary and no word is spelled similarly; check the spelling, or retrain with a lower min-count"
        } else {
            msg = "unknown word `\(word)`; did you mean \(suggestions.joined(separator: ", "))?"
        }
        return WordVectorsError(kind: .unknownWord, word: word, suggestions: suggestions, message: msg)
    }
}

/// Errors while loading an evaluation data set (analogy questions, similarity pairs).
public struct DatasetError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: String, Sendable, Codable {
        case cannotRead, malformedLine, empty
    }
    public let kind: Kind
    public let path: String
    /// 1-based line number, when the problem is on a line.
    public let line: Int?
    public let message: String

    public init(kind: Kind, path: String, line: Int? = nil, message: String) {
        self.kind = kind
        self.path = path
        self.line = line
        self.message = message
    }

    public var description: String {
        if let line { return "\(path):\(line): \(message)" }
        return "\(path): \(message)"
    }
}

/// Errors while reading or writing word2vec / TSV vector files.
public struct Word2VecFormatError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: String, Sendable, Codable {
        case cannotOpen, cannotWrite, badHeader, shortRow, longRow, notANumber,
             duplicateWord, badWord, truncated, extraData
    }
    public let kind: Kind
    public let path: String
    /// 1-based line number (text files and the header line).
    public let line: Int?
    /// 0-based byte offset (binary files).
    public let byteOffset: Int?
    public let message: String

    public init(kind: Kind, path: String, line: Int? = nil, byteOffset: Int? = nil, message: String) {
        self.kind = kind
        self.path = path
        self.line = line
        self.byteOffset = byteOffset
        self.message = message
    }

    public var description: String {
        if let line { return "\(path):\(line): \(message)" }
        if let byteOffset { return "\(path): at byte offset \(byteOffset): \(message)" }
        return "\(path): \(message)"
    }
}
