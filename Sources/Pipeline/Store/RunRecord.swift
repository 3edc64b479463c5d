import Foundation

/// One output of a stage execution.
public struct OutputRecord: Codable, Equatable, Sendable {
    public var digest: String
    public var kind: String
    public var bytes: UInt64
}

/// An external file a stage read, by content.
public struct FileRecord: Codable, Equatable, Sendable {
    public var path: String
    public var digest: String
    public var bytes: UInt64
}

/// What ran: kept apart from the objects under `runs/<stage-key>.json` (like dvc.lock beside
/// the cache). Reports and `compare` read these; nothing here is needed to read an artifact.
public struct RunRecord: Codable, Sendable {
    public static let schema = 1
    public var schema: Int = RunRecord.schema
    public var key: String
    public var experiment: String
    public var stage: String
    public var type: String
    public var implementationVersion: Int
    public var parameters: [String: JSONValue]
    public var inputs: [String: String]
    public var files: [String: FileRecord]
    public var outputs: [String: OutputRecord]
    public var startedAt: Date
    public var seconds: Double
    public var toolVersion: String
    public var host: String
    public var summary: String
    public var metrics: [String: JSONValue]
}

/// The latest state of one stage of one experiment: what its key was made of when it last
/// ran or was reused. `status` compares the current intent against it to say *why* a stage is stale.
public struct StageRef: Codable, Sendable {
    public var schema: Int = 1
    public var key: String
    public var type: String
    public var implementationVersion: Int
    public var parameters: [String: JSONValue]
    public var inputs: [String: String]
    public var files: [String: FileRecord]
    public var outputs: [String: OutputRecord]
    public var updatedAt: Date
}
