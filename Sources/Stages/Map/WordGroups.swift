import Foundation

/// Named groups of words to colour on a map: a few fixed lists (days, months, numbers) and the
/// roles of an analogy set's sections (capitals and countries, currencies, family words, …).
public struct WordGroup: Sendable, Equatable {
    public var name: String
    public var words: [String]
    public init(name: String, words: [String]) { self.name = name; self.words = words }
}

public enum WordGroups {
    /// Fixed lists, lower-case. "may" is left out of the months: as a verb it is far more common.
    public static let fixed: [WordGroup] = [
        WordGroup(name: "days", words: ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]),
        WordGroup(name: "months", words: ["january", "february", "march", "april", "june", "july", "august", "september",
                                          "october", "november", "december"]),
        WordGroup(name: "numbers", words: ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                                           "eleven", "twelve", "twenty", "thirty", "forty", "fifty", "hundred", "thousand", "million", "billion"]),
    ]

    /// What the columns of the Google set's sections are (a b c d with a:b = c:d): the group of
    /// the first word of each pair and of the second. Sections not listed here (other analogy
    /// sets, other names) give one group named after the section with all its words.
    static let roles: [String: (first: String?, second: String?)] = [
        "capital-common-countries": ("capitals", "countries"),
        "capital-world": ("capitals", "countries"),
        "currency": ("countries", "currencies"),
        "city-in-state": ("US cities", "US states"),
        "family": ("family words", "family words"),
        "gram6-nationality-adjective": ("countries", "nationalities"),
        "gram1-adjective-to-adverb": (nil, "adverbs"),
        "gram2-opposite": (nil, nil),
        "gram3-comparative": (nil, "comparatives"),
        "gram4-superlative": (nil, "superlatives"),
        "gram5-present-participle": (nil, "present participles"),
        "gram7-past-tense": (nil, "past tenses"),
        "gram8-plural": (nil, "plural nouns"),
        "gram9-plural-verbs": (nil, nil),
    ]

    /// The groups an analogy set defines, in order of first appearance, each word in the first
    /// group that names it (fixed lists first), lower-cased when `lowercase`.
    public static func groups(analogies: AnalogyDataset?, lowercase: Bool = true) -> [WordGroup] {
        var out = fixed
        var owner: [String: Int] = [:]
        for (g, group) in out.enumerated() { for w in group.words where owner[w] == nil { owner[w] = g } }
        func add(_ word: String, to name: String) {
            let w = lowercase ? word.lowercased() : word
            guard owner[w] == nil else { return }
            let g = out.firstIndex { $0.name == name } ?? { out.append(WordGroup(name: name, words: [])); return out.count - 1 }()
            out[g].words.append(w)
            owner[w] = g
        }
        for section in analogies?.sections ?? [] {
            let name = section.name.trimmingCharacters(in: .whitespaces)
            let role = roles[name] ?? (name.isEmpty ? (nil, nil) : (name, name))
            for q in section.questions {
                if let first = role.first { add(q.a, to: first); add(q.c, to: first) }
                if let second = role.second { add(q.b, to: second); add(q.d, to: second) }
            }
        }
        return out.filter { !$0.words.isEmpty }
    }

    /// For each word of `words`, the index of its group among those that have at least
    /// `minimum` members in `words`, keeping at most `limit` groups (the first ones); the kept
    /// groups are returned in order.
    public static func assign(_ words: [String], groups: [WordGroup], minimum: Int = 3, limit: Int)
        -> (groups: [WordGroup], membership: [Int?]) {
        var owner: [String: Int] = [:]
        for (g, group) in groups.enumerated() { for w in group.words where owner[w] == nil { owner[w] = g } }
        var present = [Int](repeating: 0, count: groups.count)
        for w in words { if let g = owner[w] { present[g] += 1 } }
        let kept = groups.indices.filter { present[$0] >= minimum }.prefix(limit)
        var renumber: [Int: Int] = [:]
        for (new, old) in kept.enumerated() { renumber[old] = new }
        return (kept.map { groups[$0] }, words.map { owner[$0].flatMap { renumber[$0] } })
    }
}
