import ArgumentParser
import Foundation
import Pipeline
import Stages

struct StagesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stages",
        abstract: "List the stage types an experiment may use, with their inputs, outputs and parameters."
    )

    @Argument(help: "Only this stage type.")
    var type: String?

    func run() throws {
        let types = Word2VecStages.all.filter { type == nil || $0.typeName == type }
        if types.isEmpty {
            throw CLIExit.fail(ValidationError("unknown stage type \"\(type!)\"" + Suggestions.didYouMean(type!, in: Word2VecStages.registry.names)))
        }
        for t in types {
            print("\(t.typeName) (implementation version \(t.implementationVersion))")
            print("  \(t.summary)")
            if !t.inputs.isEmpty { print("  inputs:  " + t.inputs.map { "\($0.name) (\($0.kind)\($0.optional ? ", optional" : ""))" }.joined(separator: ", ")) }
            print("  outputs: " + t.outputs.map { "\($0.name) (\($0.kind))" }.joined(separator: ", "))
            for p in t.parameters {
                let def = p.defaultValue.map { $0 == .null ? "optional" : "default \($0.displayText)" } ?? "required"
                print("    \(p.name): \(def) — \(p.help)")
            }
            print("")
        }
    }
}
