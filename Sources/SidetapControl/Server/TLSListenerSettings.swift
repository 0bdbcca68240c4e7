import NIOSSL

/// Where the appliance channel listens and the TLS material it uses.
public struct TLSListenerSettings: Sendable, Hashable {
    public var host: String
    public var port: Int
    /// PEM server certificate chain and private key.
    public var certificatePath: String
    public var keyPath: String
    /// PEM CA bundle that client certificates must chain to. With it, a client may present a
    /// certificate (it is then verified); an appliance whose config names a certificate
    /// fingerprint must present exactly that one. Without it, no client certificates are asked for.
    public var clientCAPath: String?

    public init(host: String, port: Int, certificatePath: String, keyPath: String, clientCAPath: String? = nil) {
        self.host = host
        self.port = port
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        self.clientCAPath = clientCAPath
    }

    /// The TLS configuration (TLS 1.2 or later); fails with a message naming the bad file.
    public func makeConfiguration() throws(ParseProblem) -> TLSConfiguration {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificatePath)
        } catch {
            throw ParseProblem("\(certificatePath): not a readable PEM certificate (\(error))")
        }
        guard !chain.isEmpty else { throw ParseProblem("\(certificatePath): no certificate in the file") }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        } catch {
            throw ParseProblem("\(keyPath): not a readable PEM private key (\(error))")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        if let clientCAPath {
            do {
                let roots = try NIOSSLCertificate.fromPEMFile(clientCAPath)
                guard !roots.isEmpty else { throw ParseProblem("\(clientCAPath): no certificate in the file") }
                configuration.trustRoots = .certificates(roots)
            } catch let problem as ParseProblem {
                throw problem
            } catch {
                throw ParseProblem("\(clientCAPath): not a readable PEM CA bundle (\(error))")
            }
            configuration.certificateVerification = .optionalVerification
        }
        return configuration
    }
}
