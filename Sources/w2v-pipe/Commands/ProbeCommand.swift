import ArgumentParser
import Foundation
import Stages

/// `w2v-pipe probe`: the machine's ceilings, for judging training speed against them.
struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Measure this machine's multiply-add rate, memory bandwidth and latencies (about a second).",
        discussion: """
        Training is bounded by arithmetic (about 6 × dim × (negatives + 1) flops per skip-gram pair) and by \
        moving rows between memory, caches and cores. The probe measures each ceiling so a words/s figure \
        can be read against them; bench/run.py prints its roofline next to each tool's speed. On a shared or \
        virtual machine the figures move between runs (the core-to-core round trip most of all): probe again \
        beside the runs you compare. "fresh memory" is the first write to memory the process has just been \
        given against writing it again, in 2 MB pages (as the tables and the second thread's replica are \
        made) and in 4 KB pages: where the host takes freed memory back (a VM with free page reporting) \
        the first touch can be tens of times slower, most of all in 2 MB pages, and every new table, \
        replica and written artifact pays it.

        Examples:
          w2v-pipe probe
          w2v-pipe probe --json > machine.json
        """)

    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false

    func run() throws {
        let probe = MachineProbe.measure()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            print(String(decoding: try encoder.encode(probe), as: UTF8.self))
        } else {
            print(probe.report)
        }
    }
}
