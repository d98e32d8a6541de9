/* Keyed BLAKE2b (RFC 7693) over every value of an Arrow string or binary array, in one call.
 *
 * Why native: masking hashes each distinct value under a domain key; for nearly distinct columns
 * (e-mails, addresses) that is one hashlib call per row, about a microsecond of Python each. This
 * kernel gives exactly the digests of hashlib.blake2b(value, key=key, digest_size=size) without a
 * Python object per value, and releases the GIL while it runs. sanitizer/keys.py falls back to
 * hashlib when this module is not built; tests/strategies/test_native_digests.py checks both agree.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

static const uint64_t IV[8] = {
    0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL, 0xa54ff53a5f1d36f1ULL,
    0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL, 0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL,
};

/* the message schedule; round r uses row r % 10 (RFC 7693, 3.2) */
static const uint8_t SIGMA[10][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
    {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
    {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
    {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
    {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
};

static inline uint64_t rotr64(uint64_t x, unsigned n) { return (x >> n) | (x << (64 - n)); }

static inline uint64_t load64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i]; /* little-endian whatever the host */
    return v;
}

#define G(a, b, c, d, x, y)              \
    do {                                 \
        a = a + b + (x);                 \
        d = rotr64(d ^ a, 32);           \
        c = c + d;                       \
        b = rotr64(b ^ c, 24);           \
        a = a + b + (y);                 \
        d = rotr64(d ^ a, 16);           \
        c = c + d;                       \
        b = rotr64(b ^ c, 63);           \
    } while (0)

#define ROUND(round)                                                      \
    do {                                                                  \
        const int r = (round) % 10;                                       \
        G(v[0], v[4], v[8], v[12], m[SIGMA[r][0]], m[SIGMA[r][1]]);       \
        G(v[1], v[5], v[9], v[13], m[SIGMA[r][2]], m[SIGMA[r][3]]);       \
        G(v[2], v[6], v[10], v[14], m[SIGMA[r][4]], m[SIGMA[r][5]]);      \
        G(v[3], v[7], v[11], v[15], m[SIGMA[r][6]], m[SIGMA[r][7]]);      \
        G(v[0], v[5], v[10], v[15], m[SIGMA[r][8]], m[SIGMA[r][9]]);      \
        G(v[1], v[6], v[11], v[12], m[SIGMA[r][10]], m[SIGMA[r][11]]);    \
        G(v[2], v[7], v[8], v[13], m[SIGMA[r][12]], m[SIGMA[r][13]]);     \
        G(v[3], v[4], v[9], v[14], m[SIGMA[r][14]], m[SIGMA[r][15]]);     \
    } while (0)

/* One compression of a 128-byte block; t is the byte count so far (values here stay far below 2^64). */
static void compress(uint64_t h[8], const uint8_t block[128], uint64_t t, int last) {
    uint64_t m[16], v[16];
    for (int i = 0; i < 16; i++) m[i] = load64(block + 8 * i);
    for (int i = 0; i < 8; i++) {
        v[i] = h[i];
        v[i + 8] = IV[i];
    }
    v[12] ^= t;
    if (last) v[14] = ~v[14];
    /* rounds written out with constant message indices, so m[] and v[] can live in registers */
    ROUND(0); ROUND(1); ROUND(2); ROUND(3); ROUND(4); ROUND(5);
    ROUND(6); ROUND(7); ROUND(8); ROUND(9); ROUND(10); ROUND(11);
    for (int i = 0; i < 8; i++) h[i] ^= v[i] ^ v[i + 8];
}

/* The digest of one value, given the state after the key block (`keyed`) and the key block itself. */
static void digest_one(const uint64_t keyed[8], const uint64_t initial[8], const uint8_t key_block[128],
                       const uint8_t *value, size_t length, uint8_t *out, size_t size) {
    uint64_t h[8];
    uint8_t block[128];
    if (length == 0) { /* the key block is the last block */
        memcpy(h, initial, sizeof h);
        compress(h, key_block, 128, 1);
    } else {
        memcpy(h, keyed, sizeof h);
        uint64_t t = 128;
        while (length > 128) {
            t += 128;
            compress(h, value, t, 0);
            value += 128;
            length -= 128;
        }
        memset(block, 0, sizeof block);
        memcpy(block, value, length);
        compress(h, block, t + length, 1);
    }
    for (size_t i = 0; i < size; i++) out[i] = (uint8_t)(h[i / 8] >> (8 * (i % 8)));
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/* Four one-block values at once with AVX2 (each 64-bit lane of a register holds one value's word):
 * most masked values (names, e-mails, addresses) fit one 128-byte block after the key block, and
 * four lanes take about a third of the time of four scalar compressions. Chosen at run time. */
#include <immintrin.h>
#define HAVE_X4 1
#define X4 __attribute__((target("avx2")))

X4 static inline __m256i rotr32_x4(__m256i x) { return _mm256_shuffle_epi32(x, _MM_SHUFFLE(2, 3, 0, 1)); }
X4 static inline __m256i rotr24_x4(__m256i x) {
    const __m256i by = _mm256_setr_epi8(3, 4, 5, 6, 7, 0, 1, 2, 11, 12, 13, 14, 15, 8, 9, 10,
                                        3, 4, 5, 6, 7, 0, 1, 2, 11, 12, 13, 14, 15, 8, 9, 10);
    return _mm256_shuffle_epi8(x, by);
}
X4 static inline __m256i rotr16_x4(__m256i x) {
    const __m256i by = _mm256_setr_epi8(2, 3, 4, 5, 6, 7, 0, 1, 10, 11, 12, 13, 14, 15, 8, 9,
                                        2, 3, 4, 5, 6, 7, 0, 1, 10, 11, 12, 13, 14, 15, 8, 9);
    return _mm256_shuffle_epi8(x, by);
}
X4 static inline __m256i rotr63_x4(__m256i x) {
    return _mm256_or_si256(_mm256_srli_epi64(x, 63), _mm256_add_epi64(x, x));
}

#define G4(a, b, c, d, x, y)                                        \
    do {                                                            \
        a = _mm256_add_epi64(_mm256_add_epi64(a, b), x);            \
        d = rotr32_x4(_mm256_xor_si256(d, a));                      \
        c = _mm256_add_epi64(c, d);                                 \
        b = rotr24_x4(_mm256_xor_si256(b, c));                      \
        a = _mm256_add_epi64(_mm256_add_epi64(a, b), y);            \
        d = rotr16_x4(_mm256_xor_si256(d, a));                      \
        c = _mm256_add_epi64(c, d);                                 \
        b = rotr63_x4(_mm256_xor_si256(b, c));                      \
    } while (0)

#define ROUND4(round)                                                      \
    do {                                                                   \
        const int r = (round) % 10;                                        \
        G4(v[0], v[4], v[8], v[12], m[SIGMA[r][0]], m[SIGMA[r][1]]);       \
        G4(v[1], v[5], v[9], v[13], m[SIGMA[r][2]], m[SIGMA[r][3]]);       \
        G4(v[2], v[6], v[10], v[14], m[SIGMA[r][4]], m[SIGMA[r][5]]);      \
        G4(v[3], v[7], v[11], v[15], m[SIGMA[r][6]], m[SIGMA[r][7]]);      \
        G4(v[0], v[5], v[10], v[15], m[SIGMA[r][8]], m[SIGMA[r][9]]);      \
        G4(v[1], v[6], v[11], v[12], m[SIGMA[r][10]], m[SIGMA[r][11]]);    \
        G4(v[2], v[7], v[8], v[13], m[SIGMA[r][12]], m[SIGMA[r][13]]);     \
        G4(v[3], v[4], v[9], v[14], m[SIGMA[r][14]], m[SIGMA[r][15]]);     \
    } while (0)

/* The last (and only) block of four values, from the same keyed state: out[lane] = the final state. */
X4 static void compress_x4(const uint64_t keyed[8], const uint8_t blocks[4][128], const uint64_t t[4],
                           uint64_t out[4][8]) {
    __m256i m[16], v[16];
    for (int i = 0; i < 16; i++)
        m[i] = _mm256_set_epi64x((long long)load64(blocks[3] + 8 * i), (long long)load64(blocks[2] + 8 * i),
                                 (long long)load64(blocks[1] + 8 * i), (long long)load64(blocks[0] + 8 * i));
    for (int i = 0; i < 8; i++) {
        v[i] = _mm256_set1_epi64x((long long)keyed[i]);
        v[i + 8] = _mm256_set1_epi64x((long long)IV[i]);
    }
    v[12] = _mm256_xor_si256(v[12], _mm256_set_epi64x((long long)t[3], (long long)t[2], (long long)t[1],
                                                      (long long)t[0]));
    v[14] = _mm256_set1_epi64x((long long)~IV[6]);
    ROUND4(0); ROUND4(1); ROUND4(2); ROUND4(3); ROUND4(4); ROUND4(5);
    ROUND4(6); ROUND4(7); ROUND4(8); ROUND4(9); ROUND4(10); ROUND4(11);
    for (int i = 0; i < 8; i++) {
        uint64_t lanes[4];
        _mm256_storeu_si256((__m256i *)lanes, _mm256_xor_si256(v[i], v[i + 8]));
        for (int lane = 0; lane < 4; lane++) out[lane][i] = keyed[i] ^ lanes[lane];
    }
}
#endif

#ifdef HAVE_X4
static int use_x4 = 0; /* set at import: the CPU has AVX2 */
#endif

/* Arrow offsets are in the host's byte order; one reader for the bounds check and the loop alike. */
static inline int64_t offset_at(const uint8_t *offsets, Py_ssize_t i, int wide) {
    if (wide) {
        int64_t o;
        memcpy(&o, offsets + 8 * i, 8);
        return o;
    }
    int32_t o;
    memcpy(&o, offsets + 4 * i, 4);
    return o;
}

static PyObject *keyed_blake2b(PyObject *self, PyObject *args) {
    Py_buffer key, data, offsets, output;
    Py_ssize_t size, count;
    int wide;
    if (!PyArg_ParseTuple(args, "y*ny*y*npw*", &key, &size, &data, &offsets, &count, &wide, &output)) return NULL;
    PyObject *result = NULL;
    const Py_ssize_t width = wide ? 8 : 4;
    if (key.len < 1 || key.len > 64 || size < 1 || size > 64 || count < 0) {
        PyErr_SetString(PyExc_ValueError, "key must be 1-64 bytes, size 1-64, count >= 0");
        goto done;
    }
    if (offsets.len < (count + 1) * width) {
        PyErr_SetString(PyExc_ValueError, "offsets buffer shorter than count + 1 offsets");
        goto done;
    }
    const uint8_t *off = offsets.buf;
    int64_t previous = 0;
    for (Py_ssize_t i = 0; i <= count; i++) { /* offsets must rise inside the data: never read past it */
        int64_t o = offset_at(off, i, wide);
        if (o < 0 || o > data.len || (i > 0 && o < previous)) {
            PyErr_SetString(PyExc_ValueError, "offsets do not rise inside the data buffer");
            goto done;
        }
        previous = o;
    }
    if (output.len < count * size || !PyBuffer_IsContiguous(&output, 'C')) {
        PyErr_SetString(PyExc_ValueError, "output buffer must be contiguous and hold count * size bytes");
        goto done;
    }
    uint8_t *out = output.buf;

    uint64_t initial[8], keyed[8];
    uint8_t key_block[128] = {0};
    memcpy(key_block, key.buf, key.len);
    memcpy(initial, IV, sizeof initial);
    initial[0] ^= 0x01010000ULL ^ ((uint64_t)key.len << 8) ^ (uint64_t)size;
    memcpy(keyed, initial, sizeof keyed);
    compress(keyed, key_block, 128, 0);

    const uint8_t *bytes = data.buf;
    Py_BEGIN_ALLOW_THREADS
#ifdef HAVE_X4
    if (use_x4) {
        uint8_t blocks[4][128];
        uint64_t t[4], state[4][8];
        Py_ssize_t waiting[4];
        int filled = 0;
        for (Py_ssize_t i = 0; i < count; i++) {
            int64_t start = offset_at(off, i, wide), length = offset_at(off, i + 1, wide) - start;
            if (length < 1 || length > 128) { /* empty or several blocks: one at a time */
                digest_one(keyed, initial, key_block, bytes + start, (size_t)length, out + i * size, (size_t)size);
                continue;
            }
            memset(blocks[filled], 0, 128);
            memcpy(blocks[filled], bytes + start, (size_t)length);
            t[filled] = 128 + (uint64_t)length;
            waiting[filled++] = i;
            if (filled == 4) {
                compress_x4(keyed, (const uint8_t(*)[128])blocks, t, state);
                for (int lane = 0; lane < 4; lane++)
                    for (Py_ssize_t k = 0; k < size; k++)
                        out[waiting[lane] * size + k] = (uint8_t)(state[lane][k / 8] >> (8 * (k % 8)));
                filled = 0;
            }
        }
        for (int lane = 0; lane < filled; lane++) {
            Py_ssize_t i = waiting[lane];
            int64_t start = offset_at(off, i, wide), end = offset_at(off, i + 1, wide);
            digest_one(keyed, initial, key_block, bytes + start, (size_t)(end - start), out + i * size, (size_t)size);
        }
    } else
#endif
    for (Py_ssize_t i = 0; i < count; i++) {
        int64_t start = offset_at(off, i, wide), end = offset_at(off, i + 1, wide);
        digest_one(keyed, initial, key_block, bytes + start, (size_t)(end - start), out + i * size, (size_t)size);
    }
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);

done:
    PyBuffer_Release(&key);
    PyBuffer_Release(&data);
    PyBuffer_Release(&offsets);
    PyBuffer_Release(&output);
    return result;
}

static PyMethodDef methods[] = {
    {"keyed_blake2b", keyed_blake2b, METH_VARARGS,
     "keyed_blake2b(key, size, data, offsets, count, wide, out) -> None\n\n"
     "Writes into out the keyed BLAKE2b digests (size bytes each) of the count values\n"
     "data[offsets[i]:offsets[i+1]];\n"
     "offsets are int32, or int64 when wide, in host order as Arrow keeps them. Equal to\n"
     "hashlib.blake2b(value, key=key, digest_size=size).digest() for each value, concatenated."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "sanitizer._native",
                                    "Native kernels for sanitizer's hot paths.", -1, methods};

PyMODINIT_FUNC PyInit__native(void) {
#ifdef HAVE_X4
    __builtin_cpu_init();
    use_x4 = __builtin_cpu_supports("avx2");
#endif
    return PyModule_Create(&module);
}
