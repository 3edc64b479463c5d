import Foundation

/// An open-addressing hash table from byte strings to dense ids (first seen = 0, 1, …),
/// with counts. Words are copied into one arena. Raw pointers throughout: this sits in the
/// tokenizer's inner loop, where Swift arrays inside a class would pay exclusivity checks.
final class WordTable {
    private static let empty = UInt64.max
    @inline(__always) private static func slotValue(_ e: Int, _ h: UInt64) -> UInt64 { (h & 0xFFFF_FFFF_0000_0000) | UInt64(e) }
    @exclusivity(unchecked) private(set) var count = 0
    @exclusivity(unchecked) private var capacity: Int          // slots, a power of two
    /// Per slot: the entry in the low 32 bits and the high 32 bits of its word's hash above
    /// them (so a probe rejects other words without touching the entry arrays); `empty` if free.
    @exclusivity(unchecked) private var slots: UnsafeMutablePointer<UInt64>
    @exclusivity(unchecked) private var hashes: UnsafeMutablePointer<UInt64>
    @exclusivity(unchecked) private(set) var offsets: UnsafeMutablePointer<Int>
    @exclusivity(unchecked) private(set) var lengths: UnsafeMutablePointer<Int32>
    @exclusivity(unchecked) private(set) var counts: UnsafeMutablePointer<UInt64>
    @exclusivity(unchecked) private var entryCapacity: Int
    @exclusivity(unchecked) private(set) var arena: UnsafeMutablePointer<UInt8>
    @exclusivity(unchecked) private var arenaUsed = 0
    @exclusivity(unchecked) private var arenaCapacity: Int

    init(expectedWords: Int = 1 << 16) {
        capacity = 1
        while capacity < expectedWords * 2 { capacity <<= 1 }
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: Self.empty, count: capacity)
        entryCapacity = max(16, expectedWords)
        hashes = .allocate(capacity: entryCapacity)
        offsets = .allocate(capacity: entryCapacity)
        lengths = .allocate(capacity: entryCapacity)
        counts = .allocate(capacity: entryCapacity)
        arenaCapacity = entryCapacity * 8
        arena = .allocate(capacity: arenaCapacity)
    }

    deinit {
        slots.deallocate(); hashes.deallocate(); offsets.deallocate()
        lengths.deallocate(); counts.deallocate(); arena.deallocate()
    }

    /// A word's hash, eight bytes at a time (a byte-at-a-time hash was a chain of one multiply
    /// per byte in the tokenizer's inner loop). Reads exactly the `n` bytes at `p`.
    @inline(__always)
    static func hash(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(truncatingIfNeeded: n)
        let raw = UnsafeRawPointer(p)
        var i = 0
        while i &+ 8 <= n {
            h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 32
            i &+= 8
        }
        if i < n {
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while i < n {
                tail |= UInt64(p[i]) &<< shift
                shift &+= 8
                i &+= 1
            }
            h = (h ^ tail) &* 0xC4CE_B9FE_1A85_EC53
        }
        h ^= h >> 33
        h = h &* 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 33
        return h
    }

    /// Whether the `n` bytes at `a` and `b` are equal: inline, eight bytes at a time (words are
    /// short, and a call to memcmp cost more than the comparison in the tokenizer's profile).
    @inline(__always)
    static func same(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        var i = 0
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        while i &+ 8 <= n {
            if ra.loadUnaligned(fromByteOffset: i, as: UInt64.self) != rb.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
            i &+= 8
        }
        while i < n {
            if a[i] != b[i] { return false }
            i &+= 1
        }
        return true
    }

    /// The id of the word, inserted with count 0 if new; adds `increment` to its count.
    @inline(__always)
    func id(of p: UnsafePointer<UInt8>, length n: Int, hash h: UInt64, increment: UInt64 = 1) -> UInt32 {
        let mask = capacity - 1
        var slot = Int(truncatingIfNeeded: h ^ (h >> 29)) & mask
        let tag = h & 0xFFFF_FFFF_0000_0000
        while true {
            let v = slots[slot]
            if v == Self.empty { break }
            let e = Int(truncatingIfNeeded: v & 0xFFFF_FFFF)
            if v & 0xFFFF_FFFF_0000_0000 == tag && Int(lengths[e]) == n && Self.same(arena + offsets[e], p, n) {
                counts[e] &+= increment
                return UInt32(e)
            }
            slot = (slot + 1) & mask
        }
        return insert(p, n, h, slot, increment)
    }

    /// The entry of the word, or -1 when it is not in the table. Reads only: several threads
    /// may call it at once while nothing writes the table.
    @inline(__always)
    func find(_ p: UnsafePointer<UInt8>, length n: Int, hash h: UInt64) -> Int {
        let mask = capacity - 1
        var slot = Int(truncatingIfNeeded: h ^ (h >> 29)) & mask
        let tag = h & 0xFFFF_FFFF_0000_0000
        while true {
            let v = slots[slot]
            if v == Self.empty { return -1 }
            let e = Int(truncatingIfNeeded: v & 0xFFFF_FFFF)
            if v & 0xFFFF_FFFF_0000_0000 == tag && Int(lengths[e]) == n && Self.same(arena + offsets[e], p, n) { return e }
            slot = (slot + 1) & mask
        }
    }

    private func insert(_ p: UnsafePointer<UInt8>, _ n: Int, _ h: UInt64, _ slot: Int, _ increment: UInt64) -> UInt32 {
        if count == entryCapacity { growEntries() }
        if arenaUsed + n > arenaCapacity { growArena(arenaUsed + n) }
        let e = count
        (arena + arenaUsed).update(from: p, count: n)
        offsets[e] = arenaUsed
        lengths[e] = Int32(n)
        hashes[e] = h
        counts[e] = increment
        arenaUsed += n
        count += 1
        slots[slot] = Self.slotValue(e, h)
        if count * 2 > capacity { rehash() }
        return UInt32(e)
    }

    private func growEntries() {
        let newCap = entryCapacity * 2
        func grow<T>(_ p: inout UnsafeMutablePointer<T>) {
            let q = UnsafeMutablePointer<T>.allocate(capacity: newCap)
            q.moveInitialize(from: p, count: count)
            p.deallocate()
            p = q
        }
        grow(&hashes); grow(&offsets); grow(&lengths); grow(&counts)
        entryCapacity = newCap
    }

    private func growArena(_ needed: Int) {
        var newCap = arenaCapacity * 2
        while newCap < needed { newCap *= 2 }
        let q = UnsafeMutablePointer<UInt8>.allocate(capacity: newCap)
        q.update(from: arena, count: arenaUsed)
        arena.deallocate()
        arena = q
        arenaCapacity = newCap
    }

    private func rehash() {
        let newCap = capacity * 2
        slots.deallocate()
        slots = .allocate(capacity: newCap)
        slots.initialize(repeating: Self.empty, count: newCap)
        capacity = newCap
        let mask = newCap - 1
        for e in 0..<count {
            let h = hashes[e]
            var slot = Int(truncatingIfNeeded: h ^ (h >> 29)) & mask
            while slots[slot] != Self.empty { slot = (slot + 1) & mask }
            slots[slot] = Self.slotValue(e, h)
        }
    }

    /// Empties the table, keeping its memory for the next use.
    func removeAll() {
        slots.update(repeating: Self.empty, count: capacity)
        count = 0
        arenaUsed = 0
    }

    func word(_ e: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: arena + offsets[e], count: Int(lengths[e]))
    }

    func string(_ e: Int) -> String { String(decoding: word(e), as: UTF8.self) }
}
