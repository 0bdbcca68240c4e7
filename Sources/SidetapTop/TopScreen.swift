import Foundation
import SidetapCore

/// Lays out one frame of `sidetap top` from a model and a terminal size: a four-line header,
/// the sources, ports and recent-cuts tables, and a key line at the bottom. Pure: the same
/// model, time and size always give the same frame. Lines are cut at `width` (never wrapped)
/// and tables lose rows ("... N more") to fit `height`; the frame has exactly `height` lines.
public enum TopScreen {
    /// Renders the frame for `model` at `now`.
    /// With `height` nil (output that is not a terminal), every row is shown and there is no
    /// key line.
    public static func render(_ model: TopModel, now: Date, width: Int, height: Int?, timeZone: TimeZone = .current) -> TopFrame {
        guard let height else {
            var lines = headerLines(model, now: now, timeZone: timeZone)
            var headings: Set<Int> = []
            for section in [sourceSection(model), portSection(model), cutSection(model, now: now)] {
                lines.append("")
                headings.insert(lines.count)
                lines.append(section.heading)
                lines += section.rows
            }
            return TopFrame(lines: lines.map { TopFormat.clip($0, width) }, headings: headings)
        }
        guard width > 0, height > 0 else { return TopFrame(lines: [], headings: []) }
        var header = headerLines(model, now: now, timeZone: timeZone)
        let footer = "q quit  p \(model.paused ? "resume" : "pause")  s sort (\(model.sort.rawValue))"
        let sections = [sourceSection(model), portSection(model), cutSection(model, now: now)]

        var lines: [String] = []
        var headings: Set<Int> = []
        header = Array(header.prefix(height))
        lines += header
        let footerLines = height - header.count >= 3 ? 1 : 0
        var budget = height - header.count - footerLines
        let wanted = sections.reduce(0) { $0 + 2 + $1.rows.count }
        let blanks = wanted <= budget
        var shown = Array(repeating: 0, count: sections.count)
        var headingShown = Array(repeating: false, count: sections.count)
        if !blanks {
            // First every heading with one row, in order, then the rest in order.
            for (i, section) in sections.enumerated() where budget > 0 {
                headingShown[i] = true
                budget -= 1
                if !section.rows.isEmpty && budget > 0 {
                    shown[i] = 1
                    budget -= 1
                }
            }
            for (i, section) in sections.enumerated() where budget > 0 && headingShown[i] {
                let more = min(budget, section.rows.count - shown[i])
                shown[i] += more
                budget -= more
            }
        } else {
            headingShown = sections.map { _ in true }
            shown = sections.map(\.rows.count)
        }
        for (i, section) in sections.enumerated() where headingShown[i] {
            if blanks { lines.append("") }
            headings.insert(lines.count)
            lines.append(section.heading)
            let rows = section.rows
            if shown[i] < rows.count && shown[i] >= 2 {
                lines += rows.prefix(shown[i] - 1)
                lines.append("... \(rows.count - shown[i] + 1) more")
            } else {
                lines += rows.prefix(shown[i])
            }
        }
        while lines.count < height - footerLines { lines.append("") }
        if footerLines == 1 { lines.append(footer) }
        return TopFrame(lines: lines.map { TopFormat.clip($0, width) }, headings: headings)
    }

    /// A table as a heading line and row lines.
    struct Section {
        var heading: String
        var rows: [String]
    }

    static func headerLines(_ model: TopModel, now: Date, timeZone: TimeZone) -> [String] {
        let snapshot = model.snapshot
        var first = "sidetap top  \(model.endpoint)"
        if let version = snapshot?.version { first += "  \(TopFormat.plain(version))" }
        if let uptime = snapshot?.uptimeSeconds { first += "  up \(TopFormat.duration(uptime))" }
        first += "  every \(TopFormat.rate(model.interval))s  \(clock(now, timeZone))"

        var second: String
        switch model.connection {
        case .connecting: second = "connecting..."
        case .connected: second = "connected"
        case .lost(let reason, let since, let failures):
            second = "CONNECTION LOST since \(clock(since, timeZone)) (\(failures) failed, retrying): \(TopFormat.plain(reason))"
            if let time = model.snapshotTime { second += "; data below is from \(clock(time, timeZone))" }
        }
        if model.paused { second = "PAUSED  " + second }

        var third = "total"
        if let stats = snapshot?.statistics {
            let rates = model.rates
            let portDrops = stats.ports.reduce(0) { $0 + $1.dropped }
            let kernelDrops = stats.sources.reduce(0) { $0 + $1.kernelDropped }
            third += "  in \(TopFormat.rate(rates?.totalPacketsPerSecond)) pkt/s \(TopFormat.megabits(rates?.totalBitsPerSecond)) Mbit/s"
            third += "  out \(TopFormat.rate(rates?.totalSentPerSecond)) pkt/s"
            third += "  packets \(TopFormat.count(stats.totalPackets))"
            third += "  port drops \(TopFormat.drops(portDrops, perSecond: rates?.totalPortDropsPerSecond))"
            third += "  kernel drops \(TopFormat.drops(kernelDrops, perSecond: rates?.totalKernelDropsPerSecond))"
            if let cuts = snapshot?.cuts {
                let active = cuts.filter { $0.state == "active" }.count
                third += "  cuts \(cuts.count) (\(active) active)"
            }
        } else {
            third += "  -"
        }

        var fourth = "control: "
        if let appliances = snapshot?.appliances {
            fourth += appliances.isEmpty ? "administrator only (no appliances)"
                : appliances.map { "\(TopFormat.plain($0.name)) \(TopFormat.plain($0.mode))" }.joined(separator: ", ")
        } else {
            fourth += snapshot == nil ? "-" : "appliance modes not readable with these credentials"
        }
        return [first, second, third, fourth]
    }

    static func sourceSection(_ model: TopModel) -> Section {
        var table = TopTable([.text("SOURCE", max: 20), .text("GUEST", max: 16), .number("PKT/S"), .number("MBIT/S"), .number("PACKETS"),
                              .number("KERNEL DROPS"), .text("STATE", max: 60)])
        for source in model.orderedSources() {
            let rates = model.rates?.sources[source.name]
            let state = source.problem.map { "problem: \($0)" } ?? (source.finished ? "finished" : "ok")
            table.add([source.name, source.guest ?? "-", TopFormat.rate(rates?.packetsPerSecond), TopFormat.megabits(rates?.bitsPerSecond),
                       TopFormat.count(source.packets), TopFormat.drops(source.kernelDropped, perSecond: rates?.kernelDropsPerSecond), state])
        }
        let (heading, rows) = table.lines()
        return Section(heading: heading, rows: model.snapshot == nil ? ["(no answer yet)"] : rows)
    }

    static func portSection(_ model: TopModel) -> Section {
        var table = TopTable([.text("PORT", max: 20), .text("KIND", max: 10), .number("SENT/S"), .number("MBIT/S"), .number("SENT"),
                              .number("RING FULL"), .number("RATE LIMIT"), .number("WRITE ERR"), .number("QUEUED"), .number("SEQ"),
                              .text("STATE", max: 60)])
        for port in model.orderedPorts() {
            let rates = model.rates?.ports[port.name]
            var state = port.lastError.map { "error: \($0)" } ?? "ok"
            if let readers = port.readers { state += ", \(readers.connected) readers" }
            table.add([port.name, port.kind, TopFormat.rate(rates?.sentPerSecond), TopFormat.megabits(rates?.bitsPerSecond),
                       TopFormat.count(port.sent),
                       TopFormat.drops(port.droppedRingFull, perSecond: rates?.ringFullPerSecond),
                       TopFormat.drops(port.droppedRateLimit, perSecond: rates?.rateLimitPerSecond),
                       TopFormat.drops(port.droppedWriteError, perSecond: rates?.writeErrorPerSecond),
                       "\(port.queued)", port.sequence.map(TopFormat.count) ?? "-", state])
        }
        let (heading, rows) = table.lines()
        return Section(heading: heading, rows: model.snapshot == nil ? [] : rows)
    }

    static func cutSection(_ model: TopModel, now: Date) -> Section {
        var table = TopTable([.text("CUT", max: 28), .text("METHOD", max: 6), .text("TARGET", max: 60), .text("BY", max: 16),
                              .text("STATE", max: 10), .number("AGE")])
        let cuts = model.recentCuts()
        for cut in cuts {
            table.add([cut.id, cut.method, cut.target, cut.requestedBy, cut.state, TopFormat.duration(now.timeIntervalSince(cut.createdAt))])
        }
        let (heading, rows) = table.lines()
        guard let snapshot = model.snapshot else { return Section(heading: heading, rows: []) }
        if snapshot.cuts == nil { return Section(heading: heading, rows: ["(cuts not readable with these credentials)"]) }
        return Section(heading: heading, rows: cuts.isEmpty ? ["(no cuts)"] : rows)
    }

    /// "14:03:22" in `timeZone`.
    static func clock(_ date: Date, _ timeZone: TimeZone) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let c = calendar.dateComponents([.hour, .minute, .second], from: date)
        func two(_ n: Int?) -> String { let v = n ?? 0; return v < 10 ? "0\(v)" : "\(v)" }
        return "\(two(c.hour)):\(two(c.minute)):\(two(c.second))"
    }
}
