import Foundation
import Stages

// Usage: nearest VECTORS WORD [K]
let args = CommandLine.arguments
guard args.count >= 3 else {
    FileHandle.standardError.write(Data("usage: nearest VECTORS WORD [K]\n".utf8))
    exit(2)
}
do {
    let vectors = try Word2VecFormat.read(args[1])
    let k = args.count > 3 ? Int(args[3]) ?? 10 : 10
    print("\(vectors.count) words × \(vectors.dimension) dims; nearest to \(args[2]):")
    for n in try vectors.nearest(to: args[2], k: k) {
        print(String(format: "  %-16@ %.3f", n.word as NSString, Double(n.score)))
    }
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}
