import Foundation

/// Where tests find things outside the package: the repository root and tcpdump's capture
/// corpus (`../shared/corpus/tcpdump-tests` beside the repository, as CI lays it out).
public enum TestPaths {
    /// The repository root, from this file's place in it.
    public static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }   // Sources/SidetapTestKit/<file>
        return url.path
    }()

    /// The corpus directory: `$SIDETAP_CORPUS`, else `shared/corpus/tcpdump-tests` beside the
    /// repository root or beside any directory above it (a git worktree sits deeper), else nil.
    public static let corpusDirectory: String? = {
        if let path = ProcessInfo.processInfo.environment["SIDETAP_CORPUS"] { return path }
        var parent = URL(fileURLWithPath: repositoryRoot).deletingLastPathComponent()
        while parent.path != "/" {
            let candidate = parent.appendingPathComponent("shared/corpus/tcpdump-tests").path
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory), isDirectory.boolValue {
                return candidate
            }
            parent.deleteLastPathComponent()
        }
        return nil
    }()

    /// The corpus directory, or an error saying where it was looked for (tests fail, not skip).
    public static func requireCorpus() throws -> String {
        guard let corpusDirectory else { throw MissingCorpus(repositoryRoot: repositoryRoot) }
        return corpusDirectory
    }

    /// Every capture file of the corpus, sorted by name.
    public static func corpusFiles() throws -> [String] {
        let directory = try requireCorpus()
        return try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { !$0.hasPrefix(".") && ($0.hasSuffix(".pcap") || $0.hasSuffix(".pcapng") || $0.hasSuffix(".cap")) }
            .sorted()
            .map { directory + "/" + $0 }
    }

    /// The corpus is not where CI puts it.
    public struct MissingCorpus: Error, CustomStringConvertible {
        public var repositoryRoot: String
        public var description: String {
            "capture corpus not found: expected ../shared/corpus/tcpdump-tests beside \(repositoryRoot) (or set SIDETAP_CORPUS)"
        }
    }
}
