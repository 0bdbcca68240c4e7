import Glibc
import Synchronization

/// Faults a mapped file's pages in on another thread, a window ahead of the reader, so the
/// reading (capture) thread finds its pages resident instead of taking a page fault every
/// 4 KiB (on a 2-core machine about a fifth of a file source's time went to faults).
///
/// It uses `madvise(MADV_POPULATE_READ)` (Linux 5.14+) in 2 MiB steps, staying at most 64 MiB
/// ahead of the position the reader publishes; on an older kernel it touches one byte per
/// page instead. Behind the reader it takes the page-table entries down again
/// (`MADV_DONTNEED`) before the oldest byte any port still references (`referencedFrom`,
/// which the engine reports after each batch), so that work is done on this thread while the
/// reader runs rather than by the final `munmap` on the reader's critical path (for a 1.4 GB
/// capture about 45 ms at the end of the run). Even a page taken down too early would do no
/// harm: the mapping is a read-only private file mapping, so it is faulted in again from the
/// page cache if read. `stop()` returns only once the thread no longer touches the mapping,
/// so the file can be unmapped right after.
final class PopulateAhead: @unchecked Sendable {
    private let base: UnsafeRawPointer
    private let size: Int
    /// How far the reader has read (bytes from the start); written by the reader.
    private let reader = Atomic<Int>(0)
    private let stopRequested = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)
    private let window = 64 << 20
    /// The oldest offset ports may still read (bytes from the start); written by the reader.
    private let referenced = Atomic<Int>(0)
    private let step = 2 << 20

    init(base: UnsafeRawPointer, size: Int) {
        self.base = base
        self.size = size
    }

    /// Starts the thread; when no thread can be created, reading just takes its own faults.
    func start() {
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let created = pthread_create(&thread, nil, { raw in
            let populator = Unmanaged<PopulateAhead>.fromOpaque(raw!).takeRetainedValue()
            populator.run()
            populator.finished.store(true, ordering: .releasing)
            return nil
        }, context)
        if created == 0 {
            pthread_detach(thread)
        } else {
            Unmanaged<PopulateAhead>.fromOpaque(context).release()
            finished.store(true, ordering: .releasing)
        }
    }

    /// The reader's progress; cheap enough to call once per batch.
    @inline(__always)
    func readerReached(_ offset: Int) {
        reader.store(offset, ordering: .relaxed)
    }

    /// The oldest offset any consumer may still read; cheap enough to call once per batch.
    @inline(__always)
    func referencedFrom(_ offset: Int) {
        referenced.store(offset, ordering: .relaxed)
    }

    /// Stops the thread and waits until it is out of the mapping.
    func stop() {
        stopRequested.store(true, ordering: .relaxed)
        while !finished.load(ordering: .acquiring) { usleep(100) }
    }

    private func run() {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        var populated = 0
        var released = 0
        var useMadvise = true
        while populated < size && !stopRequested.load(ordering: .relaxed) {
            let reached = reader.load(ordering: .relaxed)
            release(upTo: referenced.load(ordering: .relaxed), from: &released)
            let limit = min(size, reached &+ window)
            if populated >= limit {
                usleep(200)
                continue
            }
            let length = min(step, size - populated)
            let start = UnsafeMutableRawPointer(mutating: base + populated)
            // MADV_POPULATE_READ = 22.
            if !useMadvise || madvise(start, length, 22) != 0 {
                useMadvise = false
                var sum: UInt8 = 0
                var offset = 0
                while offset < length {
                    sum &+= start.load(fromByteOffset: offset, as: UInt8.self)
                    offset += page
                }
                withExtendedLifetime(sum) {}
            }
            populated += length
        }
        // Everything is populated: keep taking pages down behind the consumers until all
        // are down or the file is closed.
        while !stopRequested.load(ordering: .relaxed) && released &+ step <= size {
            release(upTo: referenced.load(ordering: .relaxed), from: &released)
            usleep(1000)
        }
    }

    /// Takes down the page-table entries of whole steps below `end` not yet released.
    private func release(upTo end: Int, from released: inout Int) {
        while released &+ step <= end {
            _ = madvise(UnsafeMutableRawPointer(mutating: base + released), step, MADV_DONTNEED)
            released += step
        }
    }
}
