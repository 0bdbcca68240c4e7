import CPcap
import SidetapCore

/// Which bits of a packet's leading bytes are the same in every packet of its flow, and how
/// many leading bytes every packet of the flow is sure to have captured.
///
/// The selector fills one for the first packet of a flow (from the flow key and the packet's
/// header layout, which the flow cache keys on) and asks `FilterProgram.flowInvariantResult`
/// whether a pcap expression's answer follows from those bits alone.
public struct InvariantBits {
    /// `masks[i]` has a bit set where bit of byte `i` is invariant; meaningful below `present`.
    public let masks: UnsafeMutableBufferPointer<UInt8>
    /// Every packet of the flow has at least this many bytes captured (≤ `masks.count`).
    public var present: Int

    /// Wraps `masks` (owned by the caller); `present` starts at 0 (nothing known).
    public init(masks: UnsafeMutableBufferPointer<UInt8>) {
        self.masks = masks
        self.present = 0
    }

    /// Forgets everything: no byte is known, none is sure to be present.
    @inlinable
    public mutating func reset() {
        for i in 0..<min(present, masks.count) { masks[i] = 0 }
        present = 0
    }

    /// Declares bytes `offset ..< offset + count` fully invariant (ignored beyond `masks`).
    @inlinable
    public mutating func know(_ offset: Int, _ count: Int) {
        for i in offset..<(offset + count) where i >= 0 && i < masks.count { masks[i] = 0xFF }
    }

    /// Declares the bits `mask` of byte `offset` invariant.
    @inlinable
    public mutating func know(bits mask: UInt8, at offset: Int) {
        if offset >= 0 && offset < masks.count { masks[offset] |= mask }
    }

    /// Raises the captured-bytes guarantee to `end` (clamped to `masks.count`).
    @inlinable
    public mutating func ensurePresent(_ end: Int) {
        present = max(present, min(end, masks.count))
    }
}

extension FilterProgram {
    /// The program's answer for `bytes` when it is the same for every packet of the flow that
    /// `invariant` describes; nil when some packet of the flow could be answered differently.
    ///
    /// It runs the BPF program on `bytes` exactly as libpcap's `bpf_filter` does, tracking for
    /// each register which bits are invariant ("known bits"): a load of bytes outside the
    /// sure-to-be-present prefix, a branch on a bit that is not invariant, or anything it
    /// cannot follow exactly gives nil. A program whose every decision rests on invariant bits
    /// answers the same for all of the flow's packets, so the answer can be cached per flow.
    public func flowInvariantResult(_ bytes: UnsafeRawBufferPointer, wireLength: UInt32, invariant: InvariantBits) -> Bool? {
        let count = Int(program.bf_len)
        guard count > 0, let instructions = program.bf_insns, let base = bytes.baseAddress else { return nil }
        let present = min(invariant.present, bytes.count)
        let masks = invariant.masks
        var a = KnownBits.zero, x = KnownBits.zero
        var memory = (KnownBits.unknown, KnownBits.unknown, KnownBits.unknown, KnownBits.unknown,
                      KnownBits.unknown, KnownBits.unknown, KnownBits.unknown, KnownBits.unknown,
                      KnownBits.unknown, KnownBits.unknown, KnownBits.unknown, KnownBits.unknown,
                      KnownBits.unknown, KnownBits.unknown, KnownBits.unknown, KnownBits.unknown)
        func load(_ offset: UInt32, _ size: Int) -> KnownBits? {
            guard offset < 0x8000_0000, Int(offset) + size <= present else { return nil }
            var value: UInt32 = 0, mask: UInt32 = 0
            for i in 0..<size {
                let at = Int(offset) + i
                value = value << 8 | UInt32(base.load(fromByteOffset: at, as: UInt8.self))
                mask = mask << 8 | UInt32(masks[at])
            }
            // A halfword or byte load zero-extends: the upper bits are known zeros.
            let extended: UInt32 = size == 4 ? 0 : ~((1 << UInt32(8 * size)) &- 1)
            return KnownBits(value: value, mask: mask | extended)
        }
        var pc = 0
        var steps = 0
        while pc < count, steps <= count {
            steps += 1
            let insn = instructions[pc]
            pc += 1
            let code = UInt32(insn.code)
            let k = insn.k
            switch code & 0x07 {
            case 0x00, 0x01: // LD, LDX
                let size: Int
                switch code & 0x18 { case 0x00: size = 4; case 0x08: size = 2; default: size = 1 }
                let loaded: KnownBits
                switch code & 0xE0 {
                case 0x00: loaded = KnownBits(value: k, mask: ~0)                 // IMM
                case 0x20: guard let v = load(k, size) else { return nil }; loaded = v   // ABS
                case 0x40:                                                          // IND
                    guard x.isFull else { return nil }
                    let (offset, overflow) = x.value.addingReportingOverflow(k)
                    guard !overflow, let v = load(offset, size) else { return nil }
                    loaded = v
                case 0x60: loaded = KnownBits.slot(&memory, Int(k))                 // MEM
                case 0x80: loaded = KnownBits(value: wireLength, mask: 0)           // LEN
                case 0xA0:                                                          // MSH
                    guard let b = load(k, 1) else { return nil }
                    loaded = KnownBits(value: (b.value & 0xF) << 2, mask: (b.mask & 0xF) << 2 | ~UInt32(0x3C))
                default: return nil
                }
                if code & 0x07 == 0x00 { a = loaded } else { x = loaded }
            case 0x02: KnownBits.store(&memory, Int(k), a)   // ST
            case 0x03: KnownBits.store(&memory, Int(k), x)   // STX
            case 0x04: // ALU
                let operand = code & 0x08 != 0 ? x : KnownBits(value: k, mask: ~0)
                guard let result = a.apply(code & 0xF0, operand) else { return nil }
                switch result {
                case .value(let v): a = v
                case .rejects: return false   // division by a known zero: bpf_filter returns 0
                }
            case 0x05: // JMP
                let op = code & 0xF0
                if op == 0x00 { pc += Int(k); continue }
                let operand = code & 0x08 != 0 ? x : KnownBits(value: k, mask: ~0)
                guard let taken = a.branch(op, operand) else { return nil }
                pc += Int(taken ? insn.jt : insn.jf)
            case 0x06: // RET
                let result: KnownBits
                switch code & 0x18 {
                case 0x00: result = KnownBits(value: k, mask: ~0)
                case 0x10: result = a
                default: return nil   // libpcap's bpf_filter has no other return source
                }
                if result.value & result.mask != 0 { return true }
                return result.isFull ? false : nil
            default: // MISC
                if code & 0xF8 == 0x80 { a = x } else if code & 0xF8 == 0x00 { x = a } else { return nil }
            }
        }
        return nil
    }
}

/// A 32-bit BPF register value with the mask of its invariant bits.
struct KnownBits {
    var value: UInt32
    var mask: UInt32

    static let zero = KnownBits(value: 0, mask: ~0)
    static let unknown = KnownBits(value: 0, mask: 0)

    var isFull: Bool { mask == ~0 }
    /// Smallest and largest values the register can take given its known bits.
    var minimum: UInt32 { value & mask }
    var maximum: UInt32 { value | ~mask }

    enum Outcome { case value(KnownBits), rejects }

    typealias Memory = (KnownBits, KnownBits, KnownBits, KnownBits, KnownBits, KnownBits, KnownBits, KnownBits,
                        KnownBits, KnownBits, KnownBits, KnownBits, KnownBits, KnownBits, KnownBits, KnownBits)

    static func slot(_ memory: inout Memory, _ index: Int) -> KnownBits {
        guard index >= 0 && index < 16 else { return .unknown }
        return withUnsafeBytes(of: &memory) { $0.load(fromByteOffset: index * MemoryLayout<KnownBits>.stride, as: KnownBits.self) }
    }

    static func store(_ memory: inout Memory, _ index: Int, _ value: KnownBits) {
        guard index >= 0 && index < 16 else { return }
        withUnsafeMutableBytes(of: &memory) { $0.storeBytes(of: value, toByteOffset: index * MemoryLayout<KnownBits>.stride, as: KnownBits.self) }
    }

    /// `self op operand` as bpf_filter computes it, with the bits that stay invariant.
    func apply(_ op: UInt32, _ b: KnownBits) -> Outcome? {
        let both = isFull && b.isFull
        switch op {
        case 0x00: return .value(both ? KnownBits(value: value &+ b.value, mask: ~0) : .unknown)    // ADD
        case 0x10: return .value(both ? KnownBits(value: value &- b.value, mask: ~0) : .unknown)    // SUB
        case 0x20: return .value(both ? KnownBits(value: value &* b.value, mask: ~0) : .unknown)    // MUL
        case 0x30, 0x90:                                                                              // DIV, MOD
            guard b.isFull else { return nil }
            if b.value == 0 { return .rejects }
            guard isFull else { return .value(.unknown) }
            return .value(KnownBits(value: op == 0x30 ? value / b.value : value % b.value, mask: ~0))
        case 0x40:                                                                                    // OR
            return .value(KnownBits(value: value | b.value,
                                    mask: (mask & b.mask) | (mask & value) | (b.mask & b.value)))
        case 0x50:                                                                                    // AND
            return .value(KnownBits(value: value & b.value,
                                    mask: (mask & b.mask) | (mask & ~value) | (b.mask & ~b.value)))
        case 0xA0: return .value(KnownBits(value: value ^ b.value, mask: mask & b.mask))             // XOR
        case 0x60, 0x70:                                                                              // LSH, RSH
            guard b.isFull else { return .value(.unknown) }
            let s = b.value
            if s >= 32 { return .value(.zero) }
            if op == 0x60 {
                return .value(KnownBits(value: value << s, mask: mask << s | ((1 << s) &- 1)))
            }
            return .value(KnownBits(value: value >> s, mask: mask >> s | ~(UInt32.max >> s)))
        case 0x80: return .value(isFull ? KnownBits(value: 0 &- value, mask: ~0) : .unknown)        // NEG
        default: return nil
        }
    }

    /// Whether a conditional jump is taken, when the known bits decide it.
    func branch(_ op: UInt32, _ b: KnownBits) -> Bool? {
        switch op {
        case 0x10: // JEQ
            if (value ^ b.value) & mask & b.mask != 0 { return false }
            return isFull && b.isFull ? true : nil
        case 0x20: // JGT
            guard b.isFull else { return nil }
            if minimum > b.value { return true }
            if maximum <= b.value { return false }
            return nil
        case 0x30: // JGE
            guard b.isFull else { return nil }
            if minimum >= b.value { return true }
            if maximum < b.value { return false }
            return nil
        case 0x40: // JSET
            guard b.isFull else { return nil }
            if value & mask & b.value != 0 { return true }
            return b.value & ~mask == 0 ? false : nil
        default: return nil
        }
    }
}
