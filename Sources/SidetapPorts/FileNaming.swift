/// Names of a file port's files.
///
/// Without rotation the file is exactly `path`. With rotation each file is
/// `<stem>-<UTC yyyyMMdd'T'HHmmss>-<6-digit sequence><ext>` in the directory of `path`, so
/// names sort by time. While a file is written it is `.<name>.part` in the same directory.
struct FileNaming: Sendable {
    /// The directory prefix of `path` ("" or ending in "/").
    let directory: String
    /// The final name's last component without its extension ("archive").
    let stem: String
    /// The extension with its dot (".pcapng"), or "".
    let fileExtension: String
    /// The last component of `path`.
    let baseName: String

    /// Length of `-yyyyMMddTHHmmss-NNNNNN`.
    static let rotationPartLength = 1 + 15 + 1 + 6
    static let largestSequence = 999_999

    init(path: String) {
        (directory, baseName) = FileSystem.split(path)
        if let dot = baseName.lastIndex(of: "."), dot != baseName.startIndex {
            stem = String(baseName[..<dot])
            fileExtension = String(baseName[dot...])
        } else {
            stem = baseName
            fileExtension = ""
        }
    }

    /// The last component of a rotated file's name.
    func rotatedName(stamp: String, sequence: Int) -> String {
        let number = String(sequence)
        let padded = String(repeating: "0", count: max(0, 6 - number.count)) + number
        return stem + "-" + stamp + "-" + padded + fileExtension
    }

    /// The sequence number of a directory entry that is one of this port's rotated files, or nil
    /// for any other name. The match is strict: stem, dash, 8 digits, "T", 6 digits, dash,
    /// 6 digits, extension — nothing more, nothing less.
    func sequence(ofRotatedName name: String) -> Int? {
        let bytes = Array(name.utf8)
        let stemBytes = Array(stem.utf8)
        let extBytes = Array(fileExtension.utf8)
        guard bytes.count == stemBytes.count + Self.rotationPartLength + extBytes.count,
              bytes.starts(with: stemBytes), bytes.suffix(extBytes.count).elementsEqual(extBytes)
        else { return nil }
        let middle = bytes[stemBytes.count..<(stemBytes.count + Self.rotationPartLength)]
        var sequence = 0
        for (offset, byte) in middle.enumerated() {
            switch offset {
            case 0, 16: guard byte == UInt8(ascii: "-") else { return nil }
            case 9: guard byte == UInt8(ascii: "T") else { return nil }
            default:
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                if offset > 16 { sequence = sequence * 10 + Int(byte - UInt8(ascii: "0")) }
            }
        }
        return sequence
    }

    /// Path of a final file, given its last component.
    func finalPath(_ name: String) -> String { directory + name }

    /// Path of the hidden file a final file is written under.
    func temporaryPath(_ name: String) -> String { directory + "." + name + ".part" }
}
