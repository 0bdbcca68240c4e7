import ArgumentParser
import SidetapControl

/// `sidetap token new NAME`: a new appliance token, printed once, and the digest to put in the config.
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Create appliance tokens for the control channel.",
        subcommands: [New.self]
    )

    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "new",
            abstract: "Print a new bearer token for an appliance, once, and the salted digest the config stores.",
            discussion: "Give the token to the appliance (it is not stored anywhere); put the appliance block into control.appliances.")

        @Argument(help: "The appliance's name (as in control.appliances).")
        var name: String

        func validate() throws {
            guard !name.isEmpty, name.count <= 64, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
                throw ValidationError("the name must be 1–64 letters, digits, '-', '_' or '.'")
            }
        }

        func run() {
            let token = TokenDigest.newToken()
            let digest = TokenDigest(token: token)
            print("""
                token for \(name) (shown only now; give it to the appliance):
                  \(token)

                config (control.appliances):
                  - name: \(name)
                    token: "\(digest)"
                    actions: [read_stats, read_flows, cut, block]
                    networks: [10.0.0.0/16]
                    mode: learning
                """)
        }
    }
}
