import KilnPlatform

/// A time as UTC calendar fields, computed with `gmtime_r` so neither `TZ` nor the locale can
/// change it. Image configs write RFC 3339 (`created`); AWS signatures the compact form.
public struct UTCTime: Sendable, Equatable {
    public let year, month, day, hour, minute, second: Int32

    /// The calendar fields of `seconds` since the epoch.
    public init(_ seconds: Int64) {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        (year, month, day) = (parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday)
        (hour, minute, second) = (parts.tm_hour, parts.tm_min, parts.tm_sec)
    }

    private static func pad(_ value: Int32, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }

    /// `20150830`
    public var compactDate: String { Self.pad(year, 4) + Self.pad(month, 2) + Self.pad(day, 2) }

    /// `20150830T123600Z`
    public var compactDateTime: String { compactDate + "T" + Self.pad(hour, 2) + Self.pad(minute, 2) + Self.pad(second, 2) + "Z" }

    /// `2015-08-30T12:36:00Z`
    public var rfc3339: String {
        "\(Self.pad(year, 4))-\(Self.pad(month, 2))-\(Self.pad(day, 2))T\(Self.pad(hour, 2)):\(Self.pad(minute, 2)):\(Self.pad(second, 2))Z"
    }
}
