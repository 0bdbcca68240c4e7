#if canImport(Glibc)
import Glibc
#endif
import SidetapCore

/// Which accepted packets are still buffered for which reader, so that a packet counts as
/// lost exactly when every reader that buffered it discarded it unsent.
///
/// Each packet at least one reader took gets a slot holding its number of holders and
/// whether any reader delivered it. A reader remembers, per buffered packet, the slot and
/// the stream offset where the record ends. All storage is allocated up front: a reader
/// buffer of B bytes holds at most B/16 records (a pcap record is at least 16 bytes), so
/// `readers × (B/16 + 1)` slots always suffice.
final class PacketLedger {
    private var holders: [UInt16]
    private var delivered: [Bool]
    private var free: [Int32]
    private var freeCount: Int

    init(slots: Int) {
        holders = [UInt16](repeating: 0, count: slots)
        delivered = [Bool](repeating: false, count: slots)
        free = (0..<Int32(slots)).reversed().map { $0 }
        freeCount = slots
    }

    /// A fresh slot for a packet (nil cannot happen within the sizing rule above).
    func take() -> Int32? {
        guard freeCount > 0 else { return nil }
        freeCount -= 1
        let slot = free[freeCount]
        holders[Int(slot)] = 0
        delivered[Int(slot)] = false
        return slot
    }

    func addHolder(_ slot: Int32) { holders[Int(slot)] += 1 }

    /// Gives back a slot no reader took.
    func release(_ slot: Int32) {
        free[freeCount] = slot
        freeCount += 1
    }

    /// One holder wrote the whole record to its socket.
    func delivered(_ slot: Int32) {
        delivered[Int(slot)] = true
        drop(slot)
    }

    /// One holder threw the record away unsent; true when that made the packet lost.
    func discarded(_ slot: Int32) -> Bool {
        let lost = holders[Int(slot)] == 1 && !delivered[Int(slot)]
        drop(slot)
        return lost
    }

    private func drop(_ slot: Int32) {
        holders[Int(slot)] -= 1
        if holders[Int(slot)] == 0 { release(slot) }
    }
}

/// One connected reader of a `SocketStreamPort`: its socket, its own send buffer and the
/// packets buffered in it (ledger slot and the stream offset where each record ends).
final class SocketReader {
    let writer: BufferedWriter
    private var slots: [Int32]
    private var ends: [Int64]
    private var head = 0
    private(set) var pendingPackets = 0
    /// Packets skipped because this reader's buffer was full.
    var skipped: UInt64 = 0

    init(descriptor: Int32, bufferBytes: Int) {
        writer = BufferedWriter(capacity: bufferBytes)
        writer.attach(descriptor)
        let records = bufferBytes / 16 + 1
        slots = [Int32](repeating: -1, count: records)
        ends = [Int64](repeating: 0, count: records)
    }

    var descriptor: Int32 { writer.fileDescriptor }

    /// The stream offset one past everything buffered so far.
    var bufferedEnd: Int64 { writer.bytesWritten + Int64(writer.pendingCount) }

    /// Remembers a record just committed to the buffer.
    func remember(slot: Int32) {
        let index = (head + pendingPackets) % slots.count
        slots[index] = slot
        ends[index] = bufferedEnd
        pendingPackets += 1
    }

    /// Tells the ledger about every record the socket has now taken whole.
    func retireDelivered(_ ledger: PacketLedger) {
        while pendingPackets > 0, ends[head] <= writer.bytesWritten {
            ledger.delivered(slots[head])
            head = (head + 1) % slots.count
            pendingPackets -= 1
        }
    }

    /// Throws away the buffered records; returns how many of them became lost.
    func discardPending(_ ledger: PacketLedger) -> Int {
        retireDelivered(ledger)
        var lost = 0
        while pendingPackets > 0 {
            if ledger.discarded(slots[head]) { lost += 1 }
            head = (head + 1) % slots.count
            pendingPackets -= 1
        }
        writer.discardPending()
        return lost
    }
}
