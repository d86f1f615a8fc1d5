#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

#if canImport(Glibc)
    private let systemWrite = Glibc.write
#else
    private let systemWrite = Darwin.write
#endif

/// The only code that knows about the terminal: its width, and where text goes.
enum Terminal {
    /// Columns of the terminal on stdout, or `COLUMNS`, or nil when not a terminal.
    static func width() -> Int? {
        var size = winsize()
        if isatty(STDOUT_FILENO) != 0, ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 {
            return Int(size.ws_col)
        }
        if let columns = getenv("COLUMNS").flatMap({ Int(String(cString: $0)) }), columns > 0 { return columns }
        return nil
    }

    static func write(_ text: String) {
        write(text, to: STDOUT_FILENO)
    }

    static func write(bytes: UnsafeRawBufferPointer) {
        writeAll(bytes, to: STDOUT_FILENO)
    }

    static func writeError(_ text: String) {
        write(text, to: STDERR_FILENO)
    }

    static func isTerminal(_ descriptor: Int32) -> Bool { isatty(descriptor) != 0 }

    /// A one-line note on standard error (what was written where).
    static func note(_ message: String) {
        write("smtp-trace: \(message)\n", to: STDERR_FILENO)
    }

    static func error(_ message: String) {
        write("smtp-trace: \(message)\n", to: STDERR_FILENO)
    }

    static func warning(_ message: String) {
        write("smtp-trace: warning: \(message)\n", to: STDERR_FILENO)
    }

    private static func write(_ text: String, to descriptor: Int32) {
        var text = text
        text.withUTF8 { writeAll(UnsafeRawBufferPointer($0), to: descriptor) }
    }

    /// Writes every byte, looping over short writes; gives up quietly if the descriptor fails
    /// (a closed pipe: the reader has gone, there is nobody left to tell).
    private static func writeAll(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32) {
        guard var base = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = systemWrite(descriptor, base, left)
            if n <= 0 { return }
            base += n
            left -= n
        }
    }
}
