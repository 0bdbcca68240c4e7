/// What a key pressed in `sidetap top` asks for.
public enum TopAction: Sendable, Equatable {
    case quit
    case togglePause
    case nextSort
    case redraw
}

/// Turns bytes read from the terminal in raw mode into actions: `q`/`Q` and Ctrl-C (byte 3, as
/// raw mode delivers it) quit, `p` pauses, `s` changes the order, Ctrl-L redraws. Escape
/// sequences (arrow and function keys) are skipped whole.
public enum TopKeys {
    public static func actions(in bytes: [UInt8]) -> [TopAction] {
        var out: [TopAction] = []
        var i = 0
        while i < bytes.count {
            let byte = bytes[i]
            i += 1
            switch byte {
            case UInt8(ascii: "q"), UInt8(ascii: "Q"), 0x03: out.append(.quit)
            case UInt8(ascii: "p"), UInt8(ascii: "P"), UInt8(ascii: " "): out.append(.togglePause)
            case UInt8(ascii: "s"), UInt8(ascii: "S"): out.append(.nextSort)
            case 0x0C: out.append(.redraw)
            case 0x1B:
                // ESC [ or ESC O, parameters, then one final byte in 0x40...0x7E.
                guard i < bytes.count, bytes[i] == UInt8(ascii: "[") || bytes[i] == UInt8(ascii: "O") else { continue }
                i += 1
                while i < bytes.count, !(0x40...0x7E).contains(bytes[i]) { i += 1 }
                i += 1
            default: continue
            }
        }
        return out
    }
}
