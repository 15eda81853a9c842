/// Whether text is an IP address as Go's `net.ParseIP` reads one (through `netip.ParseAddr`,
/// without a zone): dotted IPv4 with no leading zeros, or IPv6 with at most one `::` and an
/// optional dotted IPv4 tail. EXPOSE checks the address part of `IP:HOST:PORT` with it, as
/// BuildKit does (`localhost:80:80` is refused); nothing is resolved or connected.
enum IPAddressText {
    static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "."): return isIPv4(bytes[...])
            case UInt8(ascii: ":"): return isIPv6(bytes[...])
            case UInt8(ascii: "%"): return false
            default: continue
            }
        }
        return false
    }

    /// Four decimal fields 0-255, none empty, none with a leading zero.
    private static func isIPv4(_ bytes: ArraySlice<UInt8>) -> Bool {
        let fields = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard fields.count == 4 else { return false }
        for field in fields {
            guard (1...3).contains(field.count), field.allSatisfy({ (48...57).contains($0) }) else { return false }
            if field.count > 1, field.first == UInt8(ascii: "0") { return false }
            guard field.reduce(0, { $0 * 10 + Int($1 - 48) }) <= 255 else { return false }
        }
        return true
    }

    /// Eight 16-bit hex fields, `::` standing for one or more zero fields once, the last two
    /// fields possibly written as dotted IPv4. No zone (`%eth0`).
    private static func isIPv6(_ input: ArraySlice<UInt8>) -> Bool {
        guard !input.contains(UInt8(ascii: "%")) else { return false }
        var rest = input
        var fields = 0
        var ellipsis = false
        if rest.starts(with: [UInt8(ascii: ":"), UInt8(ascii: ":")]) {
            ellipsis = true
            rest = rest.dropFirst(2)
            if rest.isEmpty { return true }
        }
        while fields < 8 {
            var digits = 0
            for byte in rest {
                guard isHex(byte) else { break }
                digits += 1
                if digits > 4 { return false }
            }
            guard digits > 0 else { return false }
            if digits < rest.count, rest[rest.startIndex + digits] == UInt8(ascii: ".") {
                // An IPv4 tail takes the last two fields.
                guard ellipsis || fields == 6, fields + 2 <= 8, isIPv4(rest) else { return false }
                fields += 2
                rest = []
                break
            }
            fields += 1
            rest = rest.dropFirst(digits)
            if rest.isEmpty { break }
            guard rest.first == UInt8(ascii: ":"), rest.count > 1 else { return false }
            rest = rest.dropFirst()
            if rest.first == UInt8(ascii: ":") {
                guard !ellipsis else { return false }
                ellipsis = true
                rest = rest.dropFirst()
                if rest.isEmpty { break }
            }
        }
        guard rest.isEmpty else { return false }
        return ellipsis ? fields < 8 : fields == 8
    }

    private static func isHex(_ byte: UInt8) -> Bool {
        (48...57).contains(byte) || (65...70).contains(byte) || (97...102).contains(byte)
    }
}
