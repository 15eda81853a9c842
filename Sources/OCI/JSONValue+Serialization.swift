extension JSONValue {
    /// Compact UTF-8 JSON for this value: no whitespace, keys in their stored order, numbers as
    /// written, strings escaped minimally. Deterministic: equal values give equal bytes.
    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        write(into: &out)
        return out
    }

    /// Indented UTF-8 JSON for files people review (kiln.lock): two spaces per level,
    /// `"key": value`, one member or element per line, keys in their stored order. Byte for byte
    /// the same on every platform (Foundation's pretty printer is not).
    public func prettySerialized() -> [UInt8] {
        var out: [UInt8] = []
        writePretty(into: &out, depth: 0)
        out.append(0x0A)
        return out
    }

    private func writePretty(into out: inout [UInt8], depth: Int) {
        func newline(_ level: Int) {
            out.append(0x0A)
            out.append(contentsOf: [UInt8](repeating: 0x20, count: 2 * level))
        }
        switch self {
        case .object(let members) where !members.isEmpty:
            out.append(UInt8(ascii: "{"))
            for (index, member) in members.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                newline(depth + 1)
                JSONValue.writeString(member.key, into: &out)
                out.append(contentsOf: [UInt8(ascii: ":"), 0x20])
                member.value.writePretty(into: &out, depth: depth + 1)
            }
            newline(depth)
            out.append(UInt8(ascii: "}"))
        case .array(let elements) where !elements.isEmpty:
            out.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                newline(depth + 1)
                element.writePretty(into: &out, depth: depth + 1)
            }
            newline(depth)
            out.append(UInt8(ascii: "]"))
        default:
            write(into: &out)
        }
    }

    /// This value with every object's members sorted by their keys' UTF-8 bytes (recursively).
    public func sortedByKeyBytes() -> JSONValue {
        switch self {
        case .object(let members):
            return .object(members.map { ($0.key, $0.value.sortedByKeyBytes()) }
                .sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) })
        case .array(let elements):
            return .array(elements.map { $0.sortedByKeyBytes() })
        default:
            return self
        }
    }

    private func write(into out: inout [UInt8]) {
        switch self {
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (index, member) in members.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                JSONValue.writeString(member.key, into: &out)
                out.append(UInt8(ascii: ":"))
                member.value.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                element.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .string(let text):
            JSONValue.writeString(text, into: &out)
        case .number(let literal):
            out.append(contentsOf: Array(literal.utf8))
        case .bool(let flag):
            out.append(contentsOf: Array((flag ? "true" : "false").utf8))
        case .null:
            out.append(contentsOf: Array("null".utf8))
        }
    }

    private static func writeString(_ text: String, into out: inout [UInt8]) {
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case 0x22: out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x00..<0x20:
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default:
                out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
