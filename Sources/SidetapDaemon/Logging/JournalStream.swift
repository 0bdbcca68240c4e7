#if canImport(Glibc)
import Glibc
#endif

/// Whether a file descriptor is connected to the systemd journal: systemd sets
/// `JOURNAL_STREAM=DEVICE:INODE` for a service whose output goes to the journal, and the
/// descriptor is that stream when its `fstat` device and inode match (a child whose stderr
/// was redirected elsewhere inherits the variable but not the stream).
public enum JournalStream {
    /// The device and inode named by a `JOURNAL_STREAM` value, or nil when it is malformed.
    public static func parse(_ value: String) -> (device: UInt64, inode: UInt64)? {
        let parts = value.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return nil }
        return (device, inode)
    }

    /// True when `descriptor` is the stream `journalStream` (the `JOURNAL_STREAM` value) names.
    public static func isJournal(descriptor: Int32, journalStream: String?) -> Bool {
        guard let journalStream, let expected = parse(journalStream) else { return false }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return false }
        return UInt64(status.st_dev) == expected.device && UInt64(status.st_ino) == expected.inode
    }

    /// True when standard error goes to the journal.
    public static var standardErrorIsJournal: Bool {
        isJournal(descriptor: 2, journalStream: getenv("JOURNAL_STREAM").map { String(cString: $0) })
    }
}
