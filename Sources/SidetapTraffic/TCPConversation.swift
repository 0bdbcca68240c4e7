import SidetapCore

/// A generated TCP connection: three-way handshake, request/response exchanges with exact
/// sequence and acknowledgment numbers, delayed ACKs, then FIN/FIN/ACK, a reset, or nothing
/// (left open). One packet per `step`.
struct TCPConversation {
    enum Phase { case syn, synAck, handshakeAck, data, close1, close2, close3, done }
    enum Ending { case fin, reset, open }

    var flow: FlowContext
    let application: TCPApplication
    var phase = Phase.syn
    let ending: Ending
    let closedByClient: Bool
    /// Next sequence number each side sends.
    var clientNext: UInt32
    var serverNext: UInt32
    let mss: Int
    let timestamps: Bool
    let clientTimestampBase: UInt32
    let serverTimestampBase: UInt32
    var clientLastTimestamp: UInt32 = 0
    var serverLastTimestamp: UInt32 = 0
    let clientWindow: UInt16
    let serverWindow: UInt16
    var exchangesLeft: Int
    var exchangeIndex = 0
    /// The message being sent: direction, size, bytes sent.
    var messageFromClient = true
    var messageTotal = 0
    var messageSent = 0
    var segmentsUnacked = 0
    var ackOwed = false

    init(_ random: inout SeededRandom, ipv6: Bool, vlan: UInt16) {
        let application = TCPApplication.pick(&random)
        self.application = application
        let port = application.serverPort(&random)
        let clientPort = Endpoint.ephemeralPort(&random)
        let roll = random.below(100)
        let client: Endpoint
        let server: Endpoint
        let a = AddressPlan.guestSubnetA, b = AddressPlan.guestSubnetB
        switch application {
        case .http, .https, .upload:
            if roll < 55 {          // guest browsing out (north-south)
                client = .guest(&random, subnet: random.below(2) == 0 ? a : b, port: clientPort, ipv6: ipv6)
                server = .outside(&random, port: port, ipv6: ipv6)
            } else if roll < 80 {   // outside visitors to a guest web server
                client = .outside(&random, port: clientPort, ipv6: ipv6)
                server = .inside(subnet: random.below(2) == 0 ? a : b, host: 80, port: port, ipv6: ipv6)
            } else {                // east-west
                client = .guest(&random, subnet: a, port: clientPort, ipv6: ipv6)
                server = .inside(subnet: b, host: 80, port: port, ipv6: ipv6)
            }
        case .ssh:
            client = roll < 50 ? .outside(&random, port: clientPort, ipv6: ipv6)
                : .guest(&random, subnet: a, port: clientPort, ipv6: ipv6)
            server = .guest(&random, subnet: roll < 50 ? a : b, port: port, ipv6: ipv6)
        case .postgres, .mysql:
            client = .guest(&random, subnet: a, port: clientPort, ipv6: ipv6)
            server = .inside(subnet: b, host: UInt8(random.inRange(50...53)), port: port, ipv6: ipv6)
        case .other:
            if roll < 60 {
                client = .guest(&random, subnet: a, port: clientPort, ipv6: ipv6)
                server = .guest(&random, subnet: b, port: port, ipv6: ipv6)
            } else {
                client = .guest(&random, subnet: b, port: clientPort, ipv6: ipv6)
                server = .outside(&random, port: port, ipv6: ipv6)
            }
        }
        flow = FlowContext(client: client, server: server, vlan: vlan, ipv6: ipv6)
        let endRoll = random.below(100)
        ending = endRoll < 90 ? .fin : (endRoll < 97 ? .reset : .open)
        closedByClient = random.below(100) < 65
        clientNext = UInt32(truncatingIfNeeded: random.next())
        serverNext = UInt32(truncatingIfNeeded: random.next())
        timestamps = random.below(100) < 80
        mss = (ipv6 ? 1440 : 1460) - (timestamps ? 12 : 0)
        clientTimestampBase = UInt32(truncatingIfNeeded: random.next())
        serverTimestampBase = UInt32(truncatingIfNeeded: random.next())
        clientWindow = UInt16(random.inRange(501...2048))
        serverWindow = UInt16(random.inRange(501...2048))
        exchangesLeft = application.exchanges(&random)
    }

    /// Emits the next packet; returns true when the conversation is over.
    mutating func step(_ sink: inout FrameSink) -> Bool {
        switch phase {
        case .syn:
            emit(&sink, fromClient: true, flags: [.syn], payload: 0, synOptions: true)
            clientNext &+= 1
            phase = .synAck
        case .synAck:
            emit(&sink, fromClient: false, flags: [.syn, .ack], payload: 0, synOptions: true)
            serverNext &+= 1
            phase = .handshakeAck
        case .handshakeAck:
            emit(&sink, fromClient: true, flags: [.ack], payload: 0)
            phase = .data
            startMessage(&sink.random, fromClient: true)
        case .data:
            stepData(&sink)
        case .close1:
            if ending == .reset {
                emit(&sink, fromClient: closedByClient, flags: [.rst, .ack], payload: 0)
                phase = .done
            } else {
                emit(&sink, fromClient: closedByClient, flags: [.fin, .ack], payload: 0)
                advance(fromClient: closedByClient, by: 1)
                phase = .close2
            }
        case .close2:
            emit(&sink, fromClient: !closedByClient, flags: [.fin, .ack], payload: 0)
            advance(fromClient: !closedByClient, by: 1)
            phase = .close3
        case .close3:
            emit(&sink, fromClient: closedByClient, flags: [.ack], payload: 0)
            phase = .done
        case .done:
            break
        }
        return phase == .done
    }

    mutating func startMessage(_ random: inout SeededRandom, fromClient: Bool) {
        messageFromClient = fromClient
        messageSent = 0
        segmentsUnacked = 0
        if let fixed = application.fixedSize(fromClient: fromClient, messageIndex: exchangeIndex) {
            messageTotal = fixed
        } else {
            let drawn = application.messageSize(fromClient: fromClient, &random)
            messageTotal = drawn + (fromClient ? 0 : application.responseOverhead(bodyLength: drawn))
        }
    }

    mutating func stepData(_ sink: inout FrameSink) {
        if ackOwed {
            emit(&sink, fromClient: !messageFromClient, flags: [.ack], payload: 0)
            ackOwed = false
            segmentsUnacked = 0
            if messageSent == messageTotal { nextMessage(&sink.random) }
            return
        }
        let remaining = messageTotal - messageSent
        var length = min(mss, remaining)
        let after = remaining - length
        if after > 0 && after < 22 { length = remaining - 22 }
        let last = length == remaining
        emit(&sink, fromClient: messageFromClient, flags: last ? [.psh, .ack] : [.ack], payload: length)
        messageSent += length
        segmentsUnacked += 1
        if segmentsUnacked >= 2 {
            ackOwed = true
        }
        if last {
            // A response piggybacks the ACK of a request; the end of a conversation, or a
            // message followed by one in the same direction, gets a pure ACK.
            let endsExchange = !messageFromClient
            if endsExchange && exchangesLeft <= 1 { ackOwed = true }
            if !ackOwed { nextMessage(&sink.random) }
        }
    }

    mutating func nextMessage(_ random: inout SeededRandom) {
        if messageFromClient {
            startMessage(&random, fromClient: false)
            return
        }
        exchangesLeft -= 1
        exchangeIndex += 1
        if exchangesLeft <= 0 {
            phase = ending == .open ? .done : .close1
        } else {
            startMessage(&random, fromClient: true)
        }
    }

    mutating func advance(fromClient: Bool, by count: Int) {
        if fromClient { clientNext &+= UInt32(count) } else { serverNext &+= UInt32(count) }
    }

    /// Writes one segment from one side, acknowledging everything the other side sent.
    mutating func emit(_ sink: inout FrameSink, fromClient: Bool, flags: TCPFlags, payload: Int, synOptions: Bool = false) {
        let ipStart = sink.begin(flow, fromClient: fromClient, protocolNumber: IPProtocolNumber.tcp)
        let sequence = fromClient ? clientNext : serverNext
        let acknowledgment = flags.contains(.ack) ? (fromClient ? serverNext : clientNext) : 0
        let timestamp = (fromClient ? clientTimestampBase : serverTimestampBase) &+ UInt32(truncatingIfNeeded: sink.nowNanos / 1_000_000)
        let echo = fromClient ? serverLastTimestamp : clientLastTimestamp
        if fromClient { clientLastTimestamp = timestamp } else { serverLastTimestamp = timestamp }
        let optionBytes = synOptions ? (timestamps ? 20 : 12) : (timestamps ? 12 : 0)
        let window: UInt16
        if synOptions {
            window = flow.ipv6 ? 64800 : 64240
        } else {
            window = fromClient ? clientWindow : serverWindow
        }
        let transportStart = sink.encoder.beginTCP(
            sourcePort: fromClient ? flow.client.port : flow.server.port,
            destinationPort: fromClient ? flow.server.port : flow.client.port,
            sequence: sequence, acknowledgment: acknowledgment, flags: flags, window: window,
            optionBytes: optionBytes)
        if synOptions {
            // MSS, SACK permitted, timestamps, NOP, window scale (Linux order).
            sink.encoder.appendU8(2); sink.encoder.appendU8(4)
            sink.encoder.appendU16(flow.ipv6 ? 1440 : 1460)
            if timestamps {
                sink.encoder.appendU8(4); sink.encoder.appendU8(2)
                sink.encoder.appendU8(8); sink.encoder.appendU8(10)
                sink.encoder.appendU32(timestamp); sink.encoder.appendU32(fromClient ? 0 : echo)
            } else {
                sink.encoder.appendU8(1); sink.encoder.appendU8(1)
                sink.encoder.appendU8(4); sink.encoder.appendU8(2)
            }
            sink.encoder.appendU8(1)
            sink.encoder.appendU8(3); sink.encoder.appendU8(3); sink.encoder.appendU8(7)
        } else if timestamps {
            sink.encoder.appendU8(1); sink.encoder.appendU8(1)
            sink.encoder.appendU8(8); sink.encoder.appendU8(10)
            sink.encoder.appendU32(timestamp); sink.encoder.appendU32(echo)
        }
        if payload > 0 {
            application.writePayload(
                into: &sink, fromClient: fromClient, messageIndex: exchangeIndex, offset: messageSent,
                length: payload, total: messageTotal)
            advance(fromClient: fromClient, by: payload)
        }
        sink.finish(flow, fromClient: fromClient, ipStart: ipStart, transportStart: transportStart, kind: .tcp)
    }
}
