/*
 * collector._speedups.level_crc: the C twin of collector.crc._level_crc (see that module for
 * the rule). It knows no exchange: which levels, in which order, joined by what and looked
 * up how are all arguments.
 *
 *   level_crc(bid_prices, bid_sizes, ask_prices, ask_sizes, depth, bid_texts, ask_texts,
 *             flags, separator) -> int | None
 *       The best `depth` levels of each side of a book held as aligned array('d') sorted by
 *       price ascending (best bid last, best ask first), each looked up by price in its side's
 *       dict of texts (with SIZED the dict holds (size, text) and a text written for another
 *       size is no text; asks compare -size with NEGATE_ASKS), joined with `separator` bid/ask
 *       interleaved (INTERLEAVE) or asks then bids, and the unsigned zlib CRC32 of the UTF-8
 *       of that string. None when a level has no text.
 *
 *   level_crc(..., flags | PRINTED, separator, price_decimals, size_decimals) -> int | None
 *       The same with each level's text printed from the book's numbers instead of looked up
 *       (the dicts are not read): the price, then the size, each written with its fixed number
 *       of decimals, the point and leading zeros dropped (collector.crc.printed_digits). None
 *       when a number prints longer than PRINT_MAX characters.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>

#define CRC_INTERLEAVE 1
#define CRC_SIZED 2
#define CRC_NEGATE_ASKS 4
#define CRC_PRINTED 8
#define CRC_STACK 64 /* levels per side held without a heap allocation */
#define PRINT_MAX 64 /* characters a printed number may take */

static PyObject *ZLIB_CRC32; /* zlib.crc32, imported on first use */

/* A read-only view of an array('d'). */
typedef struct {
    Py_buffer view;
    const double *v;
    Py_ssize_t n;
    int open;
} View;

static int
view_open(View *d, PyObject *array)
{
    if (PyObject_GetBuffer(array, &d->view, PyBUF_FORMAT) < 0)
        return -1;
    d->open = 1;
    if (d->view.itemsize != (Py_ssize_t)sizeof(double) || d->view.format == NULL || strcmp(d->view.format, "d") != 0) {
        PyErr_SetString(PyExc_TypeError, "level_crc: book sides must be array('d')");
        return -1;
    }
    d->v = (const double *)d->view.buf;
    d->n = d->view.len / (Py_ssize_t)sizeof(double);
    return 0;
}

static void
view_close(View *d)
{
    if (d->open)
        PyBuffer_Release(&d->view);
    d->open = 0;
}

/* The text of one level (a new reference to a str), NULL with no exception when there is none. */
static PyObject *
text_of(PyObject *texts, double price, double size, int sized)
{
    PyObject *key = PyFloat_FromDouble(price);
    if (key == NULL)
        return NULL;
    PyObject *text = PyDict_GetItemWithError(texts, key);
    Py_DECREF(key);
    if (text == NULL)
        return NULL;
    if (sized) {
        /* (size, text): the text of this price written for the size it had then. */
        if (!PyTuple_CheckExact(text) || PyTuple_GET_SIZE(text) != 2) {
            PyErr_SetString(PyExc_TypeError, "level_crc: sized level texts must be (size, text) pairs");
            return NULL;
        }
        double written;
        PyObject *at = PyTuple_GET_ITEM(text, 0);
        if (PyFloat_CheckExact(at))
            written = PyFloat_AS_DOUBLE(at);
        else if ((written = PyFloat_AsDouble(at)) == -1.0 && PyErr_Occurred())
            return NULL;
        if (written != size)
            return NULL;
        text = PyTuple_GET_ITEM(text, 1);
    }
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "level_crc: level texts must be str");
        return NULL;
    }
    Py_INCREF(text);
    return text;
}

/* Looks up `n` levels of one side, best first: index `start`, then `start + step`, ...
 * Returns the number found; fewer than `n` means a level has no text (or an error is set). */
static Py_ssize_t
side_texts(PyObject **out, const View *prices, const View *sizes, Py_ssize_t n, Py_ssize_t start, Py_ssize_t step,
           PyObject *texts, int sized, double sign)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t at = start + i * step;
        out[i] = text_of(texts, prices->v[at], sign * sizes->v[at], sized);
        if (out[i] == NULL)
            return i;
    }
    return n;
}

/* Where the joined texts are written. */
typedef struct {
    char *buf;
    Py_ssize_t at, cap, parts;
    const char *sep;
    Py_ssize_t seplen;
} Joined;

/* Appends `text` to `j`, after the separator unless it is the first part. */
static int
put(Joined *j, PyObject *text)
{
    Py_ssize_t len;
    const char *utf8 = PyUnicode_AsUTF8AndSize(text, &len);
    if (utf8 == NULL)
        return -1;
    char *buf = j->buf;
    Py_ssize_t *at = &j->at, cap = j->cap, seplen = j->seplen;
    if (j->parts++ > 0) {
        if (*at + seplen > cap)
            goto full;
        memcpy(buf + *at, j->sep, (size_t)seplen);
        *at += seplen;
    }
    if (*at + len > cap)
        goto full;
    memcpy(buf + *at, utf8, (size_t)len);
    *at += len;
    return 0;
full:
    PyErr_SetString(PyExc_RuntimeError, "level_crc: texts changed while being joined");
    return -1;
}

/* Adds the UTF-8 lengths of `n` texts to `total`; -1 with an exception set on failure. */
static int
joined_length(PyObject **texts, Py_ssize_t n, Py_ssize_t *total)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t len;
        if (PyUnicode_AsUTF8AndSize(texts[i], &len) == NULL)
            return -1;
        *total += len;
    }
    return 0;
}

/* zlib.crc32(bytes). */
static PyObject *
zlib_crc(PyObject *bytes)
{
    if (ZLIB_CRC32 == NULL) {
        PyObject *zlib = PyImport_ImportModule("zlib");
        if (zlib == NULL)
            return NULL;
        ZLIB_CRC32 = PyObject_GetAttrString(zlib, "crc32");
        Py_DECREF(zlib);
        if (ZLIB_CRC32 == NULL)
            return NULL;
    }
    return PyObject_CallOneArg(ZLIB_CRC32, bytes);
}

/* The CRC of the texts joined in the order the flags say. */
static PyObject *
crc_of(PyObject **bids, Py_ssize_t nb, PyObject **asks, Py_ssize_t na, int interleave, const char *sep,
       Py_ssize_t seplen)
{
    Py_ssize_t total = 0;
    if (joined_length(bids, nb, &total) < 0 || joined_length(asks, na, &total) < 0)
        return NULL;
    if (nb + na > 1)
        total += seplen * (nb + na - 1);
    PyObject *bytes = PyBytes_FromStringAndSize(NULL, total);
    if (bytes == NULL)
        return NULL;
    Joined j = {PyBytes_AS_STRING(bytes), 0, total, 0, sep, seplen};
    int rc = 0;
    if (interleave) {
        /* bid1:ask1:bid2:ask2 ... then the longer side's remaining levels. */
        Py_ssize_t common = nb < na ? nb : na;
        for (Py_ssize_t i = 0; rc == 0 && i < common; i++) {
            rc = put(&j, bids[i]);
            if (rc == 0)
                rc = put(&j, asks[i]);
        }
        for (Py_ssize_t i = common; rc == 0 && i < nb; i++)
            rc = put(&j, bids[i]);
        for (Py_ssize_t i = common; rc == 0 && i < na; i++)
            rc = put(&j, asks[i]);
    }
    else {
        for (Py_ssize_t i = 0; rc == 0 && i < na; i++)
            rc = put(&j, asks[i]);
        for (Py_ssize_t i = 0; rc == 0 && i < nb; i++)
            rc = put(&j, bids[i]);
    }
    if (rc < 0) {
        Py_DECREF(bytes);
        return NULL;
    }
    PyObject *crc = zlib_crc(bytes);
    Py_DECREF(bytes);
    return crc;
}

static void
release(PyObject **texts, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++)
        Py_DECREF(texts[i]);
}

/* The digits of `value` printed with `decimals` places, the point and leading zeros dropped, into
 * `out` (PRINT_MAX bytes): collector.crc.printed_digits. Returns the length, 0 for a value that
 * prints as zeros only, -1 when it does not fit and -2 with an exception set. */
static Py_ssize_t
printed_digits(double value, int decimals, double scale, char *out)
{
    /* The shortcut of the Python twin: within 0.25 of an integer n (below 2**51, where the
     * product is off by at most 0.25), printing rounds the exact value to n. */
    double scaled = value * scale;
    if (scaled >= 0.0 && scaled < 2251799813685248.0) {
        double n = nearbyint(scaled); /* round half to even, as Python's round() */
        double off = scaled - n;
        if (off > -0.25 && off < 0.25) {
            char tmp[24];
            Py_ssize_t len = 0;
            for (unsigned long long k = (unsigned long long)n; k; k /= 10)
                tmp[len++] = (char)('0' + k % 10);
            for (Py_ssize_t i = 0; i < len; i++)
                out[i] = tmp[len - 1 - i];
            return len;
        }
    }
    /* Python's own "%.{decimals}f" formatting, so the text is the twin's to the character. */
    char *text = PyOS_double_to_string(value, 'f', decimals, 0, NULL);
    if (text == NULL)
        return -2;
    Py_ssize_t len = 0, leading = 1;
    for (const char *c = text; *c; c++) {
        if (*c == '.' || (leading && *c == '0'))
            continue;
        leading = 0;
        if (len == PRINT_MAX) {
            PyMem_Free(text);
            return -1;
        }
        out[len++] = *c;
    }
    PyMem_Free(text);
    return len;
}

/* Appends one level's printed text (price digits, then size digits) to `j`, after the separator. */
static int
put_printed(Joined *j, double price, double size, const int *decimals, const double *scales, char *scratch)
{
    if (j->parts++ > 0) {
        memcpy(j->buf + j->at, j->sep, (size_t)j->seplen);
        j->at += j->seplen;
    }
    double values[2] = {price, size};
    for (int k = 0; k < 2; k++) {
        Py_ssize_t len = printed_digits(values[k], decimals[k], scales[k], scratch);
        if (len < 0)
            return (int)len;
        memcpy(j->buf + j->at, scratch, (size_t)len);
        j->at += len;
    }
    return 0;
}

/* level_crc with PRINTED: texts printed from the book's numbers. */
static PyObject *
printed_crc(const View *v, Py_ssize_t nb, Py_ssize_t na, int interleave, double ask_sign, const char *sep,
            Py_ssize_t seplen, const int *decimals)
{
    double scales[2] = {pow(10.0, decimals[0]), pow(10.0, decimals[1])};
    Py_ssize_t cap = (nb + na) * (2 * PRINT_MAX + seplen) + 1;
    char *buf = PyMem_Malloc((size_t)cap), scratch[PRINT_MAX];
    if (buf == NULL)
        return PyErr_NoMemory();
    Joined j = {buf, 0, cap, 0, sep, seplen};
    const View *bp = &v[0], *bs = &v[1], *ap = &v[2], *as = &v[3];
    int rc = 0;
    /* Best bid is the last element, best ask the first. */
#define BID(i) put_printed(&j, bp->v[bp->n - 1 - (i)], bs->v[bs->n - 1 - (i)], decimals, scales, scratch)
#define ASK(i) put_printed(&j, ap->v[i], ask_sign * as->v[i], decimals, scales, scratch)
    if (interleave) {
        Py_ssize_t common = nb < na ? nb : na;
        for (Py_ssize_t i = 0; rc == 0 && i < common; i++) {
            rc = BID(i);
            if (rc == 0)
                rc = ASK(i);
        }
        for (Py_ssize_t i = common; rc == 0 && i < nb; i++)
            rc = BID(i);
        for (Py_ssize_t i = common; rc == 0 && i < na; i++)
            rc = ASK(i);
    }
    else {
        for (Py_ssize_t i = 0; rc == 0 && i < na; i++)
            rc = ASK(i);
        for (Py_ssize_t i = 0; rc == 0 && i < nb; i++)
            rc = BID(i);
    }
#undef BID
#undef ASK
    PyObject *result = NULL;
    if (rc == -1)
        result = Py_NewRef(Py_None);
    else if (rc == 0) {
        PyObject *bytes = PyBytes_FromStringAndSize(buf, j.at);
        if (bytes != NULL) {
            result = zlib_crc(bytes);
            Py_DECREF(bytes);
        }
    }
    PyMem_Free(buf);
    return result;
}

PyObject *
collector_level_crc(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 9 && nargs != 11) {
        PyErr_SetString(PyExc_TypeError,
                        "level_crc(bid_prices, bid_sizes, ask_prices, ask_sizes, depth, bid_texts, ask_texts, flags, "
                        "separator[, price_decimals, size_decimals])");
        return NULL;
    }
    Py_ssize_t depth = PyLong_AsSsize_t(args[4]);
    long flags = PyLong_AsLong(args[7]);
    if ((depth == -1 || flags == -1) && PyErr_Occurred())
        return NULL;
    int print = (flags & CRC_PRINTED) != 0;
    int decimals[2] = {0, 0};
    if (print) {
        if (nargs != 11) {
            PyErr_SetString(PyExc_TypeError, "level_crc: PRINTED needs price_decimals and size_decimals");
            return NULL;
        }
        for (int k = 0; k < 2; k++) {
            long d = PyLong_AsLong(args[9 + k]);
            if (d == -1 && PyErr_Occurred())
                return NULL;
            if (d < 0 || d > 30) {
                PyErr_SetString(PyExc_ValueError, "level_crc: decimals must be 0 to 30");
                return NULL;
            }
            decimals[k] = (int)d;
        }
    }
    PyObject *bid_texts = args[5], *ask_texts = args[6];
    if ((!print && (!PyDict_Check(bid_texts) || !PyDict_Check(ask_texts))) || !PyUnicode_Check(args[8])) {
        PyErr_SetString(PyExc_TypeError, "level_crc: texts must be dicts and the separator a str");
        return NULL;
    }
    Py_ssize_t seplen;
    const char *sep = PyUnicode_AsUTF8AndSize(args[8], &seplen);
    if (sep == NULL)
        return NULL;
    View v[4] = {{.open = 0}, {.open = 0}, {.open = 0}, {.open = 0}};
    PyObject *stack[2 * CRC_STACK], **bids = stack, **asks = stack + CRC_STACK;
    PyObject *result = NULL;
    Py_ssize_t nb = 0, na = 0, got_b = 0, got_a = 0;
    for (int i = 0; i < 4; i++)
        if (view_open(&v[i], args[i]) < 0)
            goto done;
    if (v[0].n != v[1].n || v[2].n != v[3].n) {
        PyErr_SetString(PyExc_ValueError, "level_crc: prices and sizes differ in length");
        goto done;
    }
    if (depth < 0)
        depth = 0;
    nb = v[0].n < depth ? v[0].n : depth;
    na = v[2].n < depth ? v[2].n : depth;
    if (print) {
        double sign = (flags & CRC_NEGATE_ASKS) ? -1.0 : 1.0;
        result = printed_crc(v, nb, na, (flags & CRC_INTERLEAVE) != 0, sign, sep, seplen, decimals);
        goto done;
    }
    if (nb > CRC_STACK || na > CRC_STACK) {
        bids = PyMem_Malloc(sizeof(PyObject *) * (size_t)(nb + na + 1));
        if (bids == NULL) {
            PyErr_NoMemory();
            goto done;
        }
        asks = bids + nb;
    }
    int sized = (flags & CRC_SIZED) != 0;
    /* Best bid is the last element, best ask the first. */
    got_b = side_texts(bids, &v[0], &v[1], nb, v[0].n - 1, -1, bid_texts, sized, 1.0);
    if (got_b == nb)
        got_a = side_texts(asks, &v[2], &v[3], na, 0, 1, ask_texts, sized, (flags & CRC_NEGATE_ASKS) ? -1.0 : 1.0);
    if (PyErr_Occurred())
        goto done;
    if (got_b < nb || got_a < na) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    result = crc_of(bids, nb, asks, na, (flags & CRC_INTERLEAVE) != 0, sep, seplen);
done:
    release(bids, got_b);
    release(asks, got_a);
    if (bids != stack)
        PyMem_Free(bids);
    for (int i = 0; i < 4; i++)
        view_close(&v[i]);
    return result;
}
