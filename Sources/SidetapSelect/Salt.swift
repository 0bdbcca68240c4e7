/// Stable 64-bit salts for sampling and balancing (FNV-1a over the UTF-8 bytes), so a
/// decision for a flow is the same on every run and every source thread.
enum Salt {
    static func of(_ parts: String...) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for part in parts {
            for byte in part.utf8 {
                h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
            }
            h = (h ^ 0xFF) &* 0x0000_0100_0000_01B3   // separator
        }
        return h
    }
}
