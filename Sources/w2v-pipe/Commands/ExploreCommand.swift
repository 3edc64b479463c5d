import ArgumentParser
import Foundation
import Pipeline
import Stages

struct ExploreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explore",
        abstract: "Load vectors once, then answer queries typed one per line.",
        discussion: """
        Type one word for its nearest neighbours, three words A B C for the analogy B − A + C (`man king woman`), `sim W1 W2` for a cosine similarity, `:q` (or end of input) to leave.

        Example:
          w2v-pipe explore -e experiments/quickstart.json
        """
    )
    @Option(name: .short, help: "How many answers.") var k = 10
    @OptionGroup var source: VectorSource

    func run() throws {
        do {
            let (raw, description, _) = try source.load()
            let vectors = raw.normalized()
            let interactive = isatty(STDIN_FILENO) != 0
            print("\(description): \(Format.grouped(vectors.count)) words × \(vectors.dimension); a word, `A B C`, `sim W1 W2`, or :q")
            while true {
                if interactive { print("> ", terminator: ""); fflush(nil) }
                guard let line = readLine() else { break }
                let words = line.split(whereSeparator: \.isWhitespace).map { String($0).lowercased() }
                if words.isEmpty { continue }
                if words == [":q"] || words == ["quit"] || words == ["exit"] { break }
                if words[0] == "sim", words.count == 3 {
                    if let s = vectors.similarity(words[1], words[2]) { print(String(format: "  cos(%@, %@) = %.4f", words[1], words[2], s)) }
                    else { for w in words.dropFirst() where vectors.index[w] == nil { print("  " + unknown(w, in: vectors)) } }
                    continue
                }
                let missing = words.filter { vectors.index[$0] == nil }
                if !missing.isEmpty { for w in missing { print("  " + unknown(w, in: vectors)) }; continue }
                switch words.count {
                case 1: printNeighbours(try vectors.nearest(to: words[0], k: k))
                case 3:
                    print("  \(words[1]) − \(words[0]) + \(words[2]):")
                    printNeighbours(try vectors.analogy(words[0], words[1], words[2], k: k))
                default: print("  one word, three words (A B C), or `sim W1 W2`")
                }
                fflush(nil)
            }
        } catch { throw CLIExit.fail(error) }
    }
}
