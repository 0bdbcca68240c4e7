import CSidetapLinux
import SidetapCore
#if canImport(Glibc)
import Glibc
#endif

/// Cuts a TCP connection by sending its two RST frames (`ResetFrames`) with an AF_PACKET raw
/// socket on the device `ResetDevice` picks for the interface where the flow was seen: the
/// interface itself, or its bridge when it is a bridge port.
///
/// A socket is opened per reset (resets are rare), bound with protocol 0 so it receives
/// nothing, and closed again. Both frames are sent; the first failure is reported.
/// Flows from files, from the `any` pseudo-interface, or from non-Ethernet captures cannot be
/// reset (`CutError.notResettable`). Needs CAP_NET_RAW.
///
/// A flow captured on a routed (not bridged) interface is reset toward the endpoint on that
/// link only in part: the RST toward the far endpoint is addressed to the router's MAC, which
/// is this host's own interface, and a frame sent out of an interface is not received by it.
public final class PacketSocketResetter: ConnectionResetter {
    let sysfs: String

    /// `sysfs` is where interface topology is read (/sys/class/net); tests may point elsewhere.
    public init(sysfs: String = "/sys/class/net") {
        self.sysfs = sysfs
    }

    public func reset(_ flow: FlowSnapshot) throws -> ResetReport {
        guard let interface = flow.source.interface else {
            throw CutError.notResettable("flow \(flow.key) comes from \(flow.source.origin), not from a live interface")
        }
        guard interface != "any" else {
            throw CutError.notResettable("flow \(flow.key) was captured on 'any', which names no interface to send on")
        }
        let frames = try ResetFrames(flow)
        let device = ResetDevice.device(for: interface, sysfs: sysfs)
        let index = Int32(bitPattern: if_nametoindex(device))
        guard index > 0 else {
            throw CutError.failed(operation: "find interface \(device)", reason: SystemError.message(errno))
        }
        let descriptor = socket(AF_PACKET, Int32(SOCK_RAW.rawValue), 0)
        guard descriptor >= 0 else {
            throw CutError.failed(operation: "open packet socket", reason: SystemError.message(errno))
        }
        defer { close(descriptor) }
        guard CSidetapLinux_bindPacketSocket(descriptor, index) == 0 else {
            throw CutError.failed(operation: "bind packet socket to \(device)", reason: SystemError.message(errno))
        }
        var failure: CutError?
        for (frame, toward) in [(frames.towardInitiator, "initiator"), (frames.towardResponder, "responder")] {
            if let problem = Self.send(descriptor, frame), failure == nil {
                failure = .failed(operation: "send RST toward the \(toward) on \(device)", reason: SystemError.message(problem))
            }
        }
        if let failure { throw failure }
        return ResetReport(interface: device, sequenceToInitiator: frames.sequenceToInitiator, sequenceToResponder: frames.sequenceToResponder)
    }

    /// Sends one frame, retrying EINTR; returns errno on failure.
    static func send(_ descriptor: Int32, _ frame: [UInt8]) -> Int32? {
        frame.withUnsafeBytes { raw in
            while true {
                if Glibc.send(descriptor, raw.baseAddress, raw.count, 0) >= 0 { return nil }
                let code = errno
                if code != EINTR { return code }
            }
        }
    }
}
