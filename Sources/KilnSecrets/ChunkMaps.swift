import CSecretScan

/// The marks the C classifier (`CSecretScan`: SSE2, NEON or plain C) puts on a span of the input,
/// one bit per byte: newlines, possible token starts, JSON's strings and structure, and what a
/// key is read by; and the lines that may hold a finding, so the scanner passes over the others
/// and its loops jump from mark to mark instead of looking at every byte. Spans are at most
/// ``span`` bytes: the ten maps take a fixed 80 KiB however large a chunk is.
final class ChunkMaps {
    /// The most bytes classified at once.
    static let span = 65_536
    private static let words = span / 64

    let newlines: UnsafeMutablePointer<UInt64>
    let tokens: UnsafeMutablePointer<UInt64>
    let stringStops: UnsafeMutablePointer<UInt64>
    let structure: UnsafeMutablePointer<UInt64>
    /// The first byte of each line that may hold a finding (``markLines(_:mode:)``).
    let lines: UnsafeMutablePointer<UInt64>
    private let blanks: UnsafeMutablePointer<UInt64>
    private let keyStops: UnsafeMutablePointer<UInt64>
    private let alphanumerics: UnsafeMutablePointer<UInt64>
    private let separators: UnsafeMutablePointer<UInt64>
    private let markup: UnsafeMutablePointer<UInt64>
    private var maps: kiln_secret_maps

    init() {
        newlines = .allocate(capacity: Self.words)
        tokens = .allocate(capacity: Self.words)
        stringStops = .allocate(capacity: Self.words)
        structure = .allocate(capacity: Self.words)
        lines = .allocate(capacity: Self.words)
        blanks = .allocate(capacity: Self.words)
        keyStops = .allocate(capacity: Self.words)
        alphanumerics = .allocate(capacity: Self.words)
        separators = .allocate(capacity: Self.words)
        markup = .allocate(capacity: Self.words)
        maps = kiln_secret_maps(newlines: newlines, tokens: tokens, json_string_stops: nil, json_structure: nil,
                                blanks: nil, key_stops: nil, alphanumerics: nil, separators: nil, markup: nil)
    }

    deinit {
        for map in [newlines, tokens, stringStops, structure, lines, blanks, keyStops, alphanumerics, separators, markup] { map.deallocate() }
    }

    /// Classifies `bytes` (at most ``span``) and marks its lines that may hold a finding:
    /// `json` when the JSON lexer reads the input (strings and structure for it; lines matter
    /// only for tokens), else keys are read at the lines' starts (as YAML when `yaml`, and XML's
    /// names when `xml`).
    func classify(_ bytes: UnsafeBufferPointer<UInt8>, json: Bool, xml: Bool, yaml: Bool) {
        precondition(bytes.count <= Self.span)
        guard let base = bytes.baseAddress else { return }
        maps.json_string_stops = json ? stringStops : nil
        maps.json_structure = json ? structure : nil
        maps.blanks = json ? nil : blanks
        maps.key_stops = json ? nil : keyStops
        maps.alphanumerics = json ? nil : alphanumerics
        maps.separators = json ? nil : separators
        maps.markup = json || !xml ? nil : markup
        kiln_secret_classify(base, bytes.count, &maps)
        let mode = json ? KILN_SECRET_LINES_TOKENS : xml ? KILN_SECRET_LINES_XML : yaml ? KILN_SECRET_LINES_YAML : KILN_SECRET_LINES_KEYS
        kiln_secret_mark_lines(base, bytes.count, &maps, mode, lines)
    }

    /// The first marked position in `from..<to` of `map`, or `to`.
    @inline(__always) static func first(_ map: UnsafeMutablePointer<UInt64>, from: Int, to: Int) -> Int {
        guard from < to else { return to }
        var word = from &>> 6
        var bits = map[word] & (~UInt64(0) &<< UInt64(from & 63))
        let last = (to - 1) &>> 6
        while bits == 0 {
            word += 1
            guard word <= last else { return to }
            bits = map[word]
        }
        return min(word &<< 6 + bits.trailingZeroBitCount, to)
    }

    /// How many positions of `from..<to` are marked in `map`.
    @inline(__always) static func count(_ map: UnsafeMutablePointer<UInt64>, from: Int, to: Int) -> Int {
        guard from < to else { return 0 }
        let first = from &>> 6
        let last = (to - 1) &>> 6
        var total = 0
        for word in first...last {
            var bits = map[word]
            if word == first { bits &= ~UInt64(0) &<< UInt64(from & 63) }
            if word == last { bits &= ~UInt64(0) &>> UInt64(63 - ((to - 1) & 63)) }
            total += bits.nonzeroBitCount
        }
        return total
    }

    /// The first position in `from..<to` marked in either map, or `to`.
    @inline(__always) static func first(_ map: UnsafeMutablePointer<UInt64>, or other: UnsafeMutablePointer<UInt64>, from: Int, to: Int) -> Int {
        guard from < to else { return to }
        var word = from &>> 6
        var bits = (map[word] | other[word]) & (~UInt64(0) &<< UInt64(from & 63))
        let last = (to - 1) &>> 6
        while bits == 0 {
            word += 1
            guard word <= last else { return to }
            bits = map[word] | other[word]
        }
        return min(word &<< 6 + bits.trailingZeroBitCount, to)
    }
}
