import Crypto
import Foundation

/// SHA-256 of a string's UTF-8 bytes, as lowercase hex.
public func sha256Hex(_ text: String) -> String {
    SHA256.hash(data: Data(text.utf8)).hexString
}

/// A running SHA-256 over bytes fed in pieces (e.g. a file checked as it is read), as the
/// lowercase hex that `ArtifactStore.fileDigest` gives for the same bytes.
public struct StreamingSHA256 {
    private var hasher = SHA256()
    public init() {}
    public mutating func update(_ bytes: UnsafeRawBufferPointer) { hasher.update(bufferPointer: bytes) }
    public func finalize() -> String { hasher.finalize().hexString }
}
