import SidetapCore
import Testing

/// `SharedLibrary`: a real library opened and called at run time, and the two ways it fails
/// (no such library, no such symbol) with the loader's reason.
@Suite struct SharedLibraryTests {
    @Test func callsAFunctionOfALibraryLoadedAtRunTime() throws {
        // libpcap is installed wherever Sidetap builds; its version string is a fixed format.
        let library = try SharedLibrary(opening: "libpcap.so.0.8")
        let version: @convention(c) () -> UnsafePointer<CChar>? = try library.function("pcap_lib_version")
        let text = try #require(version()).withMemoryRebound(to: UInt8.self, capacity: 1) { String(cString: $0) }
        #expect(text.hasPrefix("libpcap version "))
        #expect(library.name == "libpcap.so.0.8")
    }

    @Test func aMissingLibraryIsNamedWithTheLoadersReason() {
        #expect {
            _ = try SharedLibrary(opening: "libsidetap-no-such-library.so.9")
        } throws: { error in
            guard let error = error as? SharedLibraryError else { return false }
            return error.library == "libsidetap-no-such-library.so.9"
                && error.reason.contains("cannot open shared object file")
                && error.description.hasPrefix("cannot load libsidetap-no-such-library.so.9: ")
        }
    }

    @Test func aMissingSymbolIsNamed() throws {
        let library = try SharedLibrary(opening: "libpcap.so.0.8")
        #expect {
            let _: @convention(c) () -> Int32 = try library.function("pcap_sidetap_no_such_function")
        } throws: { error in
            guard let error = error as? SharedLibraryError else { return false }
            return error.library == "libpcap.so.0.8" && error.reason.contains("pcap_sidetap_no_such_function")
        }
    }
}
