import ArgumentParser
import Foundation
import Pipeline

struct GCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Remove artifacts that no experiment refers to.",
        discussion: """
        An artifact is kept while any experiment's latest run of a stage points at it (refs/ in the store). Temporary files of dead processes are removed too.

        If a ref or run record cannot be read, gc removes nothing and exits with 1: the damaged ref may be all that keeps an experiment's artifacts alive. Rerun that experiment (its ref is rewritten; intact stages are reused), or delete the damaged file, or look at it and use --force.
        """
    )

    @Flag(name: .long, help: "List what would be removed without removing it.")
    var dryRun = false

    @Flag(name: .long, help: "Proceed even when refs or run records cannot be read, treating them as absent (artifacts only they refer to are removed). Look at the files first.")
    var force = false

    @OptionGroup var storeOptions: StoreOptions

    func run() throws {
        do {
            let store = try storeOptions.openStore()
            let garbage = store.garbage(treatingUnreadableAsAbsent: force)
            if !garbage.unreadable.isEmpty {
                guard force else { throw GCRefused(store: store.root.relativePathForDisplay, unreadable: garbage.unreadable, dryRun: dryRun) }
                CLIExit.printError("warning: --force: treating \(garbage.unreadable.count) unreadable \(garbage.unreadable.count == 1 ? "file" : "files") as absent (left in place):\n"
                                   + GCRefused.list(garbage.unreadable, store: store.root.relativePathForDisplay))
            }
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

/// gc found refs or run records it cannot read: it removes nothing rather than guess what is live.
struct GCRefused: Error, CustomStringConvertible {
    let store: String
    let unreadable: [ArtifactStore.UnreadableRecord]
    let dryRun: Bool

    static func list(_ unreadable: [ArtifactStore.UnreadableRecord], store: String) -> String {
        unreadable.map { "  \(store)/\($0.path): \($0.reason)" }.joined(separator: "\n")
    }

    var description: String {
        let refs = unreadable.filter(\.isRef)
        let n = unreadable.count
        var lines = ["gc \(dryRun ? "(dry run) " : "")refused: \(n) \(n == 1 ? "ref or run record" : "refs or run records") cannot be read; nothing was removed, since a damaged ref may be all that keeps an experiment's artifacts (a trained model) alive:"]
        lines.append(Self.list(unreadable, store: store))
        lines.append("To repair:")
        if !refs.isEmpty {
            let experiments = Set(refs.compactMap { $0.path.split(separator: "/").dropFirst().first.map(String.init) }).sorted()
            lines.append("  - rerun the experiment that owns each damaged ref (\(experiments.map { "`\($0)`" }.joined(separator: ", "))): `w2v-pipe run <its experiment file>` rewrites the ref and reuses the stages whose artifacts are intact;")
        }
        lines.append("  - or delete the damaged file (a run record only describes a run; a deleted ref makes its stage count as never run);")
        lines.append("  - or, after looking at the files, `w2v-pipe gc --force` treats them as absent: artifacts that only they refer to are removed.")
        return lines.joined(separator: "\n")
    }
}
