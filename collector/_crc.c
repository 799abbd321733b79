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
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#define CRC_INTERLEAVE 1
#define CRC_SIZED 2
#define CRC_NEGATE_ASKS 4
#define CRC_STACK 64 /* levels per side held without a heap allocation */

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
    if (ZLIB_CRC32 == NULL) {
        PyObject *zlib = PyImport_ImportModule("zlib");
        if (zlib == NULL) {
            Py_DECREF(bytes);
            return NULL;
        }
        ZLIB_CRC32 = PyObject_GetAttrString(zlib, "crc32");
        Py_DECREF(zlib);
        if (ZLIB_CRC32 == NULL) {
            Py_DECREF(bytes);
            return NULL;
        }
    }
    PyObject *crc = PyObject_CallOneArg(ZLIB_CRC32, bytes);
    Py_DECREF(bytes);
    return crc;
}

static void
release(PyObject **texts, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++)
        Py_DECREF(texts[i]);
}

PyObject *
collector_level_crc(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 9) {
        PyErr_SetString(PyExc_TypeError,
                        "level_crc(bid_prices, bid_sizes, ask_prices, ask_sizes, depth, bid_texts, ask_texts, flags, "
                        "separator)");
        return NULL;
    }
    Py_ssize_t depth = PyLong_AsSsize_t(args[4]);
    long flags = PyLong_AsLong(args[7]);
    if ((depth == -1 || flags == -1) && PyErr_Occurred())
        return NULL;
    PyObject *bid_texts = args[5], *ask_texts = args[6];
    if (!PyDict_Check(bid_texts) || !PyDict_Check(ask_texts) || !PyUnicode_Check(args[8])) {
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
