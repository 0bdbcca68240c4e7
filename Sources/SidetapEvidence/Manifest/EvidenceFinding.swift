/// One thing `EvidenceVerifier` found wrong in a capture directory: what kind, where (the
/// manifest and its 1-based line, the file), and what differs.
public struct EvidenceFinding: Sendable, Hashable, CustomStringConvertible {
    /// What the finding means.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// The manifest's hash chain is broken (edited, removed, inserted, reordered, torn or
        /// truncated records; the detail is the `ChainProblem`), or a manifest is absent.
        case manifest
        /// A manifest record that links correctly but is not a valid entry, or contradicts an
        /// earlier one (a name listed twice without a removal between).
        case entry
        /// A listed file whose bytes differ from its entry (size and/or SHA-256).
        case changed
        /// A listed file that is gone although no entry records its removal.
        case missing
        /// A file in the directory that no manifest lists (or lists as removed).
        case added
        /// A listed file that holds the bytes another entry lists: names swapped or shifted.
        case reordered
    }

    public var kind: Kind
    /// The manifest concerned (its file name), if any.
    public var manifest: String?
    /// The manifest line concerned (1-based), if any.
    public var line: Int?
    /// The capture file concerned, if any.
    public var file: String?
    /// What differs, expected against actual.
    public var detail: String

    public init(kind: Kind, manifest: String? = nil, line: Int? = nil, file: String? = nil, detail: String) {
        self.kind = kind
        self.manifest = manifest
        self.line = line
        self.file = file
        self.detail = detail
    }

    /// `archive.manifest:5: changed: archive-…pcap: sha256 expected …, actual …`
    public var description: String {
        var place = manifest ?? ""
        if let line { place += ":\(line)" }
        var text = place.isEmpty ? "" : place + ": "
        text += kind.rawValue + ": "
        if let file { text += file + ": " }
        return text + detail
    }
}

/// The result of verifying a capture directory.
public struct EvidenceReport: Sendable, Hashable {
    /// One manifest's name (in the directory) and the verification of its hash chain.
    public struct ManifestCheck: Sendable, Hashable {
        public var name: String
        public var chain: ChainVerification
    }

    /// Every manifest found, by name.
    public var manifests: [ManifestCheck] = []
    /// Every problem found, manifests' chains first, then files in manifest order, then
    /// unlisted files by name.
    public var findings: [EvidenceFinding] = []
    /// Files listed and found intact.
    public var verifiedFiles: Int = 0
    /// Files whose removal the manifests record.
    public var removedFiles: Int = 0
    /// Hidden `.NAME.part` files a port is still writing (not findings).
    public var inProgress: [String] = []

    /// True when nothing was found.
    public var isClean: Bool { findings.isEmpty }
}
