/// Screens twin-file text before it reaches toml++, which has input-dependent assertions.
///
/// toml++ 3.4.0 (bundled by TOMLKit 0.6.0) trusts some of its own look-ahead and asserts on
/// inputs such as `[=]` or `[` at the end of a line (table header), `a = [}` (array value), or
/// `a = 1979-05-27true:` (date-time guess). Debug builds abort the process; with `NDEBUG`
/// the assertions become `__builtin_assume`, i.e. undefined behaviour. A twin file may be
/// edited by hand, so we only pass toml++ text from the small TOML subset a twin file needs:
///
/// * outside strings and comments, only ASCII letters, digits, `_ - + . = [ ] ,`, spaces,
///   tabs and line breaks (so no dates, times or inline tables: `:`, `{`, `}` are refused);
/// * a line whose first non-blank character is `[` (a table header) must continue, after an
///   optional second `[` and blanks, with a key character, a quote or `]`;
/// * strings and comments may hold anything (toml++ checks them properly).
///
/// Each rule was checked against a corpus of inputs that crash toml++ 3.4.0 (see the tests).
public enum TOMLInputGuard {
    public struct Rejection: Equatable, Sendable, CustomStringConvertible {
        public let line: Int
        public let column: Int
        public let message: String
        public var description: String { "line \(line), column \(column): \(message)" }
    }

    private enum State {
        case normal, comment, basicString, literalString, multilineBasicString, multilineLiteralString
    }

    /// The first problem found, or `nil` if the text may be given to toml++.
    public static func check(_ text: String) -> Rejection? {
        let scalars = Array(text.unicodeScalars)
        var state = State.normal
        var line = 1
        var column = 0
        var onlyBlanksSoFar = true     // in the current line, in normal state
        var index = 0

        func at(_ offset: Int) -> Unicode.Scalar? {
            index + offset < scalars.count ? scalars[index + offset] : nil
        }

        while index < scalars.count {
            let scalar = scalars[index]
            column += 1
            if scalar == "\n" {
                if state == .comment || state == .basicString || state == .literalString { state = .normal }
                line += 1
                column = 0
                onlyBlanksSoFar = true
                index += 1
                continue
            }

            switch state {
            case .comment:
                break
            case .basicString:
                if scalar == "\\" {
                    index += 1        // the escaped character cannot end the string
                    column += 1
                } else if scalar == "\"" {
                    state = .normal
                }
            case .literalString:
                if scalar == "'" { state = .normal }
            case .multilineBasicString:
                if scalar == "\\" {
                    if at(1) != "\n" {   // keep line counting exact for "line ending backslash"
                        index += 1
                        column += 1
                    }
                } else if scalar == "\"" && at(1) == "\"" && at(2) == "\"" {
                    index += 2
                    column += 2
                    while at(1) == "\"" {  // up to two quotes may belong to the content
                        index += 1
                        column += 1
                    }
                    state = .normal
                }
            case .multilineLiteralString:
                if scalar == "'" && at(1) == "'" && at(2) == "'" {
                    index += 2
                    column += 2
                    while at(1) == "'" {
                        index += 1
                        column += 1
                    }
                    state = .normal
                }
            case .normal:
                let isBlank = scalar == " " || scalar == "\t" || scalar == "\r" || (index == 0 && scalar == "\u{FEFF}")
                if isBlank { break }
                let startsLine = onlyBlanksSoFar
                onlyBlanksSoFar = false
                switch scalar {
                case "#":
                    state = .comment
                case "\"":
                    if at(1) == "\"" && at(2) == "\"" {
                        state = .multilineBasicString
                        index += 2
                        column += 2
                    } else {
                        state = .basicString
                    }
                case "'":
                    if at(1) == "'" && at(2) == "'" {
                        state = .multilineLiteralString
                        index += 2
                        column += 2
                    } else {
                        state = .literalString
                    }
                case "[" where startsLine:
                    if let rejection = checkHeader(scalars, from: index, line: line, column: column) { return rejection }
                case "a"..."z", "A"..."Z", "0"..."9", "_", "-", "+", ".", "=", "[", "]", ",":
                    break
                default:
                    return Rejection(line: line, column: column, message: "unexpected \(describe(scalar)) outside a string"
                        + " (twin files use only [[twin]] tables of strings, integers and arrays)")
                }
            }
            index += 1
        }
        return nil
    }

    /// `[` or `[[`, blanks, then a key character, a quote or `]`; end of text is fine too
    /// (toml++ reports that itself), a line break is not.
    private static func checkHeader(_ scalars: [Unicode.Scalar], from start: Int, line: Int, column: Int) -> Rejection? {
        var index = start + 1
        if index < scalars.count && scalars[index] == "[" { index += 1 }
        while index < scalars.count && (scalars[index] == " " || scalars[index] == "\t") { index += 1 }
        guard index < scalars.count else { return nil }
        switch scalars[index] {
        case "a"..."z", "A"..."Z", "0"..."9", "_", "-", "\"", "'", "]":
            return nil
        default:
            return Rejection(line: line, column: column, message: "a table header must start with a name, as in [[twin]]")
        }
    }

    private static func describe(_ scalar: Unicode.Scalar) -> String {
        scalar.isASCII && scalar.value >= 0x20 && scalar.value < 0x7f
            ? "character '\(Character(scalar))'"
            : "character U+\(String(scalar.value, radix: 16, uppercase: true))"
    }
}
