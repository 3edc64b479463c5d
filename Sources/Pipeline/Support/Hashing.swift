import Crypto
import Foundation

/// SHA-256 of a string's UTF-8 bytes, as lowercase hex.
public func sha256Hex(_ text: String) -> String {
    SHA256.hash(data: Data(text.utf8)).hexString
}
