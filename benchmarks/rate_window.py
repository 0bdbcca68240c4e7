#!/usr/bin/env python3
"""Rate accuracy of a paced capture, from the receiver's nanosecond timestamps.

  rate_window.py FILE.pcap --name NAME (--pps N [--burst B] | --bps R [--burst-bytes B])
                 [--seconds S] [--window W]

Reads a classic pcap file (micro- or nanosecond magic, either byte order) and looks at the
first S seconds (default 10) after the first packet:

  NAME_packets         packets inside the S-second span
  NAME_span            time from the first to the last packet of the capture (s); a span
                       shorter than S means the sender stopped early (starved or ended)
  NAME_achieved        packets (or bits) in the span / S, in pps (or Mbit/s)
  NAME_rate_error      (achieved - target) / target, in %
  NAME_max_window      the most packets (or bits) seen in any W-second window (default 0.1)
                       that starts on a packet and ends inside the span, next to the bound
                       target * W + burst (a shaper that honours its bucket never exceeds it)
  NAME_window_within_bound  yes / no

Bits count the frame as captured on the wire (the pcap record's original length, no FCS),
which is what Sidetap's token bucket and tcpreplay --mbps count.
"""
import argparse
import struct


def read_pcap(path):
    """Returns (timestamps in seconds, wire lengths) of every record of a classic pcap file."""
    with open(path, "rb") as handle:
        data = handle.read()
    if len(data) < 24:
        raise SystemExit(f"{path}: too short for a pcap header ({len(data)} bytes)")
    magic = struct.unpack_from("<I", data, 0)[0]
    formats = {0xA1B2C3D4: ("<", 1e6), 0xA1B23C4D: ("<", 1e9),
               0xD4C3B2A1: (">", 1e6), 0x4D3CB2A1: (">", 1e9)}
    if magic not in formats:
        raise SystemExit(f"{path}: not a classic pcap file (magic {magic:#010x})")
    order, divisor = formats[magic]
    record = struct.Struct(order + "IIII")
    offset, size = 24, len(data)
    stamps, lengths = [], []
    while offset + 16 <= size:
        seconds, fraction, captured, wire = record.unpack_from(data, offset)
        stamps.append(seconds + fraction / divisor)
        lengths.append(wire)
        offset += 16 + captured
    return stamps, lengths


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("pcap")
    parser.add_argument("--name", required=True)
    parser.add_argument("--pps", type=float)
    parser.add_argument("--bps", type=float, help="target in bits per second")
    parser.add_argument("--burst", type=float, default=0.0, help="bucket depth in packets")
    parser.add_argument("--burst-bytes", type=float, default=0.0, help="bucket depth in bytes")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--window", type=float, default=0.1)
    args = parser.parse_args()
    if (args.pps is None) == (args.bps is None):
        raise SystemExit("give exactly one of --pps and --bps")

    stamps, lengths = read_pcap(args.pcap)
    name = args.name
    if len(stamps) < 2:
        print(f"{name}_packets: {len(stamps)} pkts (too few to measure)")
        return
    start = stamps[0]
    end = start + args.seconds
    inside = [i for i, t in enumerate(stamps) if t < end]
    count = len(inside)
    weights = [1.0] * len(stamps) if args.pps else [8.0 * length for length in lengths]
    total = sum(weights[i] for i in inside)
    span = stamps[-1] - start

    target = args.pps if args.pps else args.bps
    achieved = total / args.seconds
    error = (achieved - target) / target * 100.0
    bound = target * args.window + (args.burst if args.pps else 8.0 * args.burst_bytes)

    # sliding window over packet start times, two pointers
    best, best_at, acc, j = 0.0, 0.0, 0.0, 0
    for i in range(count):
        if stamps[i] + args.window > end:
            break
        while j < len(stamps) and stamps[j] < stamps[i] + args.window:
            acc += weights[j]
            j += 1
        if acc > best:
            best, best_at = acc, stamps[i] - start
        acc -= weights[i]

    print(f"{name}_packets: {count} pkts in the first {args.seconds:g} s")
    print(f"{name}_span: {span:.3f} s (first to last packet captured{'; SHORTER than the measured window' if span < args.seconds else ''})")
    if args.pps:
        print(f"{name}_achieved: {achieved:.1f} pps (target {target:g})")
        print(f"{name}_rate_error: {error:+.3f} %")
        print(f"{name}_max_window: {best:.0f} pkts in {args.window * 1000:g} ms at +{best_at:.3f} s (bound {bound:g} = {target:g} x {args.window:g} s + burst {args.burst:g})")
    else:
        print(f"{name}_achieved: {achieved / 1e6:.3f} Mbit/s (target {target / 1e6:g})")
        print(f"{name}_rate_error: {error:+.3f} %")
        print(f"{name}_max_window: {best / 1e6:.4f} Mbit in {args.window * 1000:g} ms at +{best_at:.3f} s (bound {bound / 1e6:g} = {target / 1e6:g} Mbit/s x {args.window:g} s + burst {8 * args.burst_bytes / 1e6:g} Mbit)")
    print(f"{name}_window_within_bound: {'yes' if best <= bound + 1e-9 else 'no'} ({best / bound:.4f} of bound)")


if __name__ == "__main__":
    main()
