#include "CSecretScan.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <emmintrin.h>
#define KILN_SSE2 1
#elif defined(__aarch64__) || defined(_M_ARM64)
#include <arm_neon.h>
#define KILN_NEON 1
#endif

// MARK: - Token rule pairs

// The second bytes that complete a pair, per first byte, as a 128-bit set (every second byte is
// ASCII): bit b of low for b < 64, bit b - 64 of high.
typedef struct {
    uint64_t low, high;
} byte_set;

#define B(c) ((uint64_t)((c) < 64) << ((c) & 63))
#define H(c) ((uint64_t)((c) >= 64 && (c) < 128) << ((c) & 63))
#define SET1(a) {B(a), H(a)}
#define SET2(a, b) {B(a) | B(b), H(a) | H(b)}
#define SET3(a, b, c) {B(a) | B(b) | B(c), H(a) | H(b) | H(c)}
#define SET6(a, b, c, d, e, f) {B(a) | B(b) | B(c) | B(d) | B(e) | B(f), H(a) | H(b) | H(c) | H(d) | H(e) | H(f)}

// `-----BEGIN`, `PuTTY`, AWS ids (AKIA ASIA ABIA ACCA A3T) and Google's `AIza`, `GOCSPX-`,
// `GR1348941`, GitHub `gh?_` and GitLab `gl*-`, Slack `xox?-`, Stripe `sk_`/`rk_`, `npm_`,
// `pypi-`, JWTs `eyJ`, and a URL's `://`.
static const byte_set second_bytes[256] = {
    ['-'] = SET1('-'),
    ['P'] = SET1('u'),
    ['A'] = SET6('K', 'S', 'B', 'C', '3', 'I'),
    ['G'] = SET2('O', 'R'),
    ['g'] = SET3('h', 'i', 'l'),
    ['x'] = SET1('o'),
    ['s'] = SET1('k'),
    ['r'] = SET1('k'),
    ['n'] = SET1('p'),
    ['p'] = SET1('y'),
    ['e'] = SET1('y'),
    [':'] = SET1('/'),
};

static inline int starts_rule(uint8_t first, uint8_t second) {
    const byte_set set = second_bytes[first];
    uint64_t word = second < 64 ? set.low : set.high;
    return second < 128 && ((word >> (second & 63)) & 1);
}

int kiln_secret_starts_token_rule(uint8_t first, uint8_t second) { return starts_rule(first, second); }

// MARK: - 64 bytes at a time

// The classes of 64 bytes, bit i for byte i.
typedef struct {
    uint64_t newline, run, colon, slash, string_stop, structure, blank, key_stop, alphanumeric, separator, markup;
} classes;

// Which classes a caller needs beyond newlines and token starts (the vector code computes only
// those: each specialisation below is compiled with constant flags).
enum { WANT_JSON = 1, WANT_KEYS = 2 };

#if defined(__GNUC__) || defined(__clang__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

// A mask as the compiler must take it: clang otherwise merges the masks of a block's halves
// into one 64-lane vector of booleans and takes that apart byte by byte (ten times slower).
static ALWAYS_INLINE uint64_t opaque(uint64_t mask) {
#if defined(__GNUC__) || defined(__clang__)
    __asm__("" : "+r"(mask));
#endif
    return mask;
}

static inline int is_run(uint8_t byte) {
    return (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z') || (byte >= '0' && byte <= '9') || byte == '_' || byte == '-';
}

static void classify_portable(const uint8_t *bytes, size_t count, classes *out) {
    classes c = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    for (size_t i = 0; i < count; i++) {
        uint8_t byte = bytes[i];
        uint64_t bit = 1ull << i;
        if (byte == '\n') c.newline |= bit;
        if (is_run(byte)) c.run |= bit;
        if (byte == ':') c.colon |= bit;
        if (byte == '/') c.slash |= bit;
        if (byte == '"' || byte == '\\' || byte == '\n') c.string_stop |= bit;
        if (byte == ' ' || byte == '\t') c.blank |= bit;
        if (byte == ' ' || byte == '\t' || byte == '=' || byte == ':') c.key_stop |= bit;
        if (is_run(byte) && byte != '_' && byte != '-') c.alphanumeric |= bit;
        if (byte == '.' || byte == '_' || byte == '-') c.separator |= bit;
        if (byte == '=' || byte == '<') c.markup |= bit;
        if (byte == ':' || byte == ',' || byte == '{' || byte == '}' || byte == '[' || byte == ']') c.structure |= bit;
    }
    *out = c;
}

#if KILN_SSE2
// 16 bytes: each class as 16 bits (pmovmskb).
static ALWAYS_INLINE void classify16(__m128i v, unsigned shift, classes *c, const int want) {
#define EQ(ch) _mm_cmpeq_epi8(v, _mm_set1_epi8((char)(ch)))
#define BITS(x) (opaque((uint16_t)_mm_movemask_epi8(x)) << shift)
    // Letters: (byte | 0x20) in 'a'...'z'; digits: '0'...'9'. Each range moved to the bottom of
    // the signed bytes (-128 ...) and compared signed: SSE2 has no unsigned compare.
    __m128i lower = _mm_or_si128(v, _mm_set1_epi8(0x20));
    __m128i letter = _mm_cmplt_epi8(_mm_add_epi8(lower, _mm_set1_epi8((char)(0x80 - 'a'))), _mm_set1_epi8((char)(-128 + 26)));
    __m128i digit = _mm_cmplt_epi8(_mm_add_epi8(v, _mm_set1_epi8((char)(0x80 - '0'))), _mm_set1_epi8((char)(-128 + 10)));
    __m128i newline = EQ('\n');
    __m128i colon = EQ(':');
    c->newline |= BITS(newline);
    __m128i alphanumeric = _mm_or_si128(letter, digit);
    __m128i underscore_dash = _mm_or_si128(EQ('_'), EQ('-'));
    c->run |= BITS(_mm_or_si128(alphanumeric, underscore_dash));
    if (want & WANT_KEYS) {
        __m128i blank = _mm_or_si128(EQ(' '), EQ('\t'));
        c->blank |= BITS(blank);
        __m128i equals = EQ('=');
        c->key_stop |= BITS(_mm_or_si128(_mm_or_si128(blank, equals), EQ(':')));
        c->markup |= BITS(_mm_or_si128(equals, EQ('<')));
        c->alphanumeric |= BITS(alphanumeric);
        c->separator |= BITS(_mm_or_si128(underscore_dash, EQ('.')));
    }
    c->colon |= BITS(colon);
    c->slash |= BITS(EQ('/'));
    if (want & WANT_JSON) {
        c->string_stop |= BITS(_mm_or_si128(_mm_or_si128(EQ('"'), EQ('\\')), newline));
        // '[' and ']' are '{' and '}' without bit 0x20 (and no other byte is).
        c->structure |= BITS(_mm_or_si128(_mm_or_si128(colon, EQ(',')), _mm_or_si128(_mm_cmpeq_epi8(lower, _mm_set1_epi8('{')), _mm_cmpeq_epi8(lower, _mm_set1_epi8('}')))));
    }
#undef EQ
#undef BITS
}

static ALWAYS_INLINE void classify_vector(const uint8_t *bytes, classes *out, const int want) {
    classes c = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    for (unsigned i = 0; i < 64; i += 16) classify16(_mm_loadu_si128((const __m128i *)(bytes + i)), i, &c, want);
    *out = c;
}
#define KILN_VECTOR "sse2"
#elif KILN_NEON
// 16 lanes of 0x00 or 0xFF to 16 bits: each lane keeps its own bit, pairwise adds gather them.
static inline uint64_t bits16(uint8x16_t lanes) {
    static const uint8_t weights[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
    uint8x16_t weighted = vandq_u8(lanes, vld1q_u8(weights));
    uint8x8_t low = vget_low_u8(weighted), high = vget_high_u8(weighted);
    return (uint64_t)vaddv_u8(low) | ((uint64_t)vaddv_u8(high) << 8);
}

static ALWAYS_INLINE void classify16(uint8x16_t v, unsigned shift, classes *c, const int want) {
#define EQ(ch) vceqq_u8(v, vdupq_n_u8((uint8_t)(ch)))
#define BITS(x) (opaque(bits16(x)) << shift)
    uint8x16_t lower = vorrq_u8(v, vdupq_n_u8(0x20));
    uint8x16_t letter = vcltq_u8(vsubq_u8(lower, vdupq_n_u8('a')), vdupq_n_u8(26));
    uint8x16_t digit = vcltq_u8(vsubq_u8(v, vdupq_n_u8('0')), vdupq_n_u8(10));
    uint8x16_t newline = EQ('\n');
    uint8x16_t colon = EQ(':');
    c->newline |= BITS(newline);
    uint8x16_t alphanumeric = vorrq_u8(letter, digit);
    uint8x16_t underscore_dash = vorrq_u8(EQ('_'), EQ('-'));
    c->run |= BITS(vorrq_u8(alphanumeric, underscore_dash));
    if (want & WANT_KEYS) {
        uint8x16_t blank = vorrq_u8(EQ(' '), EQ('\t'));
        c->blank |= BITS(blank);
        uint8x16_t equals = EQ('=');
        c->key_stop |= BITS(vorrq_u8(vorrq_u8(blank, equals), EQ(':')));
        c->markup |= BITS(vorrq_u8(equals, EQ('<')));
        c->alphanumeric |= BITS(alphanumeric);
        c->separator |= BITS(vorrq_u8(underscore_dash, EQ('.')));
    }
    c->colon |= BITS(colon);
    c->slash |= BITS(EQ('/'));
    if (want & WANT_JSON) {
        c->string_stop |= BITS(vorrq_u8(vorrq_u8(EQ('"'), EQ('\\')), newline));
        c->structure |= BITS(vorrq_u8(vorrq_u8(colon, EQ(',')), vorrq_u8(vceqq_u8(lower, vdupq_n_u8('{')), vceqq_u8(lower, vdupq_n_u8('}')))));
    }
#undef EQ
#undef BITS
}

static ALWAYS_INLINE void classify_vector(const uint8_t *bytes, classes *out, const int want) {
    classes c = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    for (unsigned i = 0; i < 64; i += 16) classify16(vld1q_u8(bytes + i), i, &c, want);
    *out = c;
}
#define KILN_VECTOR "neon"
#endif

// MARK: - Maps

// One word of the maps from the classes of its 64 bytes. Token starts: starts of runs (the
// byte before is no run byte) of at least four run bytes (the scanner looks no further at
// shorter runs), and colons before a slash (a colon in a word's last position is kept: its
// next byte is in the next word); then the pair there. Bits of the next word are taken as set:
// a superset, checked by the pair.
static ALWAYS_INLINE void store_word(const uint8_t *text, size_t count, const kiln_secret_maps *maps, size_t word, const classes *c,
                                     uint64_t *previous_run, const int want) {
    maps->newlines[word] = c->newline;
    if ((want & WANT_JSON) && maps->json_string_stops) maps->json_string_stops[word] = c->string_stop;
    if ((want & WANT_JSON) && maps->json_structure) maps->json_structure[word] = c->structure;
    if ((want & WANT_KEYS) && maps->blanks) maps->blanks[word] = c->blank;
    if ((want & WANT_KEYS) && maps->key_stops) maps->key_stops[word] = c->key_stop;
    if ((want & WANT_KEYS) && maps->alphanumerics) maps->alphanumerics[word] = c->alphanumeric;
    if ((want & WANT_KEYS) && maps->separators) maps->separators[word] = c->separator;
    if ((want & WANT_KEYS) && maps->markup) maps->markup[word] = c->markup;
    uint64_t run = c->run;
    uint64_t long_run = run & ((run >> 1) | (1ull << 63)) & ((run >> 2) | (3ull << 62)) & ((run >> 3) | (7ull << 61));
    uint64_t starts = (long_run & ~((run << 1) | *previous_run)) | (c->colon & ((c->slash >> 1) | (1ull << 63)));
    *previous_run = run >> 63;
    uint64_t marks = 0;
    while (starts) {
        unsigned bit = (unsigned)__builtin_ctzll(starts);
        starts &= starts - 1;
        size_t position = 64 * word + bit;
        if (position + 1 < count && starts_rule(text[position], text[position + 1])) marks |= 1ull << bit;
    }
    maps->tokens[word] = marks;
}

// The loop over a span's words with BLOCK classifying 64 bytes. The last, partial block is
// copied: nothing is read past the span's end (a zero byte is in no class).
#define CLASSIFY_LOOP(BLOCK)                                                     \
    do {                                                                         \
        uint64_t previous_run = 0;                                               \
        size_t words = (count + 63) / 64;                                        \
        for (size_t word = 0; word < words; word++) {                            \
            const uint8_t *bytes = text + 64 * word;                             \
            size_t length = count - 64 * word < 64 ? count - 64 * word : 64;     \
            classes c;                                                           \
            if (length == 64) {                                                  \
                BLOCK(bytes, &c, want);                                          \
            } else {                                                             \
                uint8_t tail[64] = {0};                                          \
                for (size_t i = 0; i < length; i++) tail[i] = bytes[i];          \
                BLOCK(tail, &c, want);                                           \
            }                                                                    \
            store_word(text, count, maps, word, &c, &previous_run, want);        \
        }                                                                        \
    } while (0)

static ALWAYS_INLINE void classify_block_portable(const uint8_t *bytes, classes *c, const int want) {
    (void)want;
    classify_portable(bytes, 64, c);
}

#ifdef KILN_VECTOR
static ALWAYS_INLINE void classify_vector_loop(const uint8_t *text, size_t count, const kiln_secret_maps *maps, const int want) {
    CLASSIFY_LOOP(classify_vector);
}
#endif

// (Linux only: __builtin_cpu_supports needs the compiler runtime's CPU model, which Linux
// toolchains link; an x86_64 Mac takes SSE2.)
#if KILN_SSE2 && defined(__linux__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define KILN_AVX2 1
// AVX2, when the processor has it (checked at run time): 32 bytes a step.
#define AVX2 __attribute__((target("avx2")))
static inline AVX2 __attribute__((always_inline)) void classify32(__m256i v, unsigned shift, classes *c, const int want) {
#define EQ(ch) _mm256_cmpeq_epi8(v, _mm256_set1_epi8((char)(ch)))
#define BITS(x) (opaque((uint32_t)_mm256_movemask_epi8(x)) << shift)
    __m256i lower = _mm256_or_si256(v, _mm256_set1_epi8(0x20));
    __m256i letter = _mm256_cmpgt_epi8(_mm256_set1_epi8((char)(-128 + 26)), _mm256_add_epi8(lower, _mm256_set1_epi8((char)(0x80 - 'a'))));
    __m256i digit = _mm256_cmpgt_epi8(_mm256_set1_epi8((char)(-128 + 10)), _mm256_add_epi8(v, _mm256_set1_epi8((char)(0x80 - '0'))));
    __m256i newline = EQ('\n');
    __m256i colon = EQ(':');
    c->newline |= BITS(newline);
    __m256i alphanumeric = _mm256_or_si256(letter, digit);
    __m256i underscore_dash = _mm256_or_si256(EQ('_'), EQ('-'));
    c->run |= BITS(_mm256_or_si256(alphanumeric, underscore_dash));
    c->colon |= BITS(colon);
    c->slash |= BITS(EQ('/'));
    if (want & WANT_KEYS) {
        __m256i blank = _mm256_or_si256(EQ(' '), EQ('\t'));
        c->blank |= BITS(blank);
        __m256i equals = EQ('=');
        c->key_stop |= BITS(_mm256_or_si256(_mm256_or_si256(blank, equals), colon));
        c->markup |= BITS(_mm256_or_si256(equals, EQ('<')));
        c->alphanumeric |= BITS(alphanumeric);
        c->separator |= BITS(_mm256_or_si256(underscore_dash, EQ('.')));
    }
    if (want & WANT_JSON) {
        c->string_stop |= BITS(_mm256_or_si256(_mm256_or_si256(EQ('"'), EQ('\\')), newline));
        c->structure |= BITS(_mm256_or_si256(_mm256_or_si256(colon, EQ(',')), _mm256_or_si256(_mm256_cmpeq_epi8(lower, _mm256_set1_epi8('{')), _mm256_cmpeq_epi8(lower, _mm256_set1_epi8('}')))));
    }
#undef EQ
#undef BITS
}

static inline AVX2 __attribute__((always_inline)) void classify_block_avx2(const uint8_t *bytes, classes *out, const int want) {
    classes c = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    classify32(_mm256_loadu_si256((const __m256i *)bytes), 0, &c, want);
    classify32(_mm256_loadu_si256((const __m256i *)(bytes + 32)), 32, &c, want);
    *out = c;
}

static AVX2 void classify_avx2_lines(const uint8_t *text, size_t count, const kiln_secret_maps *maps) { const int want = 0; CLASSIFY_LOOP(classify_block_avx2); }
static AVX2 void classify_avx2_json(const uint8_t *text, size_t count, const kiln_secret_maps *maps) { const int want = WANT_JSON; CLASSIFY_LOOP(classify_block_avx2); }
static AVX2 void classify_avx2_keys(const uint8_t *text, size_t count, const kiln_secret_maps *maps) { const int want = WANT_KEYS; CLASSIFY_LOOP(classify_block_avx2); }
static AVX2 void classify_avx2_all(const uint8_t *text, size_t count, const kiln_secret_maps *maps) { const int want = WANT_JSON | WANT_KEYS; CLASSIFY_LOOP(classify_block_avx2); }
#endif

// One copy of the loop per set of maps, each with only its own compares.
#ifdef KILN_VECTOR
static void classify_lines(const uint8_t *text, size_t count, const kiln_secret_maps *maps) { classify_vector_loop(text, count, maps, 0); }
static void classify_json(const uint8_t *text, size_t count, const kiln_secret_maps *maps) { classify_vector_loop(text, count, maps, WANT_JSON); }
static void classify_keys(const uint8_t *text, size_t count, const kiln_secret_maps *maps) { classify_vector_loop(text, count, maps, WANT_KEYS); }
static void classify_all(const uint8_t *text, size_t count, const kiln_secret_maps *maps) { classify_vector_loop(text, count, maps, WANT_JSON | WANT_KEYS); }
#endif

void kiln_secret_classify_portable(const uint8_t *text, size_t count, const kiln_secret_maps *maps) {
    const int want = WANT_JSON | WANT_KEYS;
    CLASSIFY_LOOP(classify_block_portable);
}

void kiln_secret_classify(const uint8_t *text, size_t count, const kiln_secret_maps *maps) {
    int json = maps->json_string_stops || maps->json_structure;
    int keys = maps->blanks || maps->key_stops || maps->alphanumerics || maps->separators || maps->markup;
#if KILN_AVX2
    if (__builtin_cpu_supports("avx2")) {
        if (json && keys) classify_avx2_all(text, count, maps);
        else if (json) classify_avx2_json(text, count, maps);
        else if (keys) classify_avx2_keys(text, count, maps);
        else classify_avx2_lines(text, count, maps);
        return;
    }
#endif
#ifdef KILN_VECTOR
    if (json && keys) classify_all(text, count, maps);
    else if (json) classify_json(text, count, maps);
    else if (keys) classify_keys(text, count, maps);
    else classify_lines(text, count, maps);
#else
    (void)json;
    (void)keys;
    kiln_secret_classify_portable(text, count, maps);
#endif
}

const char *kiln_secret_classifier(void) {
#if KILN_AVX2
    if (__builtin_cpu_supports("avx2")) return "avx2";
#endif
#ifdef KILN_VECTOR
    return KILN_VECTOR;
#else
    return "portable";
#endif
}

// MARK: - Lines

static inline int is_alphanumeric(uint8_t byte) {
    return (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z') || (byte >= '0' && byte <= '9');
}

static inline uint8_t lower(uint8_t byte) { return byte >= 'A' && byte <= 'Z' ? byte + 32 : byte; }

#define WORD4(a, b, c, d) ((uint32_t)(d) | (uint32_t)(c) << 8 | (uint32_t)(b) << 16 | (uint32_t)(a) << 24)

// SecretNames.endingsEndingLike(tail4) != nil: the last four letters and digits of a key that
// may end a secret word (or `pass`, `pw`, `pwd`, `_auth`).
static inline int ends_like_secret(uint32_t tail4) {
    switch (tail4) {
    case WORD4('s', 'k', 'e', 'y'): case WORD4('c', 'r', 'e', 't'): case WORD4('e', 'k', 'e', 'y'): case WORD4('r', 'a', 's', 'e'):
    case WORD4('i', 'a', 'l', 's'): case WORD4('t', 'i', 'a', 'l'): case WORD4('t', 'k', 'e', 'y'): case WORD4('w', 'o', 'r', 'd'):
    case WORD4('s', 's', 'w', 'd'): case WORD4('p', 'a', 's', 's'): case WORD4('i', 'k', 'e', 'y'): case WORD4('o', 'k', 'e', 'n'):
    case WORD4('a', 'u', 't', 'h'):
        return 1;
    default:
        return (tail4 & 0xFFFFFF) == 0x707764 || (tail4 & 0xFFFF) == 0x7077;
    }
}

// SecretNames.qualifiers, in any case (as SecretNames.isQualifier: lowercased and packed into a
// word, the last eight letters of a nine-letter one, its first compared alone).
static int is_qualifier(const uint8_t *segment, size_t length) {
    if (length < 3 || length > 9) return 0;
    // Most segments are told apart by their length and first letter.
    uint8_t initial = lower(segment[0]);
    switch (length) {
    case 3: if (initial != 'o' && initial != 'n' && initial != 'b') return 0; break;
    case 4: if (initial != 'p' && initial != 'n' && initial != 'o') return 0; break;
    case 5: case 9: if (initial != 'p' && initial != 'c') return 0; break;
    case 6: if (initial != 'b') return 0; break;
    case 7: if (initial != 'c') return 0; break;
    default: if (initial != 'p' && initial != 'o') return 0; break;
    }
    uint64_t packed = 0;
    size_t from = length == 9 ? 1 : 0;
    for (size_t i = from; i < length; i++) packed |= (uint64_t)lower(segment[i]) << (8 * (i - from));
    switch (length) {
    case 3: return packed == 0x646C6F || packed == 0x77656E || packed == 0x6B6162; // old new bak
    case 4: return packed == 0x76657270 || packed == 0x7478656E || packed == 0x6769726F; // prev next orig
    case 5: return packed == 0x6E69616C70; // plain
    case 6: return packed == 0x70756B636162; // backup
    case 7: return packed == 0x746E6572727563; // current
    case 8: return packed == 0x73756F6976657270 || packed == 0x6C616E696769726F; // previous original
    default: return (packed == 0x747865746E69616C && lower(segment[0]) == 'p') || (packed == 0x747865747261656C && lower(segment[0]) == 'c'); // plaintext cleartext
    }
}

// Mirrors SecretNames.noun(forKey:): 0 only where it returns nil. nounOfLastWord gives up on
// a key whose last four letters and digits end no secret word (endingsEndingLike); the
// qualified form (`password2`, `password_old`) is only tried after a trailing digit or a
// qualifier segment, and then this answers "may".
static inline int key_may_name(const uint8_t *key, size_t count) {
    if (count == 0) return 0;
    if (count > 256) return 1;
    // nounOfLastWord: the last four letters and digits, lowercased.
    size_t end = count;
    while (end > 0 && !is_alphanumeric(key[end - 1])) end--;
    if (end > 1) {
        uint32_t tail4 = 0;
        unsigned packed = 0;
        size_t index = end;
        while (index > 0 && packed < 4) {
            index--;
            if (!is_alphanumeric(key[index])) continue;
            tail4 |= (uint32_t)lower(key[index]) << (8 * packed);
            packed++;
        }
        if (ends_like_secret(tail4)) return 1;
    }
    // endWithoutQualifier: a trailing number, or a last segment that is a qualifier.
    uint8_t last = key[count - 1];
    if (last >= '0' && last <= '9') return 1;
    size_t start = count;
    while (start > 0 && count - start <= 9 && key[start - 1] != '.' && key[start - 1] != '_' && key[start - 1] != '-') start--;
    if (start > 0 && count - start >= 3 && count - start <= 9 && is_qualifier(key + start, count - start)) return 1;
    return 0;
}


int kiln_secret_key_may_name_secret(const uint8_t *key, size_t count) { return key_may_name(key, count); }

// MARK: - Values

static inline int is_blank(uint8_t byte) { return byte == ' ' || byte == '\t' || byte == '\r'; }
static inline int is_name_start(uint8_t byte) { return byte == '_' || (byte >= 'A' && byte <= 'Z') || (byte >= 'a' && byte <= 'z'); }
static inline int is_name_byte(uint8_t byte) { return is_name_start(byte) || (byte >= '0' && byte <= '9'); }

// Placeholder.closing: the end of a construct opened before `start`, nesting counted; 0 when
// it is not closed (a construct never ends at 0).
static size_t closing(const uint8_t *bytes, size_t start, size_t end, uint8_t open, uint8_t close) {
    size_t depth = 1;
    for (size_t index = start; index < end; index++) {
        if (bytes[index] == open) depth++;
        if (bytes[index] == close) {
            depth--;
            if (depth == 0) return index + 1;
        }
    }
    return 0;
}

// Placeholder.construct: the end of the placeholder starting at `index`, or 0.
static size_t construct(const uint8_t *bytes, size_t index, size_t end) {
    uint8_t byte = bytes[index];
    uint8_t next = index + 1 < end ? bytes[index + 1] : 0;
    if (byte == '$' && next == '{') return closing(bytes, index + 2, end, '{', '}');
    if (byte == '$' && next == '(') return closing(bytes, index + 2, end, '(', ')');
    if (byte == '$' && is_name_start(next)) {
        size_t after = index + 2;
        while (after < end && is_name_byte(bytes[after])) after++;
        return after;
    }
    if (byte == '{' && next == '{') {
        for (size_t after = index + 2; after + 1 < end; after++) {
            if (bytes[after] == '}' && bytes[after + 1] == '}') return after + 2;
        }
        return 0;
    }
    if (byte == '%' && next == '(') {
        size_t after = closing(bytes, index + 2, end, '(', ')');
        if (after == 0 || after >= end || !is_name_start(bytes[after])) return 0;
        return after + 1;
    }
    return 0;
}

// Placeholder.isPlaceholder on value[0 ..< count].
static int is_placeholder(const uint8_t *value, size_t count) {
    size_t start = 0, end = count;
    while (start < end && is_blank(value[start])) start++;
    while (end > start && is_blank(value[end - 1])) end--;
    size_t length = end - start;
    if (length == 0) return 1;
    if (length <= 5) {
        static const char *const words[] = {"null", "none", "nil", "~", "true", "false", "yes", "no", "on", "off", "\"\"", "''"};
        for (size_t w = 0; w < sizeof words / sizeof words[0]; w++) {
            size_t i = 0;
            while (i < length && words[w][i] && (uint8_t)words[w][i] == lower(value[start + i])) i++;
            if (i == length && !words[w][i]) return 1;
        }
    }
    size_t stars = start;
    while (stars < end && value[stars] == '*') stars++;
    if (stars == end) return 1;
    if (value[start] == '<' && value[end - 1] == '>') {
        int inner = 0;
        for (size_t i = start + 1; i + 1 < end; i++) inner |= value[i] == '<';
        if (!inner) return 1;
    }
    size_t index = start;
    while (index < end) {
        size_t next = construct(value, index, end);
        if (next == 0) return 0;
        index = next;
        while (index < end && is_blank(value[index])) index++;
    }
    return 1;
}

// Mirrors SecretScanner.scanAssignment after a key that may name a secret (the key ends at
// `index`; `quoted` when it was in quotes): 0 only where it finds nothing: no separator, a
// value that is not on the line (not in YAML, which may open a block scalar there), or a
// value that is a placeholder.
static int value_may_be_secret(const uint8_t *text, size_t count, size_t index, int quoted, int yaml) {
    while (index < count && (text[index] == ' ' || text[index] == '\t')) index++;
    if (index >= count) return 0;
    if (text[index] == ':') {
        if (!(quoted || index + 1 >= count || text[index + 1] == ' ' || text[index + 1] == '\t' || text[index + 1] == '=')) return 0;
        index++;
        if (index < count && text[index] == '=') index++;
    } else if (text[index] == '=') {
        index++;
    } else {
        return 0;
    }
    // SecretScanner.value
    while (index < count && (text[index] == ' ' || text[index] == '\t')) index++;
    if (index >= count) return 0; // an empty value: a placeholder
    uint8_t first = text[index];
    if (first == '"' || first == '\'') {
        size_t end = index + 1;
        while (end < count && text[end] != first) {
            if (text[end] == '\\' && first == '"') end++;
            end++;
        }
        if (end > count) end = count;
        return !is_placeholder(text + index + 1, end - (index + 1));
    }
    if (first == '{' || first == '[') return yaml;
    if (yaml && (first == '|' || first == '>' || first == '&' || first == '*' || first == '!')) return 1;
    size_t end = index;
    while (end < count) {
        if (text[end] == '#' && (text[end - 1] == ' ' || text[end - 1] == '\t')) break;
        end++;
    }
    while (end > index && (text[end - 1] == ' ' || text[end - 1] == '\t' || text[end - 1] == ',' || text[end - 1] == ';')) end--;
    return !is_placeholder(text + index, end - index);
}

// Mirrors SecretScanner.scanAssignment: 0 only where it finds nothing.
static int key_line_may_find(const uint8_t *text, size_t count, int yaml) {
    size_t index = 0;
    while (index < count && (text[index] == ' ' || text[index] == '\t')) index++;
    if (index >= count) return 0;
    uint8_t first = text[index];
    if (first == '#' || first == ';' || first == '!' || first == '[' || first == '<') return 0;
    if (first == '/' && index + 1 < count && text[index + 1] == '*') return 0;
    if (first == '-' && index + 1 < count && text[index + 1] == ' ') {
        index += 2;
        while (index < count && text[index] == ' ') index++;
    }
    if (index < count && text[index] == 'e' && index + 7 <= count && text[index + 1] == 'x' && text[index + 2] == 'p'
        && text[index + 3] == 'o' && text[index + 4] == 'r' && text[index + 5] == 't' && text[index + 6] == ' ') {
        index += 7;
        while (index < count && text[index] == ' ') index++;
    }
    if (index >= count) return 0;
    if (text[index] == '"' || text[index] == '\'') {
        // A quoted key, to its closing quote (at most 256 bytes).
        uint8_t quote = text[index];
        size_t start = index + 1, end = start;
        while (end < count && text[end] != quote && end - start < 256) end++;
        if (end >= count || text[end] != quote || end <= start) return 0;
        return key_may_name(text + start, end - start) && value_may_be_secret(text, count, end + 1, 1, yaml);
    }
    size_t start = index, end = index;
    size_t limit = count < start + 256 ? count : start + 256;
    while (end < limit) {
        uint8_t byte = text[end];
        if (byte == ' ' || byte == '\t' || byte == '=' || byte == ':') {
            if (byte != ':') break;
            if (end + 1 >= count || text[end + 1] == ' ' || text[end + 1] == '\t' || text[end + 1] == '=') break;
        }
        end++;
    }
    if (end <= start) return 0;
    return key_may_name(text + start, end - start) && value_may_be_secret(text, count, end, 0, yaml);
}

static inline int is_xml_name_byte(uint8_t byte) { return is_run(byte) || byte == '.' || byte == ':'; }

// Mirrors SecretScanner.scanXML: each `=` before a quote and each `<` before a name byte on the
// line (a superset of the ones it visits), with the name and the value it would take there.
static inline size_t next_mark(const uint64_t *map, size_t from, size_t count);

// `markup`: the span's map of '=' and '<', `line` the line's first position in it (or NULL and
// 0: every byte is looked at).
static int xml_line_may_find(const uint8_t *text, size_t count, const uint64_t *markup, size_t line) {
    for (size_t index = 0; index < count; index++) {
        if (markup) {
            index = next_mark(markup, line + index, line + count) - line;
            if (index >= count) break;
        }
        uint8_t byte = text[index];
        if (byte == '=' && index + 1 < count && (text[index + 1] == '"' || text[index + 1] == '\'')) {
            size_t name = index;
            while (name > 0 && index - name < 128 && is_xml_name_byte(text[name - 1])) name--;
            if (name < index && key_may_name(text + name, index - name)) {
                // The attribute's value, to its closing quote or the line's end.
                uint8_t quote = text[index + 1];
                size_t end = index + 2;
                while (end < count && text[end] != quote) end++;
                if (!is_placeholder(text + index + 2, end - (index + 2))) return 1;
            }
        } else if (byte == '<' && index + 1 < count && is_xml_name_byte(text[index + 1])) {
            size_t end = index + 1;
            while (end < count && end - index < 128 && is_xml_name_byte(text[end])) end++;
            // An element's text: `<name>` then all to the next `<`, which must start `</`.
            if (end < count && text[end] == '>' && key_may_name(text + index + 1, end - index - 1)) {
                size_t close = end + 1;
                while (close < count && text[close] != '<') close++;
                if (close + 1 < count && text[close + 1] == '/' && !is_placeholder(text + end + 1, close - (end + 1))) return 1;
            }
        }
    }
    return 0;
}

// The last marked position in [from, to), or `to` when there is none.
static inline size_t last_mark(const uint64_t *map, size_t from, size_t to) {
    if (from >= to) return to;
    size_t word = (to - 1) >> 6, first = from >> 6;
    uint64_t bits = map[word] & (~0ull >> (63 - ((to - 1) & 63)));
    for (;;) {
        if (word == first) bits &= ~0ull << (from & 63);
        if (bits) return (word << 6) + 63 - (size_t)__builtin_clzll(bits);
        if (word == first) return to;
        bits = map[--word];
    }
}

static inline int all_marked(const uint64_t *map, size_t from, size_t to) {
    if (to - from <= 64 - (from & 63)) {
        // Within one word: one shift and mask.
        uint64_t want = to - from == 64 ? ~0ull : (1ull << (to - from)) - 1;
        return ((map[from >> 6] >> (from & 63)) & want) == want;
    }
    for (size_t position = from; position < to; position++) {
        if (!((map[position >> 6] >> (position & 63)) & 1)) return 0;
    }
    return 1;
}

static inline size_t next_mark(const uint64_t *map, size_t from, size_t count);

// key_line_may_find with the maps: the common line (an unquoted key at the start, after its
// indentation, ending at a blank, `=` or `: `) is read with a few bit scans; any other line is
// read byte by byte by key_line_may_find. `line` is the line's first position in the span.
static int key_may_name_secret_mapped(const uint8_t *text, size_t start, size_t end, const kiln_secret_maps *maps);

static int key_line_may_find_mapped(const uint8_t *text, size_t line, size_t count, const kiln_secret_maps *maps, int yaml) {
    size_t stop = line + count;
    size_t index = line;
    // The indentation: to the first position that is no blank.
    {
        size_t word = index >> 6;
        uint64_t bits = ~maps->blanks[word] & (~0ull << (index & 63));
        size_t last = stop == line ? word : (stop - 1) >> 6;
        while (!bits && word < last) bits = ~maps->blanks[++word];
        index = bits ? (word << 6) + (size_t)__builtin_ctzll(bits) : stop;
        if (index > stop) index = stop;
    }
    if (index >= stop) return 0;
    uint8_t first = text[index];
    if (first == '#' || first == ';' || first == '!' || first == '[' || first == '<') return 0;
    if (first == '/' || first == '-' || first == 'e' || first == '"' || first == '\'') return key_line_may_find(text + line, count, yaml);
    size_t start = index;
    size_t limit = stop < start + 256 ? stop : start + 256;
    size_t end = next_mark(maps->key_stops, start, limit);
    if (end < limit && text[end] == ':' && !(end + 1 >= stop || text[end + 1] == ' ' || text[end + 1] == '\t' || text[end + 1] == '=')) {
        return key_line_may_find(text + line, count, yaml);
    }
    if (end <= start) return 0;
    if (!key_may_name_secret_mapped(text, start, end, maps)) return 0;
    return value_may_be_secret(text + line, count, end - line, 0, yaml);
}

// kiln_secret_key_may_name_secret on text[start ..< end] with the maps.
static int key_may_name_secret_mapped(const uint8_t *text, size_t start, size_t end, const kiln_secret_maps *maps) {
    // The key's last four letters and digits, when they are its last four bytes or lie just
    // before its trailing non-alphanumerics with none in between.
    size_t alnum_end = last_mark(maps->alphanumerics, start, end);
    if (alnum_end == end) return 0;  // no letter or digit: nounOfLastWord and the qualifier both give up
    alnum_end += 1;
    if (alnum_end - start < 4 || !all_marked(maps->alphanumerics, alnum_end - 4, alnum_end)) {
        return key_may_name(text + start, end - start);
    }
    uint32_t word;
    const uint8_t *tail = text + alnum_end - 4;
    word = (uint32_t)tail[3] | (uint32_t)tail[2] << 8 | (uint32_t)tail[1] << 16 | (uint32_t)tail[0] << 24;
    // Letters and digits only: setting 0x20 lowercases a letter and leaves a digit.
    uint32_t tail4 = word | 0x20202020u;
    if (ends_like_secret(tail4)) return 1;
    uint8_t last = text[end - 1];
    if (last >= '0' && last <= '9') return 1;
    // The last segment: after the last separator within the key's last ten bytes.
    size_t from = end - start > 10 ? end - 10 : start;
    size_t separator = last_mark(maps->separators, from, end);
    if (separator == end) return 0;
    size_t length = end - separator - 1;
    return length >= 3 && length <= 9 && is_qualifier(text + separator + 1, length);
}

static inline size_t next_mark(const uint64_t *map, size_t from, size_t count) {
    if (from >= count) return count;
    size_t word = from >> 6;
    uint64_t bits = map[word] & (~0ull << (from & 63));
    size_t last = (count - 1) >> 6;
    while (!bits) {
        if (++word > last) return count;
        bits = map[word];
    }
    size_t found = (word << 6) + (size_t)__builtin_ctzll(bits);
    return found < count ? found : count;
}

void kiln_secret_mark_lines(const uint8_t *text, size_t count, const kiln_secret_maps *maps, kiln_secret_line_mode mode, uint64_t *lines) {
    const uint64_t *newlines = maps->newlines, *tokens = maps->tokens;
    int mapped = maps->blanks && maps->key_stops && maps->alphanumerics && maps->separators;
    size_t words = (count + 63) / 64;
    for (size_t word = 0; word < words; word++) lines[word] = 0;
    size_t start = 0;
    while (start < count) {
        size_t end = next_mark(newlines, start, count);
        if (end == count) {
            // No newline ends it: it goes on in the next span.
            lines[start >> 6] |= 1ull << (start & 63);
            break;
        }
        size_t length = end - start;
        if (length > 0 && text[end - 1] == '\r') length--;
        int marked = next_mark(tokens, start, end) < end;
        if (!marked && mode != KILN_SECRET_LINES_TOKENS) {
            int yaml = mode == KILN_SECRET_LINES_YAML;
            marked = mapped ? key_line_may_find_mapped(text, start, length, maps, yaml) : key_line_may_find(text + start, length, yaml);
        }
        if (!marked && mode == KILN_SECRET_LINES_XML) marked = xml_line_may_find(text + start, length, maps->markup, start);
        if (marked) lines[start >> 6] |= 1ull << (start & 63);
        start = end + 1;
    }
}
