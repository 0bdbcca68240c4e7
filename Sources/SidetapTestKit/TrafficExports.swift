// Tests build frames with SidetapTraffic's FrameBuilder and TrafficGenerator; importing
// SidetapTestKit is enough to use them.
@_exported import SidetapTraffic
