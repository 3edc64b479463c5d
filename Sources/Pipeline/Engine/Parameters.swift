import Foundation

// A stage's parameters are one typed value (a struct conforming to `StageParameters`): its
// stored properties hold the defaults, and its `fields` table gives each property its JSON name,
// range, identity and help. Validation, defaults, stage keys, `stages` help, sweeps and
// `compare` all read that one declaration; a stage's `run` receives the decoded value and never
// looks a parameter up by name.
//
// The path of one parameter, e.g. `window`, from the experiment file to the kernel:
//   experiment JSON `"window": 5`
//   → `ExperimentLoader` decodes the stage's `params` object with `TrainParameters.fields`
//     (the `.integer("window", \.window, in: 1...100, …)` entry checks type and range, and says
//     "stages.train.params.window: expected an integer in 1…100, got null" otherwise)
//   → `StageInstance.parameters` holds the `TrainParameters` value; its canonical JSON encoding
//     (`keyParameters`) is part of the stage key
//   → `Engine` hands the value to `TrainStage.run(_:parameters:)`
//   → `TrainStage.configuration(_:cores:)` (`window: parameters.window`) → `Trainer` → the kernels.

/// The kind of value a parameter takes, with its constraints (for messages and `--help`).
public enum ParameterType: Sendable, Equatable {
    case integer(ClosedRange<Int64>)
    case number(ClosedRange<Double>)
    case string
    case bool
    case choice([String])
    /// A path to a file outside the store, relative to the experiment file.
    /// The stage key depends on the file's content digest, not on its path.
    case inputFile
    /// A path the stage writes outside the store (relative to the experiment file).
    case outputPath
    /// A list of strings (e.g. probe words).
    case stringList

    public var expectation: String {
        switch self {
        case .integer(let r):
            if r.upperBound == .max { return r.lowerBound == 1 ? "a positive integer" : "an integer ≥ \(r.lowerBound)" }
            return "an integer in \(r.lowerBound)…\(r.upperBound)"
        case .number(let r):
            if r.upperBound == .greatestFiniteMagnitude { return "a number ≥ \(r.lowerBound)" }
            return "a number in \(r.lowerBound)…\(r.upperBound)"
        case .string: return "a non-empty string"
        case .bool: return "true or false"
        case .choice(let options): return "one of " + options.map { "\"\($0)\"" }.joined(separator: ", ")
        case .inputFile: return "a file path (relative to the experiment file)"
        case .outputPath: return "a destination path (relative to the experiment file)"
        case .stringList: return "a list of strings"
        }
    }
}

/// How a parameter takes part in the stage key.
public enum ParameterIdentity: Sendable, Equatable {
    /// Its value is part of the key (it changes the output).
    case value
    /// Only for messages or scheduling; changing it never reruns the stage.
    case ignored
}

/// The description of one parameter, as `stages`, validation messages and sweeps see it.
public struct ParameterSpec: Sendable {
    public let name: String
    public let type: ParameterType
    /// The default as JSON; nil means the parameter is required.
    public let defaultValue: JSONValue?
    /// Whether `null` is a value of this parameter (it then means what `help` says).
    public let nullable: Bool
    public let identity: ParameterIdentity
    public let help: String
}

/// A file named by a parameter: one on disk (the path as written, resolved against the
/// experiment file's folder) or one the product carries compiled in (a stage's default).
public struct InputFile: Hashable, Sendable {
    /// As written in the experiment file, or `built-in:<name>`.
    public let path: String
    /// Where it is on disk; nil for a built-in file.
    public let url: URL?
    /// The compiled-in file; nil for a file on disk.
    public let builtin: BuiltinFile?

    public init(path: String, relativeTo base: URL) {
        self.path = path
        self.url = URL(fileURLWithPath: path, relativeTo: base).standardizedFileURL
        self.builtin = nil
    }

    public init(_ builtin: BuiltinFile) {
        self.path = builtin.reference
        self.url = nil
        self.builtin = builtin
    }
}

/// A file the product carries compiled in (e.g. the standard evaluation sets): read without
/// touching the disk, so it is found wherever the experiment file is. It enters stage keys by
/// content digest exactly as the same bytes on disk would.
public struct BuiltinFile: Hashable, Sendable {
    public let name: String
    public let text: String
    /// SHA-256 of the UTF-8 bytes (as `ArtifactStore.fileDigest` computes for a file).
    public let digest: String

    public init(name: String, text: String) {
        self.name = name
        self.text = text
        self.digest = sha256Hex(text)
    }

    /// How an experiment file may name it: `built-in:<name>`.
    public var reference: String { "built-in:" + name }
    public var byteCount: Int { text.utf8.count }

    public static func == (a: BuiltinFile, b: BuiltinFile) -> Bool { a.name == b.name && a.digest == b.digest }
    public func hash(into hasher: inout Hasher) { hasher.combine(name); hasher.combine(digest) }
}

/// What decoding a parameter needs besides the value.
public struct ParameterDecodingContext: Sendable {
    /// The folder that relative paths are resolved against (the experiment file's).
    public let baseDirectory: URL
    public init(baseDirectory: URL) { self.baseDirectory = baseDirectory }
}

/// One entry of a stage's parameter table: a JSON name bound to a stored property.
public struct ParameterField<Owner: StageParameters>: Sendable {
    public let name: String
    public let type: ParameterType
    public let identity: ParameterIdentity
    public let required: Bool
    public let nullable: Bool
    public let help: String
    /// The property's value as JSON (its canonical form: integers as integers, numbers as numbers).
    let read: @Sendable (Owner) -> JSONValue
    /// Sets the property from JSON; returns the complaint when the value does not fit.
    let write: @Sendable (inout Owner, JSONValue, ParameterDecodingContext) -> String?
    /// For file parameters: the file, when set.
    let file: (@Sendable (Owner) -> InputFile?)?

    public var spec: ParameterSpec {
        ParameterSpec(name: name, type: type, defaultValue: required ? nil : read(Owner()), nullable: nullable,
                      identity: identity, help: help)
    }

    /// The general form behind the typed constructors below.
    static func make<V: Sendable>(_ name: String, _ keyPath: WritableKeyPath<Owner, V> & Sendable, _ type: ParameterType,
                                  identity: ParameterIdentity, required: Bool, nullable: Bool, help: String,
                                  encode: @escaping @Sendable (V) -> JSONValue,
                                  decode: @escaping @Sendable (JSONValue, ParameterDecodingContext) -> V?,
                                  file: (@Sendable (V) -> InputFile?)? = nil) -> Self {
        let read: @Sendable (Owner) -> JSONValue = { encode($0[keyPath: keyPath]) }
        let write: @Sendable (inout Owner, JSONValue, ParameterDecodingContext) -> String? = { owner, json, context in
            guard let value = decode(json, context) else { return ParameterCheck.complaint(json, type) }
            owner[keyPath: keyPath] = value
            return nil
        }
        var fileOf: (@Sendable (Owner) -> InputFile?)? = nil
        if let file {
            fileOf = { file($0[keyPath: keyPath]) }
        }
        return ParameterField(name: name, type: type, identity: identity, required: required, nullable: nullable, help: help,
                              read: read, write: write, file: fileOf)
    }
}

/// Conversions shared by the field constructors.
enum ParameterCheck {
    static func complaint(_ value: JSONValue, _ type: ParameterType) -> String {
        let got: String
        switch value {
        case .null: got = "null"
        case .string(let s) where s.isEmpty: got = "an empty string"
        case .integer, .number: got = value.displayText
        case .string(let s):
            if case .choice(let options) = type { return "expected \(type.expectation), got \"\(s)\"" + Suggestions.didYouMean(s, in: options) }
            got = "a string \(value.displayText)"
        default: got = "\(value.typeDescription) \(value.displayText)"
        }
        return "expected \(type.expectation), got \(got)"
    }

    static func integer(_ v: JSONValue, _ range: ClosedRange<Int64>) -> Int? {
        switch v {
        case .integer(let i): return range.contains(i) ? Int(exactly: i) : nil
        case .number(let d):
            // 5.0 and 5e0 are the integer 5.
            guard d == d.rounded(), let i = Int64(exactly: d), range.contains(i) else { return nil }
            return Int(exactly: i)
        default: return nil
        }
    }

    static func number(_ v: JSONValue, _ range: ClosedRange<Double>) -> Double? {
        guard let d = v.doubleValue, d.isFinite, range.contains(d) else { return nil }
        return d
    }

    static func string(_ v: JSONValue) -> String? {
        guard case .string(let s) = v, !s.isEmpty else { return nil }
        return s
    }
}

extension ParameterField {
    /// An integer in `range`.
    public static func integer(_ name: String, _ keyPath: WritableKeyPath<Owner, Int> & Sendable, in range: ClosedRange<Int64>,
                               identity: ParameterIdentity = .value, help: String) -> Self {
        make(name, keyPath, .integer(range), identity: identity, required: false, nullable: false, help: help,
             encode: { .integer(Int64($0)) }, decode: { v, _ in ParameterCheck.integer(v, range) })
    }

    /// An integer in `range`, or null (meaning what `help` says).
    public static func integer(_ name: String, _ keyPath: WritableKeyPath<Owner, Int?> & Sendable, in range: ClosedRange<Int64>,
                               identity: ParameterIdentity = .value, help: String) -> Self {
        make(name, keyPath, .integer(range), identity: identity, required: false, nullable: true, help: help,
             encode: { $0.map { .integer(Int64($0)) } ?? .null },
             decode: { v, _ in v == .null ? .some(nil) : ParameterCheck.integer(v, range).map { $0 } })
    }

    /// A finite number in `range`.
    public static func number(_ name: String, _ keyPath: WritableKeyPath<Owner, Double> & Sendable, in range: ClosedRange<Double>,
                              identity: ParameterIdentity = .value, help: String) -> Self {
        make(name, keyPath, .number(range), identity: identity, required: false, nullable: false, help: help,
             encode: { .number($0) }, decode: { v, _ in ParameterCheck.number(v, range) })
    }

    /// A finite number in `range`, or null.
    public static func number(_ name: String, _ keyPath: WritableKeyPath<Owner, Double?> & Sendable, in range: ClosedRange<Double>,
                              identity: ParameterIdentity = .value, help: String) -> Self {
        make(name, keyPath, .number(range), identity: identity, required: false, nullable: true, help: help,
             encode: { $0.map { .number($0) } ?? .null },
             decode: { v, _ in v == .null ? .some(nil) : ParameterCheck.number(v, range).map { $0 } })
    }

    public static func bool(_ name: String, _ keyPath: WritableKeyPath<Owner, Bool> & Sendable,
                            identity: ParameterIdentity = .value, help: String) -> Self {
        make(name, keyPath, .bool, identity: identity, required: false, nullable: false, help: help,
             encode: { .bool($0) }, decode: { v, _ in if case .bool(let b) = v { return b } else { return nil } })
    }

    /// A non-empty string, or null.
    public static func string(_ name: String, _ keyPath: WritableKeyPath<Owner, String?> & Sendable,
                              identity: ParameterIdentity = .value, help: String) -> Self {
        make(name, keyPath, .string, identity: identity, required: false, nullable: true, help: help,
             encode: { $0.map { .string($0) } ?? .null },
             decode: { v, _ in v == .null ? .some(nil) : ParameterCheck.string(v).map { $0 } })
    }

    /// One of an enumeration's raw values.
    public static func choice<E: RawRepresentable & CaseIterable & Sendable>(
        _ name: String, _ keyPath: WritableKeyPath<Owner, E> & Sendable, identity: ParameterIdentity = .value, help: String
    ) -> Self where E.RawValue == String {
        make(name, keyPath, .choice(E.allCases.map(\.rawValue)), identity: identity, required: false, nullable: false, help: help,
             encode: { .string($0.rawValue) },
             decode: { v, _ in if case .string(let s) = v { return E(rawValue: s) } else { return nil } })
    }

    /// A list of strings. With `acceptsSingle`, one string is also accepted and means a list of
    /// one (so `"*.txt"` and `["*.txt"]` are the same value and the same stage key).
    public static func strings(_ name: String, _ keyPath: WritableKeyPath<Owner, [String]> & Sendable,
                               identity: ParameterIdentity = .value, acceptsSingle: Bool = false, help: String) -> Self {
        make(name, keyPath, .stringList, identity: identity, required: false, nullable: false, help: help,
             encode: { .array($0.map { .string($0) }) },
             decode: { v, _ in
                 if acceptsSingle, let one = ParameterCheck.string(v) { return [one] }
                 guard case .array(let items) = v else { return nil }
                 let strings = items.compactMap(\.stringValue)
                 return strings.count == items.count ? strings : nil
             })
    }

    /// A file the stage reads; required unless the property's default is set (a default may
    /// be a built-in file, which `built-in:<name>` also names). Its content digest, not its
    /// path, enters the stage key. `nullable` lets `null` mean "none".
    public static func file(_ name: String, _ keyPath: WritableKeyPath<Owner, InputFile?> & Sendable, required: Bool = false,
                            nullable: Bool = true, help: String) -> Self {
        make(name, keyPath, .inputFile, identity: .value, required: required, nullable: nullable, help: help,
             encode: { $0.map { .string($0.path) } ?? .null },
             decode: { v, context in
                 if v == .null { return nullable ? .some(nil) : nil }
                 guard let path = ParameterCheck.string(v) else { return nil }
                 if let builtin = Owner()[keyPath: keyPath]?.builtin, path == builtin.reference { return InputFile(builtin) }
                 return InputFile(path: path, relativeTo: context.baseDirectory)
             },
             file: { $0 })
    }

    /// A destination outside the store (never part of the stage key: where a copy goes does
    /// not change what the stage computes).
    public static func destination(_ name: String, _ keyPath: WritableKeyPath<Owner, String> & Sendable, help: String) -> Self {
        make(name, keyPath, .outputPath, identity: .ignored, required: true, nullable: false, help: help,
             encode: { .string($0) }, decode: { v, _ in ParameterCheck.string(v) })
    }

    /// An optional destination outside the store (null: no copy is written); never keyed.
    public static func destination(_ name: String, _ keyPath: WritableKeyPath<Owner, String?> & Sendable, help: String) -> Self {
        make(name, keyPath, .outputPath, identity: .ignored, required: false, nullable: true, help: help,
             encode: { $0.map { .string($0) } ?? .null },
             decode: { v, _ in v == .null ? .some(nil) : ParameterCheck.string(v).map { $0 } })
    }
}

/// A stage's parameters: a value type whose stored properties carry the defaults, described
/// by `fields`. Conformers get `Codable` (through the same table) and validation for free.
public protocol StageParameters: Codable, Hashable, Sendable {
    /// All defaults.
    init()
    /// One entry per parameter, in the order `stages` lists them.
    static var fields: [ParameterField<Self>] { get }
    /// Values for comparison tables: by default the encoded parameters; a stage may fill in
    /// what a null resolves to (e.g. the learning rate a model uses by default).
    var effectiveValues: [String: JSONValue] { get }
}

/// Parameters of a stage that takes none.
public struct NoParameters: StageParameters {
    public init() {}
    public static let fields: [ParameterField<NoParameters>] = []
}

extension StageParameters {
    public static var specs: [ParameterSpec] { fields.map(\.spec) }

    /// Every parameter as JSON, defaults included.
    public var jsonValues: [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        for field in Self.fields { out[field.name] = field.read(self) }
        return out
    }

    public var effectiveValues: [String: JSONValue] { keyValues }

    /// The parameters that take part in the stage key: files (keyed by content digest) and
    /// ignored ones left out.
    public var keyValues: [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        for field in Self.fields where field.identity == .value && field.type != .inputFile {
            out[field.name] = field.read(self)
        }
        return out
    }

    /// Files the stage reads, by parameter name (on disk or built in).
    public var inputFiles: [String: InputFile] {
        var out: [String: InputFile] = [:]
        for field in Self.fields { if let file = field.file?(self) { out[field.name] = file } }
        return out
    }

    /// Decodes `given` (the stage's `params` object), filling defaults; every problem is
    /// reported with its JSON path under `path` (e.g. `stages.train.params`).
    public static func decode(_ given: [String: JSONValue], path: String, stageType: String? = nil, context: ParameterDecodingContext)
        -> (value: Self, problems: [SpecError.Problem]) {
        var value = Self()
        var problems: [SpecError.Problem] = []
        let names = fields.map(\.name)
        for key in given.keys.sorted() where !names.contains(key) {
            problems.append(.init(path: "\(path).\(key)", message: "unknown parameter" + (stageType.map { " of stage type `\($0)`" } ?? "") + Suggestions.didYouMean(key, in: names)
                + (names.isEmpty ? " (this stage takes none)" : " (it takes: \(names.joined(separator: ", ")))")))
        }
        for field in fields {
            let json: JSONValue
            if let v = given[field.name] {
                json = v
            } else if field.required {
                problems.append(.init(path: "\(path).\(field.name)", message: "missing; expected \(field.type.expectation) (\(field.help))"))
                continue
            } else {
                continue // the default, as the parameter value declares it
            }
            if let complaint = field.write(&value, json, context) {
                problems.append(.init(path: "\(path).\(field.name)", message: complaint))
            }
        }
        return (value, problems)
    }

    public init(from decoder: Decoder) throws {
        let json = try JSONValue(from: decoder)
        guard case .object(let members) = json else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "expected an object of parameters"))
        }
        let (value, problems) = Self.decode(members, path: "params",
                                            context: ParameterDecodingContext(baseDirectory: URL(fileURLWithPath: FileManager.default.currentDirectoryPath)))
        if let first = problems.first {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "\(first.path): \(first.message)"))
        }
        self = value
    }

    public func encode(to encoder: Encoder) throws {
        try JSONValue.object(jsonValues).encode(to: encoder)
    }
}
