import SidetapCore

/// Header layouts of the three tunnel encapsulations, written into a caller's buffer.
///
/// All fields are big-endian (network order). Each function returns the number of bytes it
/// wrote; the inner Ethernet frame follows the returned length unchanged.
public enum TunnelFraming {
    /// The IANA VXLAN port (RFC 7348).
    public static let vxlanPort: UInt16 = 4789
    /// GRE protocol type of an inner Ethernet frame (transparent Ethernet bridging).
    public static let transparentEthernetBridging: UInt16 = 0x6558
    /// GRE protocol type of ERSPAN type II.
    public static let erspanTypeII: UInt16 = 0x88BE

    /// Bytes `vxlan` writes: an 8-byte UDP header and the 8-byte VXLAN header.
    public static let vxlanHeaderLength = 16

    /// UDP header (checksum 0: optional over IPv4, computed by the kernel over IPv6) then the
    /// VXLAN header with the I flag and `vni` (24 bits), for a frame of `frameLength` bytes.
    public static func vxlan(
        into header: UnsafeMutableRawPointer, sourcePort: UInt16, destinationPort: UInt16, vni: UInt32, frameLength: Int
    ) -> Int {
        let udpLength = UInt16(truncatingIfNeeded: 8 + 8 + frameLength)
        store16(header, 0, sourcePort)
        store16(header, 2, destinationPort)
        store16(header, 4, udpLength)
        store16(header, 6, 0)
        store32(header, 8, 0x0800_0000)                  // flags: I (valid VNI); reserved
        store32(header, 12, (vni & 0xFF_FFFF) << 8)       // VNI, reserved
        return vxlanHeaderLength
    }

    /// A GRE header (RFC 2784, with the RFC 2890 key and sequence-number extensions) for
    /// `protocolType`: 4 bytes, plus 4 with a key, plus 4 with a sequence number.
    public static func gre(
        into header: UnsafeMutableRawPointer, protocolType: UInt16, key: UInt32?, sequence: UInt32?
    ) -> Int {
        var flags: UInt16 = 0
        if key != nil { flags |= 0x2000 }               // K
        if sequence != nil { flags |= 0x1000 }          // S
        store16(header, 0, flags)                       // C=0, version 0
        store16(header, 2, protocolType)
        var length = 4
        if let key {
            store32(header, length, key)
            length += 4
        }
        if let sequence {
            store32(header, length, sequence)
            length += 4
        }
        return length
    }

    /// Bytes `erspanII` writes: GRE with a sequence number (8) and the ERSPAN II header (8).
    public static let erspanHeaderLength = 16

    /// GRE (S bit, protocol 0x88BE, `sequence`) followed by the ERSPAN type II header:
    /// version 1, the frame's VLAN and CoS (from its 802.1Q tag, if any), En (3 when the tag
    /// is kept in the frame, 0 when the frame is untagged), T (set when the frame was sliced),
    /// `session` (10 bits) and `index` (20 bits).
    public static func erspanII(
        into header: UnsafeMutableRawPointer, sequence: UInt32, session: UInt16, index: UInt32,
        frame: UnsafeRawBufferPointer, truncated: Bool
    ) -> Int {
        _ = gre(into: header, protocolType: erspanTypeII, key: nil, sequence: sequence)
        var vlan: UInt16 = 0
        var cos: UInt16 = 0
        var encapsulation: UInt16 = 0
        if frame.count >= 16 {
            let etherType = UInt16(frame[12]) << 8 | UInt16(frame[13])
            if etherType == 0x8100 || etherType == 0x88A8 {
                let tci = UInt16(frame[14]) << 8 | UInt16(frame[15])
                vlan = tci & 0x0FFF
                cos = tci >> 13
                encapsulation = 3
            }
        }
        store16(header, 8, 0x1000 | vlan)                               // Ver 1, VLAN
        store16(header, 10, cos << 13 | encapsulation << 11 | (truncated ? 0x0400 : 0) | (session & 0x03FF))
        store32(header, 12, index & 0x000F_FFFF)                        // reserved, index
        return erspanHeaderLength
    }

    static func store16(_ base: UnsafeMutableRawPointer, _ offset: Int, _ value: UInt16) {
        base.storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt16.self)
    }

    static func store32(_ base: UnsafeMutableRawPointer, _ offset: Int, _ value: UInt32) {
        base.storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt32.self)
    }
}
