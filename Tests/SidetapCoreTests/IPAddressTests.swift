import SidetapCore
import Testing

@Suite("IPAddress parsing and printing")
struct IPAddressTests {
    @Test(arguments: ["0.0.0.0", "10.0.1.5", "255.255.255.255", "192.168.100.1"])
    func ipv4RoundTrip(text: String) {
        let address = IPAddress(text)
        #expect(address != nil)
        #expect(address?.isIPv4 == true)
        #expect(address?.description == text)
    }

    @Test func ipv4Value() {
        let address = IPAddress("10.99.1.2")!
        #expect(address.ipv4Value == 0x0A63_0102)
        #expect(address == IPAddress(ipv4: 0x0A63_0102))
        #expect(address.high == 0 && address.low == 0x0000_FFFF_0A63_0102)
    }

    @Test(arguments: [
        ("::", "::"),
        ("::1", "::1"),
        ("fd00::", "fd00::"),
        ("fd00:0:0:0:0:0:0:1", "fd00::1"),
        ("FD00:1::5", "fd00:1::5"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),       // the first of two equal runs
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),    // a single zero group stays
        ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
        ("fe80:0:0:1:0:0:0:0", "fe80:0:0:1::"),              // the longest run wins
        ("0:0:1::", "0:0:1::"),
    ])
    func ipv6CompressedForms(text: String, printed: String) {
        let address = IPAddress(text)
        #expect(address != nil, "\(text)")
        #expect(address?.description == printed, "\(text)")
        #expect(address.flatMap { IPAddress($0.description) } == address)
    }

    @Test func ipv6WithEmbeddedIPv4() {
        #expect(IPAddress("::ffff:10.0.1.5") == IPAddress("10.0.1.5"))
        #expect(IPAddress("64:ff9b::10.0.0.1")?.low == 0x0000_0000_0A00_0001)
    }

    @Test func ordering() {
        #expect(IPAddress("10.0.0.1")! < IPAddress("10.0.0.2")!)
        #expect(IPAddress("fd00::1")! > IPAddress("10.255.255.255")!)   // mapped IPv4 sorts low
    }

    @Test(arguments: [
        "", "1", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.-4", "01234.1.1.1", "1..2.3", " 1.2.3.4",
        "a.b.c.d", ":", ":::", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "g::1",
        "1:2:3:4:5:6:7::8", "::1.2.3", "::ffff:1.2.3.256", "fd00::/64", "fd00::1%eth0", "1.2.3.4:80",
    ])
    func invalidInputs(text: String) {
        #expect(IPAddress(text) == nil, "\(text)")
    }
}
