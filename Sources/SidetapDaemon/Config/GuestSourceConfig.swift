import SidetapCapture
import SidetapLibvirt

/// A source that follows a libvirt guest (`guest: web01` without `interface:`): the domain,
/// the hypervisor, how often to look it up, and the capture settings of every interface.
public struct GuestSourceConfig: Sendable {
    /// The libvirt domain's name (the `guest` unless `libvirt.domain` names another).
    public var domain: String
    /// The hypervisor's URI, opened read-only.
    public var uri: String
    /// How often the guest is looked up again.
    public var pollMilliseconds: Int
    /// snaplen, buffer, promiscuous, direction, immediate and filter for every interface
    /// (the interface name in it is not used).
    public var capture: LiveInterfaceSettings

    public init(domain: String, uri: String = LibvirtGuestResolver.defaultURI, pollMilliseconds: Int = 2000,
                capture: LiveInterfaceSettings = LiveInterfaceSettings(interface: "")) {
        self.domain = domain
        self.uri = uri
        self.pollMilliseconds = pollMilliseconds
        self.capture = capture
    }
}

extension ConfigParser {
    /// `libvirt: { uri: qemu:///system, domain: web01, poll: 2s }`, all optional.
    func parseGuestSource(guest: String, _ m: MappingReader) throws(ConfigError) -> GuestSourceConfig {
        var config = GuestSourceConfig(domain: guest)
        if let node = m["libvirt"] {
            let l = try node.requireMapping("libvirt", keys: ["uri", "domain", "poll"])
            if let u = l["uri"] {
                let uri = try u.requireString("libvirt.uri")
                guard uri.contains(":"), !uri.contains(where: { $0 == " " || $0 == "\n" }) else {
                    throw u.error("libvirt.uri must be a libvirt connection URI such as qemu:///system, got \(u.describe)")
                }
                config.uri = uri
            }
            if let d = l["domain"] {
                let domain = try d.requireString("libvirt.domain")
                guard !domain.isEmpty, domain.utf8.count <= 255, !domain.contains("/") else {
                    throw d.error("libvirt.domain must be a domain name (1 to 255 characters, no '/'), got \(d.describe)")
                }
                config.domain = domain
            }
            if let p = l["poll"] {
                guard let seconds = Quantities.seconds(p.string ?? ""), seconds >= 0.1, seconds <= 3600 else {
                    throw p.error("libvirt.poll must be a time between 100ms and 1h such as 2s, got \(p.describe)")
                }
                config.pollMilliseconds = Int((seconds * 1000).rounded())
            }
        }
        config.capture = try parseLiveKeys(LiveInterfaceSettings(interface: ""), m)
        return config
    }
}
