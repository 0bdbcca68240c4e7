import SidetapLibvirt
import Testing

@Suite("Domain XML: interfaces and their host devices")
struct DomainXMLTests {
    /// Shaped like `virsh dumpxml` of a running KVM guest: a disk with its own <target>, three
    /// NICs (one without a host device), entities and a comment.
    static let running = """
    <?xml version="1.0"?>
    <domain type='kvm' id='7'>
      <name>web01</name>
      <description>web &amp; "api" &lt;front&gt;</description>
      <devices>
        <disk type='file' device='disk'>
          <source file='/var/lib/libvirt/images/web01.qcow2'/>
          <target dev='vda' bus='virtio'/>
        </disk>
        <!-- <interface type='bridge'><target dev='vnet99'/></interface> -->
        <interface type='bridge'>
          <mac address='52:54:00:12:34:56'/>
          <source bridge='br0'/>
          <target dev='vnet7'/>
          <model type='virtio'/>
          <alias name='net0'/>
        </interface>
        <interface type="network">
          <mac address="52:54:00:ab:cd:ef"/>
          <source network="default" portid="1c0ab6d2-0e1e-4b9e-a3c0-1b7b7b0f8f11"/>
          <target dev="vnet9"/>
        </interface>
        <interface type='hostdev' managed='yes'>
          <mac address='52:54:00:00:00:03'/>
          <source><address type='pci' domain='0x0000' bus='0x03' slot='0x00' function='0x0'/></source>
        </interface>
        <console type='pty'><target type='serial' port='0'/></console>
      </devices>
      <seclabel type='dynamic' model='dac' relabel='yes'><label>+64055:+108</label></seclabel>
    </domain>
    """

    @Test func findsEveryInterfaceAndOnlyInterfaceTargets() throws {
        let interfaces = try DomainXML.interfaces(in: Self.running)
        #expect(interfaces == [
            DomainInterface(type: "bridge", target: "vnet7", mac: "52:54:00:12:34:56"),
            DomainInterface(type: "network", target: "vnet9", mac: "52:54:00:ab:cd:ef"),
            DomainInterface(type: "hostdev", target: nil, mac: "52:54:00:00:00:03"),
        ])
        #expect(try DomainXML.targets(in: Self.running) == ["vnet7", "vnet9"])
    }

    @Test func aShutOffDomainHasInterfacesWithoutTargets() throws {
        let xml = "<domain type='kvm'><name>db01</name><devices><interface type='network'><mac address='52:54:00:00:00:01'/>"
            + "<source network='default'/></interface></devices></domain>"
        #expect(try DomainXML.interfaces(in: xml) == [DomainInterface(type: "network", target: nil, mac: "52:54:00:00:00:01")])
        #expect(try DomainXML.targets(in: xml).isEmpty)
    }

    @Test func targetsOutsideDevicesOrNestedDeeperDoNotCount() throws {
        let xml = "<domain><target dev='x0'/><devices><hub><interface><target dev='x1'/></interface></hub>"
            + "<interface type='ethernet'><source><target dev='x2'/></source><target dev='tap&#48;'/></interface></devices></domain>"
        #expect(try DomainXML.targets(in: xml) == ["tap0"])
    }

    @Test func aDomainWithoutInterfacesHasNone() throws {
        #expect(try DomainXML.interfaces(in: "<domain type='test'><name>a</name><devices/></domain>").isEmpty)
    }

    @Test(arguments: [
        ("", "no <domain> element"),
        ("<node><domain/></node>", "the root element is <node>, not <domain>"),
        ("<domain><devices></domain>", "</domain> closes <devices>"),
        ("<domain><devices>", "<devices> is never closed"),
        ("<domain></domain></devices>", "</devices> closes nothing"),
        ("<domain><devices><interface><target dev=vnet0/></interface></devices></domain>", "attribute 'dev' of <target> has no quoted value"),
        ("<domain><devices><interface><target dev='vnet0/></interface></devices></domain>", "'<' inside attribute 'dev'"),
        ("<domain><devices><interface><target dev='a&b;'/></interface></devices></domain>", "unknown entity '&b;' in an attribute value"),
        ("<domain><devices><interface><target dev=''/></interface></devices></domain>", "an interface's <target> has an empty 'dev'"),
        ("<domain><!-- open", "a comment is never closed"),
        ("<domain a='1' a='2'/>", "attribute 'a' appears twice in <domain>"),
        ("<domain/><domain/>", "a second root element <domain>"),
        ("text<domain/>", "text outside the root element"),
        ("<domain", "<domain> is cut off"),
        ("<domain a='1'b='2'/>", "expected a space, '>' or '/>' in <domain>"),
        ("<1domain/>", "'1domain' is not an XML name"),
    ])
    func malformedXMLIsAnErrorWithItsReason(xml: String, reason: String) {
        #expect(throws: DomainXMLError.self) { try DomainXML.interfaces(in: xml) }
        do {
            _ = try DomainXML.interfaces(in: xml)
        } catch {
            #expect(error.reason == reason)
        }
    }

    @Test func errorsNameTheirLine() {
        do {
            _ = try DomainXML.interfaces(in: "<domain>\n<devices>\n</domain>")
            Issue.record("no error")
        } catch {
            #expect(error.line == 3)
            #expect(error.description == "domain XML line 3: </domain> closes <devices>")
        }
    }

    @Test func cutOffDocumentsNeverTrap() {
        // Every prefix of a real document either parses or fails with an error.
        let bytes = Array(Self.running.utf8)
        var failures = 0
        for end in stride(from: 0, to: bytes.count, by: 3) {
            if (try? DomainXML.interfaces(in: String(decoding: bytes[0..<end], as: UTF8.self))) == nil { failures += 1 }
        }
        #expect(failures > 0)
    }
}
