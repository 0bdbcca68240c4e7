#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An OS error with the call that failed and, where it helps, the path.
public struct SystemError: Error, Sendable, CustomStringConvertible {
    public var code: Int32
    public var operation: String
    public var path: String?

    public init(code: Int32 = errno, operation: String, path: String? = nil) {
        self.code = code
        self.operation = operation
        self.path = path
    }

    /// `strerror` text for an errno value.
    public static func message(_ code: Int32) -> String {
        String(cString: strerror(code))
    }

    public var description: String {
        if let path { return "\(operation) \(path): \(SystemError.message(code))" }
        return "\(operation): \(SystemError.message(code))"
    }
}
