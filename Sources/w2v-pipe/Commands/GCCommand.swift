import ArgumentParser
import Foundation
import Pipeline

struct GCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Remove artifacts that no experiment refers to.",
        discussion: "An artifact is kept while any experiment's latest run of a stage points at it (refs/ in the store). Temporary files of dead processes are removed too."
    )

    @Flag(name: .long, help: "List what would be removed without removing it.")
    var dryRun = false

    @OptionGroup var storeOptions: StoreOptions

    func run() throws {
        do {
            let store = try storeOptions.openStore()
            let garbage = store.garbage()
            for (digest, bytes) in garbage.objects {
                print("  \(dryRun ? "would remove" : "removing") \(digest.prefix(12))…  \(Format.bytes(bytes))")
            }
            if !dryRun { store.collect(garbage) }
            print("\(dryRun ? "would remove" : "removed") \(garbage.objects.count) objects (\(Format.bytes(garbage.bytes))), \(garbage.runRecords.count) run records, \(garbage.temporaryFiles.count) temporary files")
        } catch {
            throw CLIExit.fail(error)
        }
    }
}
