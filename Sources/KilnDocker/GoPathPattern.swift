/// Go's `path.Match`, which Docker's `reference=` filter uses: `*` any run of characters but
/// `/`, `?` one such character, `[...]` a class (`^` negates, ranges with `-`), `\` escapes.
/// A malformed pattern matches nothing.
enum GoPathPattern {
    static func matches(_ pattern: String, _ name: String) -> Bool {
        match(Array(pattern.unicodeScalars), 0, Array(name.unicodeScalars), 0)
    }

    private static func match(_ p: [Unicode.Scalar], _ pi: Int, _ s: [Unicode.Scalar], _ si: Int) -> Bool {
        var pi = pi, si = si
        while pi < p.count {
            switch p[pi] {
            case "*":
                // Any run without '/', tried shortest first; star runs collapse.
                var next = pi
                while next < p.count, p[next] == "*" { next += 1 }
                var end = si
                while true {
                    if match(p, next, s, end) { return true }
                    guard end < s.count, s[end] != "/" else { return false }
                    end += 1
                }
            case "?":
                guard si < s.count, s[si] != "/" else { return false }
                pi += 1; si += 1
            case "[":
                guard si < s.count, s[si] != "/", let (matched, after) = matchClass(p, pi + 1, s[si]), matched else { return false }
                pi = after; si += 1
            case "\\":
                guard pi + 1 < p.count, si < s.count, s[si] == p[pi + 1] else { return false }
                pi += 2; si += 1
            default:
                guard si < s.count, s[si] == p[pi] else { return false }
                pi += 1; si += 1
            }
        }
        return si == s.count
    }

    /// Whether `c` is in the class starting at `start` (after `[`), and where the class ends;
    /// `nil` for a malformed class.
    private static func matchClass(_ p: [Unicode.Scalar], _ start: Int, _ c: Unicode.Scalar) -> (Bool, Int)? {
        var i = start
        var negated = false
        if i < p.count, p[i] == "^" { negated = true; i += 1 }
        var found = false
        var first = true
        while i < p.count {
            if p[i] == "]", !first { return (found != negated, i + 1) }
            first = false
            var low = p[i]
            if low == "\\" { i += 1; guard i < p.count else { return nil }; low = p[i] }
            i += 1
            var high = low
            if i + 1 < p.count, p[i] == "-", p[i + 1] != "]" {
                high = p[i + 1]
                if high == "\\" { guard i + 2 < p.count else { return nil }; high = p[i + 2]; i += 1 }
                i += 2
            }
            if low.value <= c.value, c.value <= high.value { found = true }
        }
        return nil
    }
}
