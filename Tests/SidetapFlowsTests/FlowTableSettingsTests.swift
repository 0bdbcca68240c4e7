import SidetapFlows
import Testing

@Test func defaultSettingsHoldManyFlowsForFiveMinutes() {
    let settings = FlowTableSettings()
    #expect(settings.capacity == 65_536)
    #expect(settings.idleTimeoutNanos == 300 * 1_000_000_000)
}
