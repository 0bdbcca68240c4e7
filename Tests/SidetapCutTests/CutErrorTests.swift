import SidetapCut
import Testing

@Test func cutErrorsSayWhatFailed() {
    #expect(CutError.notResettable("not TCP").description == "cannot reset: not TCP")
    #expect(CutError.failed(operation: "nft", reason: "exit 1").description == "nft failed: exit 1")
}
