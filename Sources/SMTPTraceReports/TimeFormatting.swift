import SMTPTraceCapture

/// Capture timestamps as text, always in UTC so that a report reads the same everywhere.
public enum TimeFormatting {
    /// Octets of an RFC 3339 timestamp with microseconds.
    public static let rfc3339Length = 27

    /// Writes RFC 3339 with microseconds, `2009-10-05T06:06:07.492060Z` (27 octets), at `out`,
    /// in place: the JSON output formats one per command and reply, and interpolation costs a
    /// dozen small strings each. The date, hour and minute digit by digit (the JSON writer keeps
    /// them for the rest of the minute), the second and microseconds by pairs.
    public static func writeRFC3339(_ t: CaptureTimestamp, to out: UnsafeMutablePointer<UInt8>) {
        let (year, month, day, rest) = civilFields(t.seconds)
        func put(_ value: Int, _ width: Int, at offset: Int) {
            var v = value
            for i in stride(from: width - 1, through: 0, by: -1) {
                out[offset + i] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
            }
        }
        put(year, 4, at: 0); out[4] = UInt8(ascii: "-")
        put(month, 2, at: 5); out[7] = UInt8(ascii: "-")
        put(day, 2, at: 8); out[10] = UInt8(ascii: "T")
        put(rest / 3600, 2, at: 11); out[13] = UInt8(ascii: ":")
        put(rest % 3600 / 60, 2, at: 14); out[16] = UInt8(ascii: ":")
        out[19] = UInt8(ascii: ".")
        writeSecondAndMicroseconds(second: rest % 60, nanoseconds: t.nanoseconds, to: out)
        out[26] = UInt8(ascii: "Z")
    }

    /// The second of the minute (0...59) and the six microsecond digits of an RFC 3339
    /// timestamp written at `out` (octets 17–18 and 20–25), the part that changes within a
    /// minute: also what the JSON writer writes over a cached minute. The microseconds are the
    /// fraction's low six digits: a damaged record's fraction field can exceed a second (up to
    /// 4.29 s).
    @inline(__always)
    static func writeSecondAndMicroseconds(second: Int, nanoseconds: UInt32, to out: UnsafeMutablePointer<UInt8>) {
        let micros = Int(nanoseconds / 1000) % 1_000_000
        DecimalDigits.writePair(second, to: out + 17)
        DecimalDigits.writePair(micros / 10_000, to: out + 20)
        DecimalDigits.writePair(micros / 100 % 100, to: out + 22)
        DecimalDigits.writePair(micros % 100, to: out + 24)
    }

    /// For tables: `2009-10-05 06:06:07.492`.
    public static func display(_ t: CaptureTimestamp) -> String {
        let (date, time) = civil(t.seconds)
        return "\(date) \(time).\(pad(Int(t.nanoseconds / 1_000_000), 3))"
    }

    /// `0.531s`, `12.4s`, `2m05s`, `3h02m`, `4d03h`.
    public static func duration(_ seconds: Double) -> String {
        if seconds < 0 { return "-" + duration(-seconds) }
        if seconds < 10 { return String(format3(seconds)) + "s" }
        if seconds < 60 { return String(Double(Int(seconds * 10)) / 10) + "s" }
        let total = Int(seconds)
        if total < 3600 { return "\(total / 60)m\(pad(total % 60, 2))s" }
        if total < 86_400 { return "\(total / 3600)h\(pad(total % 3600 / 60, 2))m" }
        return "\(total / 86_400)d\(pad(total % 86_400 / 3600, 2))h"
    }

    public static func format3(_ value: Double) -> String {
        let thousandths = Int((value * 1000).rounded())
        return "\(thousandths / 1000).\(pad(thousandths % 1000, 3))"
    }

    static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    /// Year, month, day and seconds into the day: the days-from-civil inverse (Howard
    /// Hinnant's algorithm), no calendar or locale involved.
    static func civilFields(_ seconds: Int64) -> (year: Int, month: Int, day: Int, rest: Int) {
        var days = seconds / 86_400
        var rest = seconds % 86_400
        if rest < 0 {
            rest += 86_400
            days -= 1
        }
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        return (Int(min(max(year, 0), 9999)), Int(month), Int(day), Int(rest))
    }

    /// Date and time-of-day text for `display`.
    static func civil(_ seconds: Int64) -> (date: String, time: String) {
        let (year, month, day, rest) = civilFields(seconds)
        let date = "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
        let time = "\(pad(rest / 3600, 2)):\(pad(rest % 3600 / 60, 2)):\(pad(rest % 60, 2))"
        return (date, time)
    }
}
