import Foundation
import Dispatch
import CTrainKernels

/// What this machine can do, measured in about a second: the ceiling the training kernels are
/// judged against (`w2v-pipe probe`; the benchmark prints its roofline next to words/s).
public struct MachineProbe: Codable, Sendable {
    /// The training kernels' instruction set here.
    public var kernelISA: String
    public var cores: Int
    /// Multiply-add throughput, Gflop/s (2 flops per lane), on one core and on all.
    public var gflopsOneCore: Double
    public var gflopsAllCores: Double
    /// Streaming read bandwidth from a 256 MB buffer (larger than any cache here), GB/s.
    public var readGBpsOneCore: Double
    public var readGBpsAllCores: Double
    /// One dependent load at a random place in 256 MB: a row that misses every cache, ns.
    public var memoryLatencyNs: Double
    /// A cache line passed to another core and back (what a Hogwild write to a row the other
    /// thread holds costs), ns; nil on one core. On a VM this moves with where the host puts the
    /// virtual CPUs (55–405 ns seen on one 2-vCPU VM within seconds).
    public var coreToCoreRoundTripNs: Double?
    /// Writing memory the process has just been given (the first touch of each page, in 2 MB
    /// pages where the kernel has them, as the training tables are made), and the same memory
    /// written again, GB/s. On a VM whose host takes freed memory back (free page reporting),
    /// the first touch also waits for the host to provide each page: 0.35–0.67 GB/s against
    /// 21–26 GB/s rewritten on the AMD VM of 2026-12-04 (~2 ms a MB) after a quiet spell, which new tables, replicas and the
    /// page cache of written artifacts all pay. Nil in a probe saved before it was measured.
    public var freshMemoryGBps: Double?
    public var rewrittenMemoryGBps: Double?
    /// The same first touch in 4 KB pages (as most of a process's other memory), GB/s: on a VM
    /// with free page reporting these often come from memory the guest still holds, where a
    /// 2 MB page comes from the host (1.4 GB/s against 0.2 GB/s seen on that AMD VM after a
    /// pause; right after another process freed its 2 MB pages, 0.29 against 9.0). Nil in a
    /// probe saved before it was measured.
    public var freshSmallPagesGBps: Double?

    /// Runs the probe; `scale` shortens it for tests (1 = the full probe, about a second).
    public static func measure(scale: Double = 1) -> MachineProbe {
        let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
        let isa = KernelISA.selected
        func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
        /// Runs `body(worker)` on `threads` threads started together; returns the wall seconds
        /// and the sum of what the bodies returned.
        func parallel(_ threads: Int, _ body: @escaping @Sendable (Int) -> Double) -> (Double, Double) {
            final class Box: @unchecked Sendable { var values: [Double]; init(_ n: Int) { values = Array(repeating: 0, count: n) } }
            let box = Box(threads)
            let ready = DispatchSemaphore(value: 0), go = DispatchSemaphore(value: 0), done = DispatchGroup()
            for w in 0..<threads {
                done.enter()
                let t = Thread {
                    ready.signal(); go.wait()
                    box.values[w] = body(w)
                    done.leave()
                }
                t.start()
            }
            for _ in 0..<threads { ready.wait() }
            let t0 = now()
            for _ in 0..<threads { go.signal() }
            done.wait()
            return (Double(now() - t0) / 1e9, box.values.reduce(0, +))
        }
        func best(_ n: Int, _ f: () -> Double) -> Double { (0..<n).map { _ in f() }.max() ?? 0 }

        let steps = Int64(max(1000, 20_000_000 * scale))
        let fma1 = best(3) { let (s, flops) = parallel(1) { _ in var k: Float = 0; return w2v_probe_fma(isa.code, steps, &k) }; return flops / s / 1e9 }
        let fmaAll = best(3) { let (s, flops) = parallel(cores) { _ in var k: Float = 0; return w2v_probe_fma(isa.code, steps, &k) }; return flops / s / 1e9 }

        let floats = max(1 << 16, Int(Double(64 << 20) * min(1, scale)))   // 256 MB at full scale
        // Fresh memory: mapped here, first written by the initialisation, then written again.
        let fresh = LargeBuffer(bytes: floats * 4, hugePages: true)
        let buffer = fresh?.typed(Float.self) ?? UnsafeMutablePointer<Float>.allocate(capacity: floats)
        let touch0 = now()
        buffer.initialize(repeating: 1, count: floats)
        let touch1 = now()
        buffer.update(repeating: 1, count: floats)
        let touch2 = now()
        let freshGBps = fresh == nil ? nil : Double(floats * 4) / Double(max(1, touch1 - touch0))
        let rewrittenGBps = Double(floats * 4) / Double(max(1, touch2 - touch1))
        // The first touch again in 4 KB pages, on a quarter as much memory.
        var smallGBps: Double? = nil
        if let small = LargeBuffer(bytes: floats, hugePages: false) {
            let t0 = now()
            small.typed(Float.self).initialize(repeating: 1, count: floats / 4)
            smallGBps = Double(floats) / Double(max(1, now() - t0))
        }
        defer { withExtendedLifetime(fresh) { if fresh == nil { buffer.deallocate() } } }
        let shared = UnsafePointer(buffer)
        nonisolated(unsafe) let base = shared
        func read(_ threads: Int) -> Double {
            let (s, bytes) = parallel(threads) { w in
                let part = floats / threads / 64 * 64
                var k: Float = 0
                return w2v_probe_read(base + w * part, Int64(part), &k)
            }
            return bytes / s / 1e9
        }
        let read1 = best(3) { read(1) }
        let readAll = best(3) { read(cores) }

        // One random cycle through all the buffer's cache lines (Sattolo's shuffle), then chase it.
        let lines = floats / 16
        let chain = UnsafeMutablePointer<UInt32>.allocate(capacity: floats)
        defer { chain.deallocate() }
        var order = Array(0..<lines)
        var rng = Word2VecRandom(seed: 12345, worker: 0)
        for i in stride(from: lines - 1, to: 0, by: -1) { order.swapAt(i, rng.uniform(below: i)) }
        for i in 0..<lines { chain[order[i] * 16] = UInt32(order[(i + 1) % lines] * 16) }
        let chaseSteps = Int64(max(10_000, 2_000_000 * scale))
        let t0 = now()
        _ = w2v_probe_chase(chain, chaseSteps)
        let latency = Double(now() - t0) / Double(chaseSteps)

        var c2c: Double? = nil
        if cores >= 2 {
            let flag = UnsafeMutablePointer<Int64>.allocate(capacity: 16)
            flag.initialize(repeating: 0, count: 16)
            defer { flag.deallocate() }
            nonisolated(unsafe) let f = flag
            let rounds = Int64(max(1000, 100_000 * scale))
            let (s, _) = parallel(2) { side in w2v_probe_pingpong(f, Int32(side), rounds); return 0 }
            c2c = s / Double(rounds) * 1e9
        }
        return MachineProbe(kernelISA: isa.rawValue, cores: cores, gflopsOneCore: fma1, gflopsAllCores: fmaAll,
                            readGBpsOneCore: read1, readGBpsAllCores: readAll, memoryLatencyNs: latency,
                            coreToCoreRoundTripNs: c2c, freshMemoryGBps: freshGBps, rewrittenMemoryGBps: rewrittenGBps,
                            freshSmallPagesGBps: smallGBps)
    }

    /// The probe as text, one measurement per line.
    public var report: String {
        var lines = [
            "kernels:            \(kernelISA) (set W2V_PIPE_KERNEL_ISA=generic to compare the portable build)",
            String(format: "multiply-add:       %.1f Gflop/s on one core, %.1f on all %d", gflopsOneCore, gflopsAllCores, cores),
            String(format: "memory read:        %.1f GB/s on one core, %.1f on all", readGBpsOneCore, readGBpsAllCores),
            String(format: "memory latency:     %.0f ns per dependent load (random place in 256 MB)", memoryLatencyNs),
        ]
        if let c2c = coreToCoreRoundTripNs {
            lines.append(String(format: "core to core:       %.0f ns per cache-line round trip", c2c))
        }
        if let freshMemoryGBps, let rewrittenMemoryGBps {
            lines.append(String(format: "fresh memory:       %.1f GB/s written the first time in 2 MB pages (%.1f ms a MB), %.1f GB/s written again",
                                freshMemoryGBps, 1e3 / (freshMemoryGBps * 1e3), rewrittenMemoryGBps))
        }
        if let freshSmallPagesGBps {
            lines.append(String(format: "fresh 4 KB pages:   %.1f GB/s written the first time (%.1f ms a MB)",
                                freshSmallPagesGBps, 1e3 / (freshSmallPagesGBps * 1e3)))
        }
        return lines.joined(separator: "\n")
    }
}
