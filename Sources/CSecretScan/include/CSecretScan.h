#ifndef KILN_C_SECRET_SCAN_H
#define KILN_C_SECRET_SCAN_H
#include <stddef.h>
#include <stdint.h>

// Byte classification for KilnSecrets' scanner: one pass over a chunk marks, 64 positions per
// word (bit i of word w is position 64 * w + i), the bytes the scanner's loops look for, so they
// jump from mark to mark instead of looking at every byte. SSE2 on x86_64, NEON on arm64, plain
// C elsewhere; every path gives the same bits. Reads only text[0 ..< count].

/// The maps to fill, each of (count + 63) / 64 words. newlines and tokens are always filled;
/// a NULL map of the others is not computed.
typedef struct {
    /// '\n'.
    uint64_t *newlines;
    /// Where a token rule may start: a byte pair that starts a rule (`--`, `gh`, `ey`, `AK`, ...,
    /// see kiln_secret_starts_token_rule) at the start of a run of at least four token bytes
    /// (letters, digits, `_`, `-`; the chunk's first byte counts as a start), and each `:/`.
    uint64_t *tokens;
    /// '"', '\\', '\n': where a JSON string's plain run ends.
    uint64_t *json_string_stops;
    /// ':', ',', '{', '}', '[', ']': JSON's structure outside strings.
    uint64_t *json_structure;
    /// ' ', '\t'.
    uint64_t *blanks;
    /// ' ', '\t', '=', ':': where a key may end.
    uint64_t *key_stops;
    /// Letters and digits.
    uint64_t *alphanumerics;
    /// '.', '_', '-': where a key's segments part.
    uint64_t *separators;
    /// '=', '<': where XML's attributes and elements may be.
    uint64_t *markup;
} kiln_secret_maps;

/// Fills the maps for text[0 ..< count] with the fastest code this machine has.
void kiln_secret_classify(const uint8_t *text, size_t count, const kiln_secret_maps *maps);

/// The same with plain C, byte by byte (the reference the vector code is tested against).
void kiln_secret_classify_portable(const uint8_t *text, size_t count, const kiln_secret_maps *maps);

/// Whether the pair (first, second) starts a token rule: the one list of these pairs.
int kiln_secret_starts_token_rule(uint8_t first, uint8_t second);

/// How kiln_secret_mark_lines reads a line beyond its token marks.
typedef enum {
    /// Token marks only (JSON, whose keys the scanner's lexer reads).
    KILN_SECRET_LINES_TOKENS = 0,
    /// `key = value`, `key: value`, `export KEY=value`, `- key: value` (properties, .env, INI,
    /// TOML, YAML): the key at the line's start.
    KILN_SECRET_LINES_KEYS = 1,
    /// The key at the start and XML's `name="value"` attributes and `<name>` elements.
    KILN_SECRET_LINES_XML = 2,
    /// The key at the start, read as YAML (whose value may be a block scalar below).
    KILN_SECRET_LINES_YAML = 3,
} kiln_secret_line_mode;

/// Marks in `lines` ((count + 63) / 64 words) the first byte of each line of text[0 ..< count]
/// the scanner has to read: a line with a token mark, a line whose key may name a secret
/// (SecretNames.noun(forKey:), which this mirrors: it never leaves out a key the scanner would
/// take) with a value that may be one (not a placeholder: Placeholder.isPlaceholder, mirrored
/// too), in XML a line with an attribute or element whose name may name a secret, and the last
/// line when no newline ends it. Every other line holds nothing the scanner finds. The maps' newlines and tokens
/// come from kiln_secret_classify on the same text, and with them (for KEYS and XML) blanks,
/// key_stops, alphanumerics, separators and markup (each line is then read byte by byte
/// without them).
void kiln_secret_mark_lines(const uint8_t *text, size_t count, const kiln_secret_maps *maps, kiln_secret_line_mode mode, uint64_t *lines);

/// Whether a key may name a secret (0: SecretNames.noun(forKey:) certainly returns nil).
int kiln_secret_key_may_name_secret(const uint8_t *key, size_t count);

/// Which code kiln_secret_classify runs: "sse2", "neon" or "portable".
const char *kiln_secret_classifier(void);

#endif
