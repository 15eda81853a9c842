/// Values that stand for a secret supplied later, which are not secrets themselves: empty,
/// `${VAR}` (with defaults, nested), `$VAR`, `{{ … }}`, `%(x)s`, `<…>`, `***`, `null` and the
/// other spellings of nothing or of a flag.
enum Placeholder {
    // Generic over the bytes' collection (an array's slice, a slice of the scanned buffer, with
    // absolute indices) so the scanner checks a value where it lies, without copying it.
    /// Whether `value` (quotes already removed) is nothing but placeholders and blanks.
    static func isPlaceholder<Bytes: RandomAccessCollection>(_ value: Bytes) -> Bool where Bytes.Element == UInt8, Bytes.Index == Int, Bytes.SubSequence == Bytes {
        let trimmed = trim(value)
        if trimmed.isEmpty { return true }
        if isWord(trimmed) { return true }
        if trimmed.allSatisfy({ $0 == UInt8(ascii: "*") }) { return true }
        if trimmed.first == UInt8(ascii: "<"), trimmed.last == UInt8(ascii: ">"), !trimmed.dropFirst().dropLast().contains(UInt8(ascii: "<")) { return true }
        // Everything else must be placeholder constructs end to end: `${A}${B}`, `{{ x }}`.
        var index = trimmed.startIndex
        while index < trimmed.endIndex {
            guard let next = construct(in: trimmed, at: index) else { return false }
            index = next
            while index < trimmed.endIndex, isBlank(trimmed[index]) { index += 1 }
        }
        return true
    }

    /// The end of the placeholder construct starting at `index`, or `nil` when none starts there.
    /// Linear: each construct is scanned once, nesting is counted, not recursed into.
    private static func construct<Bytes: RandomAccessCollection>(in bytes: Bytes, at index: Int) -> Int? where Bytes.Element == UInt8, Bytes.Index == Int {
        let byte = bytes[index]
        let next = index + 1 < bytes.endIndex ? bytes[index + 1] : 0
        if byte == UInt8(ascii: "$"), next == UInt8(ascii: "{") { return closing(bytes, from: index + 2, open: UInt8(ascii: "{"), close: UInt8(ascii: "}")) }
        if byte == UInt8(ascii: "$"), next == UInt8(ascii: "(") { return closing(bytes, from: index + 2, open: UInt8(ascii: "("), close: UInt8(ascii: ")")) }
        if byte == UInt8(ascii: "$"), isNameStart(next) {
            var end = index + 2
            while end < bytes.endIndex, isNameByte(bytes[end]) { end += 1 }
            return end
        }
        if byte == UInt8(ascii: "{"), next == UInt8(ascii: "{") {
            var end = index + 2
            while end + 1 < bytes.endIndex {
                if bytes[end] == UInt8(ascii: "}"), bytes[end + 1] == UInt8(ascii: "}") { return end + 2 }
                end += 1
            }
            return nil
        }
        if byte == UInt8(ascii: "%"), next == UInt8(ascii: "(") {
            guard let end = closing(bytes, from: index + 2, open: UInt8(ascii: "("), close: UInt8(ascii: ")")), end < bytes.endIndex,
                  isNameStart(bytes[end]) else { return nil }
            return end + 1
        }
        return nil
    }

    /// A password in a URL that is a name in capitals (`postgres://USER:PASSWORD@HOST/DB`,
    /// `:DB_PASSWORD@`): how documentation writes where a value goes, not a value.
    static func isNameInCapitals<Bytes: RandomAccessCollection>(_ value: Bytes) -> Bool where Bytes.Element == UInt8 {
        !value.isEmpty && value.count <= 40 && value.contains(where: { (65...90).contains($0) })
            && value.allSatisfy { (65...90).contains($0) || (48...57).contains($0) || $0 == UInt8(ascii: "_") }
    }

    private static func closing<Bytes: RandomAccessCollection>(_ bytes: Bytes, from start: Int, open: UInt8, close: UInt8) -> Int? where Bytes.Element == UInt8, Bytes.Index == Int {
        var depth = 1
        var index = start
        while index < bytes.endIndex {
            if bytes[index] == open { depth += 1 }
            if bytes[index] == close {
                depth -= 1
                if depth == 0 { return index + 1 }
            }
            index += 1
        }
        return nil
    }

    /// null, none, nil, ~, true, false, yes, no, on, off: no secret is spelled like that.
    private static let words: [[UInt8]] = ["null", "none", "nil", "~", "true", "false", "yes", "no", "on", "off", "\"\"", "''"].map { Array($0.utf8) }

    private static func isWord<Bytes: RandomAccessCollection>(_ bytes: Bytes) -> Bool where Bytes.Element == UInt8 {
        guard bytes.count <= 5 else { return false }
        return words.contains { word in
            word.count == bytes.count && zip(word, bytes).allSatisfy { $0 == (($1 >= 65 && $1 <= 90) ? $1 + 32 : $1) }
        }
    }

    static func trim<Bytes: RandomAccessCollection>(_ value: Bytes) -> Bytes where Bytes.Element == UInt8, Bytes.Index == Int, Bytes.SubSequence == Bytes {
        var start = value.startIndex
        var end = value.endIndex
        while start < end, isBlank(value[start]) { start += 1 }
        while end > start, isBlank(value[end - 1]) { end -= 1 }
        return value[start..<end]
    }

    static func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0D }
    static func isNameStart(_ byte: UInt8) -> Bool { byte == UInt8(ascii: "_") || (65...90).contains(byte) || (97...122).contains(byte) }
    static func isNameByte(_ byte: UInt8) -> Bool { isNameStart(byte) || (48...57).contains(byte) }
}
