/* PostgreSQL's binary COPY format, split into Arrow columns and joined back, without Python per row.
 *
 * Why native: binary COPY saves the server most of its work (no text formatting of timestamps and
 * numbers on the source, no parsing on staging: about 1.5x the rows/s both ways), but its framing is
 * per field (a 32-bit length before each value), which no Arrow kernel reads. These two functions
 * turn a block of tuples into one (offsets, values, validity) triple per column, and columns back
 * into one COPY stream. Values are never interpreted: a column no strategy touches travels as the
 * server sent it. sanitizer/source/pg_copy.py uses them when this module was built.
 *
 * Format (PostgreSQL docs, "COPY", Binary Format): after the header, each tuple is an int16 field
 * count followed by, per field, an int32 length (-1: NULL) and that many bytes; an int16 -1 ends the
 * data. All integers are big-endian.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

static const char SIGNATURE[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', '\377', '\r', '\n', '\0'};

static inline int32_t be32(const uint8_t *p) {
    return (int32_t)(((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3]);
}

static inline int16_t be16(const uint8_t *p) { return (int16_t)(((uint16_t)p[0] << 8) | (uint16_t)p[1]); }

static inline void put_be32(uint8_t *p, int32_t v) {
    uint32_t u = (uint32_t)v;
    p[0] = (uint8_t)(u >> 24);
    p[1] = (uint8_t)(u >> 16);
    p[2] = (uint8_t)(u >> 8);
    p[3] = (uint8_t)u;
}

/* Scan whole tuples from data[start:]; stop at an incomplete tuple, at the end marker, or before a
 * column's values would pass INT32_MAX bytes (Arrow's int32 offsets). Fills per-column byte totals
 * and NULL counts; returns the number of tuples, or -1 with a Python error set. */
static Py_ssize_t scan(const uint8_t *data, Py_ssize_t length, Py_ssize_t start, int ncols, int64_t *bytes,
                       Py_ssize_t *nulls, Py_ssize_t *end, int *ended) {
    Py_ssize_t pos = start, rows = 0;
    *ended = 0;
    for (;;) {
        if (length - pos < 2) break;
        int16_t fields = be16(data + pos);
        if (fields == -1) {
            *ended = 1;
            pos += 2;
            break;
        }
        if (fields != ncols) {
            PyErr_Format(PyExc_ValueError, "COPY tuple has %d fields, expected %d", (int)fields, ncols);
            return -1;
        }
        /* first pass: is the whole tuple here, and does it fit the columns' offsets? */
        Py_ssize_t p = pos + 2;
        int complete = 1, fits = 1;
        for (int c = 0; c < ncols; c++) {
            if (length - p < 4) { complete = 0; break; }
            int32_t n = be32(data + p);
            p += 4;
            if (n < -1) {
                PyErr_Format(PyExc_ValueError, "COPY field length %d is negative", (int)n);
                return -1;
            }
            if (n > 0) {
                if (length - p < n) { complete = 0; break; }
                p += n;
                if (bytes[c] + n > INT32_MAX) fits = 0;
            }
        }
        if (!complete) break;
        if (!fits) {
            if (rows == 0) {
                PyErr_SetString(PyExc_ValueError, "a COPY value is larger than 2 GiB");
                return -1;
            }
            break;
        }
        /* second pass: add the tuple to the totals */
        Py_ssize_t q = pos + 2;
        for (int c = 0; c < ncols; c++) {
            int32_t n = be32(data + q);
            q += 4;
            if (n < 0) nulls[c]++;
            else { bytes[c] += n; q += n; }
        }
        pos = p;
        rows++;
    }
    *end = pos;
    return rows;
}

static PyObject *split(PyObject *self, PyObject *args) {
    Py_buffer buffer;
    Py_ssize_t start;
    int ncols;
    if (!PyArg_ParseTuple(args, "y*ni", &buffer, &start, &ncols)) return NULL;
    PyObject *result = NULL, *columns = NULL;
    int64_t *bytes = NULL;
    Py_ssize_t *nulls = NULL;
    if (ncols < 1 || ncols > 1664 || start < 0 || start > buffer.len) {
        PyErr_SetString(PyExc_ValueError, "ncols must be 1-1664 and start inside the buffer");
        goto done;
    }
    bytes = PyMem_Calloc(ncols, sizeof *bytes);
    nulls = PyMem_Calloc(ncols, sizeof *nulls);
    if (bytes == NULL || nulls == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    const uint8_t *data = buffer.buf;
    Py_ssize_t end;
    int ended;
    Py_ssize_t rows = scan(data, buffer.len, start, ncols, bytes, nulls, &end, &ended);
    if (rows < 0) goto done;

    columns = PyList_New(ncols);
    if (columns == NULL) goto done;
    int32_t **offsets = PyMem_Calloc(ncols, sizeof *offsets);
    uint8_t **values = PyMem_Calloc(ncols, sizeof *values);
    uint8_t **validity = PyMem_Calloc(ncols, sizeof *validity);
    if (offsets == NULL || values == NULL || validity == NULL) {
        PyMem_Free(offsets);
        PyMem_Free(values);
        PyMem_Free(validity);
        PyErr_NoMemory();
        goto done;
    }
    int failed = 0;
    for (int c = 0; c < ncols && !failed; c++) {
        PyObject *off = PyBytes_FromStringAndSize(NULL, (rows + 1) * 4);
        PyObject *val = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)bytes[c]);
        PyObject *bits = nulls[c] ? PyBytes_FromStringAndSize(NULL, (rows + 7) / 8) : Py_NewRef(Py_None);
        PyObject *nul = PyLong_FromSsize_t(nulls[c]);
        PyObject *entry = (off && val && bits && nul) ? PyTuple_Pack(4, off, val, bits, nul) : NULL;
        if (entry != NULL) {
            offsets[c] = (int32_t *)PyBytes_AS_STRING(off);
            values[c] = (uint8_t *)PyBytes_AS_STRING(val);
            validity[c] = nulls[c] ? (uint8_t *)PyBytes_AS_STRING(bits) : NULL;
            if (validity[c]) memset(validity[c], 0, (rows + 7) / 8);
            offsets[c][0] = 0;
            PyList_SET_ITEM(columns, c, entry);
        } else {
            failed = 1;
        }
        Py_XDECREF(off);
        Py_XDECREF(val);
        Py_XDECREF(bits);
        Py_XDECREF(nul);
    }
    if (!failed) {
        Py_BEGIN_ALLOW_THREADS
        Py_ssize_t pos = start;
        for (int c = 0; c < ncols; c++) bytes[c] = 0; /* now: bytes written so far */
        for (Py_ssize_t r = 0; r < rows; r++) {
            pos += 2;
            for (int c = 0; c < ncols; c++) {
                int32_t n = be32(data + pos);
                pos += 4;
                if (n >= 0) {
                    memcpy(values[c] + bytes[c], data + pos, (size_t)n);
                    bytes[c] += n;
                    pos += n;
                    if (validity[c]) validity[c][r >> 3] |= (uint8_t)(1u << (r & 7));
                }
                offsets[c][r + 1] = (int32_t)bytes[c];
            }
        }
        Py_END_ALLOW_THREADS
        result = Py_BuildValue("nniO", rows, end, ended, columns);
    }
    PyMem_Free(offsets);
    PyMem_Free(values);
    PyMem_Free(validity);

done:
    Py_XDECREF(columns);
    PyMem_Free(bytes);
    PyMem_Free(nulls);
    PyBuffer_Release(&buffer);
    return result;
}

/* One column handed to join: an Arrow binary/string array's buffers and its slice. */
typedef struct {
    Py_buffer values, offsets, validity;
    int has_validity;
    Py_ssize_t offset;
} Column;

static PyObject *join(PyObject *self, PyObject *args) {
    PyObject *specs;
    Py_ssize_t rows;
    if (!PyArg_ParseTuple(args, "On", &specs, &rows)) return NULL;
    PyObject *seq = PySequence_Fast(specs, "columns must be a sequence");
    if (seq == NULL) return NULL;
    Py_ssize_t ncols = PySequence_Fast_GET_SIZE(seq);
    PyObject *result = NULL;
    Column *cols = NULL;
    Py_ssize_t taken = 0;
    if (ncols < 1 || ncols > 1664 || rows < 0) {
        PyErr_SetString(PyExc_ValueError, "1-1664 columns and rows >= 0 expected");
        goto done;
    }
    cols = PyMem_Calloc(ncols, sizeof *cols);
    if (cols == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t total = 11 + 4 + 4 + 2 + rows * 2;
    for (; taken < ncols; taken++) {
        Column *col = &cols[taken];
        PyObject *validity;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, taken), "y*y*On", &col->values, &col->offsets,
                              &validity, &col->offset)) goto done;
        col->has_validity = validity != Py_None;
        if (col->has_validity && PyObject_GetBuffer(validity, &col->validity, PyBUF_SIMPLE) < 0) {
            PyBuffer_Release(&col->values);
            PyBuffer_Release(&col->offsets);
            goto done;
        }
        const int32_t *off = col->offsets.buf;
        if (col->offset < 0 || col->offsets.len < (col->offset + rows + 1) * 4
            || (col->has_validity && col->validity.len * 8 < col->offset + rows)) {
            PyErr_SetString(PyExc_ValueError, "a column's buffers are shorter than its rows");
            taken++;
            goto done;
        }
        for (Py_ssize_t r = 0; r < rows; r++) { /* offsets must rise inside the values: never read past */
            int32_t a = off[col->offset + r], b = off[col->offset + r + 1];
            if (a < 0 || b < a || b > col->values.len) {
                PyErr_SetString(PyExc_ValueError, "a column's offsets do not rise inside its values");
                taken++;
                goto done;
            }
        }
        total += rows * 4 + (off[col->offset + rows] - off[col->offset]);
    }
    result = PyBytes_FromStringAndSize(NULL, total);
    if (result == NULL) goto done;
    uint8_t *out = (uint8_t *)PyBytes_AS_STRING(result);
    Py_BEGIN_ALLOW_THREADS
    memcpy(out, SIGNATURE, 11);
    memset(out + 11, 0, 8); /* flags, header extension length */
    uint8_t *p = out + 19;
    for (Py_ssize_t r = 0; r < rows; r++) {
        p[0] = (uint8_t)(ncols >> 8);
        p[1] = (uint8_t)ncols;
        p += 2;
        for (Py_ssize_t c = 0; c < ncols; c++) {
            const Column *col = &cols[c];
            Py_ssize_t i = col->offset + r;
            const uint8_t *bits = col->validity.buf;
            if (col->has_validity && !(bits[i >> 3] & (1u << (i & 7)))) {
                put_be32(p, -1);
                p += 4;
                continue;
            }
            const int32_t *off = col->offsets.buf;
            int32_t n = off[i + 1] - off[i];
            put_be32(p, n);
            memcpy(p + 4, (const uint8_t *)col->values.buf + off[i], (size_t)n);
            p += 4 + n;
        }
    }
    p[0] = 0xFF;
    p[1] = 0xFF;
    Py_END_ALLOW_THREADS

done:
    for (Py_ssize_t c = 0; c < taken; c++) {
        PyBuffer_Release(&cols[c].values);
        PyBuffer_Release(&cols[c].offsets);
        if (cols[c].has_validity) PyBuffer_Release(&cols[c].validity);
    }
    PyMem_Free(cols);
    Py_DECREF(seq);
    return result;
}

static PyMethodDef methods[] = {
    {"split", split, METH_VARARGS,
     "split(buffer, start, ncols) -> (rows, end, ended, columns)\n\n"
     "Reads the whole tuples of binary COPY data in buffer[start:] (after the header).\n"
     "columns holds, per column, (offsets, values, validity, null_count): int32 offsets in host order\n"
     "and a validity bitmap (None without NULLs), as Arrow lays out a binary array. end is where the\n"
     "first unread byte is; ended is true when the end-of-data marker was read."},
    {"join", join, METH_VARARGS,
     "join(columns, rows) -> bytes\n\n"
     "A whole binary COPY stream (header, rows tuples, end marker) from columns given as\n"
     "(values, offsets, validity or None, offset): an Arrow binary or string array's buffers and offset."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "sanitizer._pgcopy",
                                    "PostgreSQL binary COPY framing <-> Arrow binary columns.", -1, methods};

PyMODINIT_FUNC PyInit__pgcopy(void) { return PyModule_Create(&module); }
