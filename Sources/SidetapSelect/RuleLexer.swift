/// One word or quoted string of a rules line, with its 1-based column.
struct RuleToken: Equatable {
    /// The text; for a quoted string, the contents with escapes resolved.
    var text: String
    /// Column of the token's first character (the opening quote for a quoted string).
    var column: Int
    /// True for a `"…"` string.
    var quoted: Bool
}

/// Splits one line of a rules file into tokens: words separated by blanks, `"…"` strings
/// (with `\"` and `\\` escapes), and a `#` comment (outside quotes) that runs to the end.
enum RuleLexer {
    /// What went wrong while splitting a line.
    struct Failure: Error {
        var column: Int
        var reason: String
    }

    static func tokens(of line: Substring) throws(Failure) -> [RuleToken] {
        let characters = Array(line)
        var tokens: [RuleToken] = []
        var index = 0
        while index < characters.count {
            let character = characters[index]
            if character == " " || character == "\t" || character == "\r" {
                index += 1
                continue
            }
            if character == "#" { break }
            let start = index
            if character == "\"" {
                var text = ""
                index += 1
                var closed = false
                while index < characters.count {
                    let c = characters[index]
                    if c == "\\", index + 1 < characters.count,
                       characters[index + 1] == "\"" || characters[index + 1] == "\\" {
                        text.append(characters[index + 1])
                        index += 2
                        continue
                    }
                    if c == "\"" {
                        closed = true
                        index += 1
                        break
                    }
                    text.append(c)
                    index += 1
                }
                guard closed else {
                    throw Failure(column: start + 1, reason: "unterminated quote (a string opened here has no closing '\"')")
                }
                tokens.append(RuleToken(text: text, column: start + 1, quoted: true))
                continue
            }
            var text = ""
            while index < characters.count {
                let c = characters[index]
                if c == " " || c == "\t" || c == "\r" || c == "#" || c == "\"" { break }
                text.append(c)
                index += 1
            }
            tokens.append(RuleToken(text: text, column: start + 1, quoted: false))
        }
        return tokens
    }
}
