import SMTPTraceFindings

/// How text is decorated: plain, or with ANSI colours by severity. The executable decides
/// (a terminal, `NO_COLOR`, `--color`); the reports only apply it. Three SGR codes do not
/// justify a dependency.
public struct TextStyle: Sendable {
    public var colors: Bool

    public init(colors: Bool) { self.colors = colors }

    public static let plain = TextStyle(colors: false)

    public func severity(_ severity: Severity, _ text: String) -> String {
        guard colors else { return text }
        switch severity {
        case .error: return "\u{1B}[1;31m" + text + "\u{1B}[0m"
        case .warning: return "\u{1B}[33m" + text + "\u{1B}[0m"
        case .info: return "\u{1B}[36m" + text + "\u{1B}[0m"
        }
    }

    public func bold(_ text: String) -> String {
        colors ? "\u{1B}[1m" + text + "\u{1B}[0m" : text
    }

    public func dim(_ text: String) -> String {
        colors ? "\u{1B}[2m" + text + "\u{1B}[0m" : text
    }
}
