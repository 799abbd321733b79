/*
 * collector._speedups: optional C accelerators. They know no exchange and make no book
 * transition: each does exactly what a named Python function does, faster, and the test
 * suite runs both and compares.
 *
 *   apply_delta(bid_prices, bid_sizes, bids, ask_prices, ask_sizes, asks) -> int
 *       collector.orderbook._apply_delta: validate every level of both sides (finite price > 0,
 *       finite size >= 0), then apply them (absolute sizes, 0 removes) to the two sides of
 *       a book, each two aligned array('d') sorted by price ascending. Returns 0 when applied,
 *       1 when a level is invalid (nothing is applied), 2 when applied and the book is now
 *       crossed (best bid >= best ask).
 *
 *   load_side(levels) -> (prices, sizes) | None
 *       collector.orderbook._load_side: validate a snapshot side, then sort it into aligned price and
 *       size array('d') (ascending, size 0 dropped, the last of a repeated price kept).
 *
 *   level_crc(...) -> int | None
 *       collector.crc._level_crc: the CRC32 of a book's best levels' texts (in _crc.c).
 *   parse_iso(text) -> float | None
 *       collector.fastpath.parse_iso: an ISO 8601 UTC time as epoch seconds, as the router reads it.
 *
 *   Router(key, data_at, fallback, on_error, *, per_conn=False)
 *       collector.fastpath.PyRouter: reads a frame's routing key, decodes it with the route's
 *       msgspec decoder and builds events (or calls the book synchroniser) from the route's
 *       declared steps; anything it is not sure of goes to fallback (the adapter's receive).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline int
as_double(PyObject *o, double *out)
{
    if (PyFloat_CheckExact(o)) {
        *out = PyFloat_AS_DOUBLE(o);
        return 0;
    }
    *out = PyFloat_AsDouble(o);
    return (*out == -1.0 && PyErr_Occurred()) ? -1 : 0;
}

/* The (price, size) of one level, or -1 with an exception set when it is not a pair of numbers. */
static int
level_of(PyObject *level, PyObject **price, PyObject **size)
{
    if ((PyTuple_CheckExact(level) || PyList_CheckExact(level)) && Py_SIZE(level) == 2) {
        PyObject **items = PySequence_Fast_ITEMS(level);
        *price = items[0];
        *size = items[1];
        return 0;
    }
    PyErr_SetString(PyExc_ValueError, "a book level must be a (price, size) pair");
    return -1;
}

/* 1 when every level of `levels` (a list or tuple) is a valid (price, size), 0 when one is not, -1 on error. */
static int
valid_side(PyObject *levels)
{
    Py_ssize_t n = PySequence_Fast_GET_SIZE(levels);
    PyObject **items = PySequence_Fast_ITEMS(levels);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *price, *size;
        double p, s;
        if (level_of(items[i], &price, &size) < 0)
            return -1;
        if (as_double(price, &p) < 0 || as_double(size, &s) < 0)
            return -1;
        /* Written so that NaN fails: every comparison with NaN is false. */
        if (!(p > 0.0 && p <= DBL_MAX && s >= 0.0 && s <= DBL_MAX))
            return 0;
    }
    return 1;
}

/* A book side's prices or sizes: an array.array('d'), read and written through its buffer.
 * The buffer is released before the array is resized (an exporting array refuses to). */
typedef struct {
    Py_buffer view;
    double *v;
    Py_ssize_t n;
} Doubles;

static int
doubles_open(Doubles *d, PyObject *array)
{
    if (PyObject_GetBuffer(array, &d->view, PyBUF_WRITABLE | PyBUF_FORMAT) < 0)
        return -1;
    if (d->view.itemsize != (Py_ssize_t)sizeof(double) || d->view.format == NULL || strcmp(d->view.format, "d") != 0) {
        PyBuffer_Release(&d->view);
        PyErr_SetString(PyExc_TypeError, "apply_delta: book sides must be array('d')");
        return -1;
    }
    d->v = (double *)d->view.buf;
    d->n = d->view.len / (Py_ssize_t)sizeof(double);
    return 0;
}

/* One side of a book open for writing: its prices and sizes arrays' buffers. */
typedef struct {
    PyObject *prices, *sizes;
    Doubles p, s;
    int open;
} Side;

static PyObject *APPEND; /* array.array.append, the method descriptor */

static int
side_open(Side *side)
{
    if (doubles_open(&side->p, side->prices) < 0)
        return -1;
    if (doubles_open(&side->s, side->sizes) < 0) {
        PyBuffer_Release(&side->p.view);
        return -1;
    }
    if (side->p.n != side->s.n) {
        PyBuffer_Release(&side->p.view);
        PyBuffer_Release(&side->s.view);
        PyErr_SetString(PyExc_ValueError, "apply_delta: prices and sizes differ in length");
        return -1;
    }
    side->open = 1;
    return 0;
}

static void
side_close(Side *side)
{
    if (side->open) {
        PyBuffer_Release(&side->p.view);
        PyBuffer_Release(&side->s.view);
        side->open = 0;
    }
}

/* Open a gap at `at` in an open side: both arrays grow by one at the end (the only resize an
 * exporting array needs released for), then the tail moves up one slot in place. */
static int
grow_at(Side *side, Py_ssize_t at, PyObject *price, PyObject *size)
{
    side_close(side);
    PyObject *args[2] = {side->prices, price};
    PyObject *r = PyObject_Vectorcall(APPEND, args, 2, NULL);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    args[0] = side->sizes;
    args[1] = size;
    r = PyObject_Vectorcall(APPEND, args, 2, NULL);
    if (r == NULL) {
        /* keep the two arrays aligned: take the price back out */
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        if (PySequence_DelItem(side->prices, PySequence_Size(side->prices) - 1) < 0)
            PyErr_Clear();
        PyErr_Restore(type, value, tb);
        return -1;
    }
    Py_DECREF(r);
    if (side_open(side) < 0)
        return -1;
    Py_ssize_t n = side->p.n - 1; /* the length before the append */
    double px = side->p.v[n], sz = side->s.v[n];
    memmove(side->p.v + at + 1, side->p.v + at, (size_t)(n - at) * sizeof(double));
    memmove(side->s.v + at + 1, side->s.v + at, (size_t)(n - at) * sizeof(double));
    side->p.v[at] = px;
    side->s.v[at] = sz;
    return 0;
}

/* bisect_left over n ascending doubles: the first index whose value is >= x. Branch-free
 * halving (the comparison is added, not jumped on): a book's binary search otherwise
 * mispredicts about every other step. */
static inline Py_ssize_t
lower_bound(const double *v, Py_ssize_t n, double x)
{
    const double *base = v;
    while (n > 1) {
        Py_ssize_t half = n / 2;
        base += (Py_ssize_t)(base[half - 1] < x) * half;
        n -= half;
    }
    return (base - v) + (n == 1 && *base < x);
}

/* Apply one level: a new size replaces the held one, size 0 removes the price, an unknown
 * price is inserted in order. The buffers stay open across levels that only change a size;
 * an insert or a removal resizes the arrays, which needs them released first. */
static int
apply_level(Side *side, PyObject *price, PyObject *size)
{
    double px, sz;
    if (as_double(price, &px) < 0 || as_double(size, &sz) < 0)
        return -1;
    if (!side->open && side_open(side) < 0)
        return -1;
    Py_ssize_t at = lower_bound(side->p.v, side->p.n, px);
    if (at < side->p.n && side->p.v[at] == px) {
        if (sz != 0.0) {
            side->s.v[at] = sz;
            return 0;
        }
        side_close(side);
        if (PySequence_DelItem(side->prices, at) < 0)
            return -1;
        return PySequence_DelItem(side->sizes, at);
    }
    if (sz == 0.0)
        return 0; /* a removal for a level we do not hold */
    return grow_at(side, at, price, size);
}

static int
apply_side(PyObject *prices, PyObject *sizes, PyObject *levels)
{
    Py_ssize_t n = PySequence_Fast_GET_SIZE(levels);
    PyObject **items = PySequence_Fast_ITEMS(levels);
    Side side = {.prices = prices, .sizes = sizes, .open = 0};
    int rc = 0;
    for (Py_ssize_t i = 0; i < n && rc == 0; i++) {
        PyObject *price, *size;
        rc = level_of(items[i], &price, &size) < 0 || apply_level(&side, price, size) < 0 ? -1 : 0;
    }
    side_close(&side);
    return rc;
}

/* 0 when the two arrays have the same length, -1 (exception set) otherwise. */
static int
aligned(PyObject *prices, PyObject *sizes)
{
    Side side = {.prices = prices, .sizes = sizes, .open = 0};
    if (side_open(&side) < 0)
        return -1;
    side_close(&side);
    return 0;
}

/* 2 when the best bid is at or above the best ask, 0 otherwise, -1 on error. */
static int
crossed(PyObject *bid_prices, PyObject *ask_prices)
{
    Doubles b, a;
    if (doubles_open(&b, bid_prices) < 0)
        return -1;
    if (doubles_open(&a, ask_prices) < 0) {
        PyBuffer_Release(&b.view);
        return -1;
    }
    int verdict = b.n && a.n && b.v[b.n - 1] >= a.v[0] ? 2 : 0;
    PyBuffer_Release(&b.view);
    PyBuffer_Release(&a.view);
    return verdict;
}

static PyObject *
apply_delta(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError, "apply_delta takes 6 arguments");
        return NULL;
    }
    PyObject *bid_prices = args[0], *bid_sizes = args[1], *ask_prices = args[3], *ask_sizes = args[4];
    if (aligned(bid_prices, bid_sizes) < 0 || aligned(ask_prices, ask_sizes) < 0)
        return NULL;
    PyObject *bids = PySequence_Fast(args[2], "apply_delta: bids must be a sequence");
    if (bids == NULL)
        return NULL;
    PyObject *asks = PySequence_Fast(args[5], "apply_delta: asks must be a sequence");
    if (asks == NULL) {
        Py_DECREF(bids);
        return NULL;
    }
    long verdict = -1;
    int ok = valid_side(bids);
    if (ok == 1)
        ok = valid_side(asks);
    if (ok == 0) {
        verdict = 1;
    } else if (ok == 1 && apply_side(bid_prices, bid_sizes, bids) == 0 &&
               apply_side(ask_prices, ask_sizes, asks) == 0) {
        verdict = crossed(bid_prices, ask_prices);
    }
    Py_DECREF(bids);
    Py_DECREF(asks);
    if (verdict < 0)
        return NULL;
    return PyLong_FromLong(verdict);
}


/* ------------------------------------------------------------------------------------ */
/* A strict JSON scanner driven by a route's compiled schema (collector.fastpath)        */
/* ------------------------------------------------------------------------------------ */

/* Scanning helpers return 0 on success, UNSURE when the scanner is not certain (the
 * route's msgspec decoder then reads the frame), FAILED when a Python exception is set. */
#define UNSURE (-1)
#define FAILED (-2)
#define SKIP_DEPTH 32

enum { K_STRUCT, K_INT, K_FLOAT, K_STR, K_BOOL, K_OPTIONAL, K_LEVELS, K_LIST };

/* A schema compiled from fastpath.compile_schema's tuples, so a frame is scanned without
 * reading Python objects for every field. */
typedef struct Node Node;

typedef struct {
    const char *name; /* the JSON key (borrowed from the bytes object kept alive by the route) */
    Py_ssize_t len;
    Node *node;
    int required;
    PyObject *fallback_value; /* the default when absent (borrowed, kept alive likewise) */
} Field;

struct Node {
    int kind;
    int strict;
    int has_low, has_high, low_open, high_open;
    int64_t ilow, ihigh;
    double flow, fhigh;
    Py_ssize_t nfields;
    Field *fields;
    Node *a, *b; /* optional/list: a; levels: a (price), b (size) */
};

static void
node_free(Node *n)
{
    if (n == NULL)
        return;
    for (Py_ssize_t i = 0; i < n->nfields; i++)
        node_free(n->fields[i].node);
    PyMem_Free(n->fields);
    node_free(n->a);
    node_free(n->b);
    PyMem_Free(n);
}

static Node *
node_build(PyObject *t)
{
    Node *n = PyMem_Calloc(1, sizeof(Node));
    if (n == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    n->kind = (int)PyLong_AsLong(PyTuple_GET_ITEM(t, 0));
    switch (n->kind) {
    case K_STRUCT: {
        PyObject *names = PyTuple_GET_ITEM(t, 1), *nodes = PyTuple_GET_ITEM(t, 2);
        PyObject *required = PyTuple_GET_ITEM(t, 3), *defaults = PyTuple_GET_ITEM(t, 4);
        n->nfields = PyTuple_GET_SIZE(names);
        n->fields = PyMem_Calloc((size_t)n->nfields + 1, sizeof(Field));
        if (n->fields == NULL) {
            PyErr_NoMemory();
            goto fail;
        }
        for (Py_ssize_t i = 0; i < n->nfields; i++) {
            PyObject *name = PyTuple_GET_ITEM(names, i);
            n->fields[i].name = PyBytes_AS_STRING(name);
            n->fields[i].len = PyBytes_GET_SIZE(name);
            n->fields[i].required = PyTuple_GET_ITEM(required, i) == Py_True;
            n->fields[i].fallback_value = PyTuple_GET_ITEM(defaults, i);
            n->fields[i].node = node_build(PyTuple_GET_ITEM(nodes, i));
            if (n->fields[i].node == NULL)
                goto fail;
        }
        break;
    }
    case K_INT: {
        PyObject *low = PyTuple_GET_ITEM(t, 1), *high = PyTuple_GET_ITEM(t, 2);
        n->has_low = low != Py_None;
        n->has_high = high != Py_None;
        n->ilow = n->has_low ? PyLong_AsLongLong(low) : 0;
        n->ihigh = n->has_high ? PyLong_AsLongLong(high) : 0;
        n->strict = PyObject_IsTrue(PyTuple_GET_ITEM(t, 3));
        if (PyErr_Occurred())
            goto fail;
        break;
    }
    case K_FLOAT: {
        PyObject *low = PyTuple_GET_ITEM(t, 1), *high = PyTuple_GET_ITEM(t, 3);
        n->has_low = low != Py_None;
        n->has_high = high != Py_None;
        n->flow = n->has_low ? PyFloat_AsDouble(low) : 0.0;
        n->fhigh = n->has_high ? PyFloat_AsDouble(high) : 0.0;
        n->low_open = PyObject_IsTrue(PyTuple_GET_ITEM(t, 2));
        n->high_open = PyObject_IsTrue(PyTuple_GET_ITEM(t, 4));
        n->strict = PyObject_IsTrue(PyTuple_GET_ITEM(t, 5));
        if (PyErr_Occurred())
            goto fail;
        break;
    }
    case K_OPTIONAL:
    case K_LIST:
        if ((n->a = node_build(PyTuple_GET_ITEM(t, 1))) == NULL)
            goto fail;
        break;
    case K_LEVELS:
        if ((n->a = node_build(PyTuple_GET_ITEM(t, 1))) == NULL || (n->b = node_build(PyTuple_GET_ITEM(t, 2))) == NULL)
            goto fail;
        break;
    default:
        break;
    }
    return n;
fail:
    node_free(n);
    return NULL;
}

static void
schema_capsule_free(PyObject *capsule)
{
    node_free(PyCapsule_GetPointer(capsule, "collector.schema"));
}

typedef struct {
    const char *p;
    const char *end;
    int raw; /* the frame is bytes, not a str's UTF-8: text the scanner passes over is checked as ASCII */
} Cursor;

static inline void
ws(Cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t'))
        c->p++;
}

static inline int
take(Cursor *c, char ch)
{
    ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 0;
    }
    return UNSURE;
}

/* A string without escapes or control characters; s and n point into the frame. */
static int
scan_raw_string(Cursor *c, const char **s, Py_ssize_t *n)
{
    ws(c);
    if (c->p >= c->end || *c->p != '"')
        return UNSURE;
    const char *start = ++c->p;
    while (c->p < c->end) {
        unsigned char ch = (unsigned char)*c->p;
        if (ch == '"') {
            *s = start;
            *n = c->p - start;
            c->p++;
            return 0;
        }
        if (ch == '\\' || ch < 0x20)
            return UNSURE;
        c->p++;
    }
    return UNSURE;
}

static inline int
is_delimiter(const Cursor *c)
{
    const char *p = c->p;
    return p < c->end && (*p == ',' || *p == '}' || *p == ']' || *p == ' ' || *p == '\n' || *p == '\r' || *p == '\t');
}

/* One JSON number read in a single pass; `exact` stays set while the significant digits fit
 * in 19 and there is no exponent, so m * 10^exp10 is the number. */
typedef struct {
    const char *start;
    const char *end;
    uint64_t m;
    int exp10;
    int negative;
    int integral;
    int exact;
} Number;

#define MANTISSA_ROOM 1000000000000000000ull

static int
read_number(const char *p, const char *end, Number *n)
{
    uint64_t m = 0;
    int exp10 = 0, integral = 1, exact = 1;
    const char *start = p;
    int negative = p < end && *p == '-';
    unsigned d;
    p += negative;
    if (p >= end || (d = (unsigned)(*p - '0')) > 9)
        return UNSURE;
    if (d == 0) {
        p++;
    } else {
        for (; p < end && (d = (unsigned)(*p - '0')) <= 9; p++) {
            if (m < MANTISSA_ROOM)
                m = m * 10 + d;
            else
                exact = 0;
        }
    }
    if (p < end && *p == '.') {
        const char *first = ++p;
        integral = 0;
        for (; p < end && (d = (unsigned)(*p - '0')) <= 9; p++) {
            if (m < MANTISSA_ROOM) {
                m = m * 10 + d;
                exp10--;
            } else if (d != 0) {
                exact = 0; /* zeros past the mantissa's room change nothing */
            }
        }
        if (p == first)
            return UNSURE;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        integral = 0;
        exact = 0;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || (unsigned)(*p - '0') > 9)
            return UNSURE;
        while (p < end && (unsigned)(*p - '0') <= 9)
            p++;
    }
    n->start = start;
    n->end = p;
    n->m = m;
    n->exp10 = exp10;
    n->negative = negative;
    n->integral = integral;
    n->exact = exact;
    return 0;
}

/* Clinger's fast path: digits that fit in 53 bits and a power of ten of at most 22 make one
 * exact IEEE operation, correctly rounded (needs plain double arithmetic: SSE2, not x87). */
static const double POW10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static int
number_to_double(const Number *n, double *out)
{
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
    if (n->exact && n->m <= ((uint64_t)1 << 53) && n->exp10 >= -22) {
        double v = n->exp10 < 0 ? (double)n->m / POW10[-n->exp10] : (double)n->m;
        *out = n->negative ? -v : v;
        return 0;
    }
#endif
    char buffer[64];
    Py_ssize_t len = n->end - n->start;
    if (len >= (Py_ssize_t)sizeof(buffer))
        return UNSURE;
    memcpy(buffer, n->start, (size_t)len);
    buffer[len] = '\0';
    char *stop = NULL;
    double v = PyOS_string_to_double(buffer, &stop, NULL);
    if (v == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        return UNSURE;
    }
    if (stop != buffer + len || !isfinite(v))
        return UNSURE;
    *out = v;
    return 0;
}

/* A number token, bare or (lax decoders only) inside a string, at the cursor. */
static int
scan_number(Cursor *c, int strict, Number *n)
{
    ws(c);
    if (c->p >= c->end)
        return UNSURE;
    int quoted = *c->p == '"';
    if (quoted && strict)
        return UNSURE;
    if (read_number(c->p + quoted, c->end, n) < 0)
        return UNSURE;
    if (quoted) {
        if (n->end >= c->end || *n->end != '"')
            return UNSURE;
        c->p = n->end + 1;
        return 0;
    }
    c->p = n->end;
    return is_delimiter(c) ? 0 : UNSURE;
}

static PyObject *
scan_int(Cursor *c, const Node *node, int *rc)
{
    Number n;
    if (scan_number(c, node->strict, &n) < 0 || !n.integral || !n.exact || n.m > (uint64_t)INT64_MAX) {
        *rc = UNSURE;
        return NULL;
    }
    int64_t v = n.negative ? -(int64_t)n.m : (int64_t)n.m;
    if ((node->has_low && v < node->ilow) || (node->has_high && v > node->ihigh)) {
        *rc = UNSURE; /* out of bounds: the decoder reports it */
        return NULL;
    }
    PyObject *out = PyLong_FromLongLong(v);
    *rc = out != NULL ? 0 : FAILED;
    return out;
}

static PyObject *
scan_float(Cursor *c, const Node *node, int *rc)
{
    Number n;
    double v;
    if (scan_number(c, node->strict, &n) < 0 || number_to_double(&n, &v) < 0 ||
        (node->has_low && (node->low_open ? !(v > node->flow) : !(v >= node->flow))) ||
        (node->has_high && (node->high_open ? !(v < node->fhigh) : !(v <= node->fhigh)))) {
        *rc = UNSURE;
        return NULL;
    }
    PyObject *out = PyFloat_FromDouble(v);
    *rc = out != NULL ? 0 : FAILED;
    return out;
}

static inline int
is_hex(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/* Skip a string, checking its escapes as a full JSON parser would. */
static int
skip_string(Cursor *c)
{
    if (c->p >= c->end || *c->p != '"')
        return UNSURE;
    c->p++;
    while (c->p < c->end) {
        unsigned char ch = (unsigned char)*c->p++;
        if (ch == '"')
            return 0;
        if (ch < 0x20 || ch >= 0x80)
            return UNSURE; /* non-ASCII: the decoder checks the UTF-8 */
        if (ch == '\\') {
            if (c->p >= c->end)
                return UNSURE;
            char e = *c->p++;
            if (e == 'u') {
                if (c->end - c->p < 4 || !is_hex(c->p[0]) || !is_hex(c->p[1]) || !is_hex(c->p[2]) || !is_hex(c->p[3]))
                    return UNSURE;
                c->p += 4;
            } else if (e == '\0' || strchr("\"\\/bfnrt", e) == NULL) {
                return UNSURE;
            }
        }
    }
    return UNSURE;
}

static int
skip_literal(Cursor *c, const char *word, Py_ssize_t len)
{
    if (c->end - c->p < len || memcmp(c->p, word, (size_t)len) != 0)
        return UNSURE;
    c->p += len;
    return is_delimiter(c) ? 0 : UNSURE;
}

/* Skip any one JSON value (a key the type does not declare), validating it: a full parser
 * would reject a frame whose unread parts are broken, so the scanner must not accept it. */
static int
skip_value(Cursor *c, int depth)
{
    ws(c);
    if (c->p >= c->end || depth > SKIP_DEPTH)
        return UNSURE;
    char ch = *c->p;
    if (ch == '"')
        return skip_string(c);
    if (ch == '{' || ch == '[') {
        char close = ch == '{' ? '}' : ']';
        c->p++;
        ws(c);
        if (c->p < c->end && *c->p == close) {
            c->p++;
            return 0;
        }
        for (;;) {
            if (ch == '{') {
                ws(c);
                if (skip_string(c) < 0 || take(c, ':') < 0)
                    return UNSURE;
            }
            if (skip_value(c, depth + 1) < 0)
                return UNSURE;
            ws(c);
            if (c->p >= c->end)
                return UNSURE;
            char next = *c->p++;
            if (next == close)
                return 0;
            if (next != ',')
                return UNSURE;
        }
    }
    if (ch == 't')
        return skip_literal(c, "true", 4);
    if (ch == 'f')
        return skip_literal(c, "false", 5);
    if (ch == 'n')
        return skip_literal(c, "null", 4);
    Number n;
    if (read_number(c->p, c->end, &n) < 0)
        return UNSURE;
    c->p = n.end;
    return is_delimiter(c) ? 0 : UNSURE;
}

static PyObject *scan_node(Cursor *c, const Node *node, int *rc);

static PyObject *
scan_struct(Cursor *c, const Node *node, int *rc)
{
    Py_ssize_t nfields = node->nfields;
    const Field *fields = node->fields;
    *rc = UNSURE;
    if (take(c, '{') < 0)
        return NULL;
    PyObject *out = PyTuple_New(nfields);
    if (out == NULL) {
        *rc = FAILED;
        return NULL;
    }
    uint64_t seen = 0;
    ws(c);
    if (c->p < c->end && *c->p == '}') {
        c->p++;
    } else {
        for (;;) {
            const char *key;
            Py_ssize_t klen;
            if (scan_raw_string(c, &key, &klen) < 0 || take(c, ':') < 0)
                goto unsure;
            Py_ssize_t i = 0;
            for (; i < nfields; i++) {
                if (fields[i].len == klen && fields[i].name[0] == key[0] &&
                    memcmp(fields[i].name, key, (size_t)klen) == 0)
                    break;
            }
            if (i == nfields) {
                /* A str's UTF-8 is valid; a bytes frame's key must be shown to be (ASCII), or the
                 * decoder decides. Matched keys are field names: ASCII already. */
                for (Py_ssize_t k = 0; c->raw && k < klen; k++)
                    if ((unsigned char)key[k] >= 0x80)
                        goto unsure;
                if (skip_value(c, 0) < 0)
                    goto unsure;
            } else {
                if (seen & ((uint64_t)1 << i))
                    goto unsure; /* a repeated key: the decoder decides which wins */
                seen |= (uint64_t)1 << i;
                PyObject *value = scan_node(c, fields[i].node, rc);
                if (value == NULL)
                    goto done;
                PyTuple_SET_ITEM(out, i, value);
            }
            ws(c);
            if (c->p >= c->end)
                goto unsure;
            char next = *c->p++;
            if (next == '}')
                break;
            if (next != ',')
                goto unsure;
        }
    }
    for (Py_ssize_t i = 0; i < nfields; i++) {
        if (seen & ((uint64_t)1 << i))
            continue;
        if (fields[i].required)
            goto unsure; /* a required field is missing */
        PyTuple_SET_ITEM(out, i, Py_NewRef(fields[i].fallback_value));
    }
    /* Scanned values hold no cycles: keep these tuples out of the cyclic collector's way. */
    PyObject_GC_UnTrack(out);
    *rc = 0;
    return out;
unsure:
    *rc = UNSURE;
done:
    Py_DECREF(out);
    return NULL;
}

/* One [p, s] level as a (float, float) tuple. */
static PyObject *
scan_pair(Cursor *c, const Node *node, int *rc)
{
    *rc = UNSURE;
    if (take(c, '[') < 0)
        return NULL;
    PyObject *price = scan_float(c, node->a, rc);
    if (price == NULL)
        return NULL;
    if (take(c, ',') < 0) {
        Py_DECREF(price);
        *rc = UNSURE;
        return NULL;
    }
    PyObject *size = scan_float(c, node->b, rc);
    if (size == NULL) {
        Py_DECREF(price);
        return NULL;
    }
    if (take(c, ']') < 0) {
        Py_DECREF(price);
        Py_DECREF(size);
        *rc = UNSURE;
        return NULL;
    }
    PyObject *pair = PyTuple_New(2);
    if (pair == NULL) {
        Py_DECREF(price);
        Py_DECREF(size);
        *rc = FAILED;
        return NULL;
    }
    PyTuple_SET_ITEM(pair, 0, price);
    PyTuple_SET_ITEM(pair, 1, size);
    /* Two numbers cannot be part of a cycle: untracked now, the cyclic GC never walks the
     * pair (it would untrack it itself, but only after walking it once). Events waiting in a
     * queue otherwise keep tens of thousands of pairs for it to walk. */
    PyObject_GC_UnTrack(pair);
    return pair;
}

typedef PyObject *(*ScanItem)(Cursor *c, const Node *node, int *rc);

/* A JSON array, each element read by item(c, node, rc). */
static PyObject *
scan_array(Cursor *c, const Node *node, ScanItem item, int *rc)
{
    *rc = UNSURE;
    if (take(c, '[') < 0)
        return NULL;
    PyObject *list = PyList_New(0);
    if (list == NULL) {
        *rc = FAILED;
        return NULL;
    }
    ws(c);
    if (c->p < c->end && *c->p == ']') {
        c->p++;
        *rc = 0;
        return list;
    }
    for (;;) {
        PyObject *value = item(c, node, rc);
        if (value == NULL)
            break;
        int appended = PyList_Append(list, value);
        Py_DECREF(value);
        if (appended < 0) {
            *rc = FAILED;
            break;
        }
        *rc = UNSURE;
        ws(c);
        if (c->p >= c->end)
            break;
        char next = *c->p++;
        if (next == ']') {
            *rc = 0;
            return list;
        }
        if (next != ',')
            break;
    }
    Py_DECREF(list);
    return NULL;
}

static PyObject *
scan_node(Cursor *c, const Node *node, int *rc)
{
    switch (node->kind) {
    case K_STRUCT:
        return scan_struct(c, node, rc);
    case K_INT:
        return scan_int(c, node, rc);
    case K_FLOAT:
        return scan_float(c, node, rc);
    case K_STR: {
        const char *s;
        Py_ssize_t n;
        if (scan_raw_string(c, &s, &n) < 0) {
            *rc = UNSURE;
            return NULL;
        }
        PyObject *text = PyUnicode_DecodeUTF8(s, n, "strict");
        if (text == NULL) {
            PyErr_Clear();
            *rc = UNSURE;
            return NULL;
        }
        *rc = 0;
        return text;
    }
    case K_BOOL:
        ws(c);
        if (skip_literal(c, "true", 4) == 0) {
            *rc = 0;
            Py_RETURN_TRUE;
        }
        if (skip_literal(c, "false", 5) == 0) {
            *rc = 0;
            Py_RETURN_FALSE;
        }
        *rc = UNSURE;
        return NULL;
    case K_OPTIONAL:
        ws(c);
        if (skip_literal(c, "null", 4) == 0) {
            *rc = 0;
            Py_RETURN_NONE;
        }
        return scan_node(c, node->a, rc);
    case K_LEVELS:
        return scan_array(c, node, scan_pair, rc); /* [[p, s], ...] as (float, float) tuples */
    case K_LIST:
        return scan_array(c, node->a, scan_node, rc);
    default:
        *rc = UNSURE;
        return NULL;
    }
}

/* The whole frame as the schema's nested tuples; NULL with rc UNSURE or FAILED otherwise. */
static PyObject *
scan_frame(const char *data, Py_ssize_t size, int raw, const Node *schema, int *rc)
{
    Cursor c = {data, data + size, raw};
    PyObject *out = scan_node(&c, schema, rc);
    if (out == NULL)
        return NULL;
    ws(&c);
    if (c.p != c.end) {
        Py_DECREF(out); /* trailing bytes: the decoder rejects the frame */
        *rc = UNSURE;
        return NULL;
    }
    return out;
}

/* ------------------------------------------------------------------------------------ */
/* Router: collector.fastpath.PyRouter in C                                              */
/* ------------------------------------------------------------------------------------ */

enum {
    OP_CONST, OP_SYMBOL, OP_RECEIVED, OP_ATTR, OP_MILLIS, OP_TEXT, OP_CHOICE, OP_OUT, OP_SYMBOL_FROM, OP_LEVELS,
    OP_SIGN, OP_SCALED, OP_ISO, OP_RATIO
};
enum { STEP_EMIT, STEP_CALL, STEP_GUARD };
#define MAX_ARGS 24
#define KEY_SCAN 256
#define DECLINED 1

static PyObject *THOUSAND;      /* 1000.0, the divisor of millisecond times */
static PyObject *COMPILE_ROUTE; /* collector.fastpath.compile_route, imported on first use */

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *key;      /* the routing field's name */
    PyObject *prefix;   /* bytes {"<key>":" (or "<key>":" with within) */
    Py_ssize_t within;  /* 0: the key comes first; else: a top-level key found in the first `within` bytes */
    PyObject *parents;  /* tuple of bytes "<parent>": patterns of a dotted key path (within only) */
    PyObject *data_at;  /* dict conn -> receipt time of the last data frame */
    PyObject *routes;   /* dict value (or (conn, value)) -> (decode, symbol, steps) */
    PyObject *fallback; /* the adapter's receive for declined frames */
    PyObject *on_error; /* on_error(conn, frame, received, exc) for an exception in a step */
    int per_conn;
} Router;

/* Follow a path: names are attributes of decoded structs, integers index the scanner's
 * tuples. A new reference, or NULL with an exception set. */
static PyObject *
get_path(PyObject *obj, PyObject *path)
{
    Py_INCREF(obj);
    Py_ssize_t n = PyTuple_GET_SIZE(path);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *step = PyTuple_GET_ITEM(path, i);
        PyObject *next;
        if (PyLong_CheckExact(step))
            next = Py_XNewRef(PyTuple_GetItem(obj, PyLong_AsSsize_t(step)));
        else
            next = PyObject_GetAttr(obj, step);
        Py_DECREF(obj);
        if (next == NULL)
            return NULL;
        obj = next;
    }
    return obj;
}

static inline PyObject *
get_field(PyObject *obj, PyObject *key)
{
    if (PyLong_CheckExact(key))
        return Py_XNewRef(PyTuple_GetItem(obj, PyLong_AsSsize_t(key)));
    return PyObject_GetAttr(obj, key);
}

/* A float or int (not a bool) as a double; NaN for anything else, or an int beyond a double. */
static double
number_of(PyObject *value)
{
    if (PyFloat_Check(value))
        return PyFloat_AS_DOUBLE(value);
    if (!PyLong_Check(value) || PyBool_Check(value))
        return NAN;
    double v = PyLong_AsDouble(value);
    if (v == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        return NAN;
    }
    return v;
}

static int
digits(const char *p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* collector.fastpath.parse_iso: YYYY-MM-DDTHH:MM:SS[.fraction][Z|+00:00] (UTC) as seconds, NaN otherwise. */
static double
iso_seconds(const char *t, Py_ssize_t n)
{
    static const int month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (n < 19 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':')
        return NAN;
    int year = digits(t, 4), month = digits(t + 5, 2), day = digits(t + 8, 2);
    int hour = digits(t + 11, 2), minute = digits(t + 14, 2), second = digits(t + 17, 2);
    if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0)
        return NAN;
    const char *p = t + 19, *end = t + n;
    long long micros = 0;
    if (p < end && *p == '.') {
        const char *f = ++p;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
        Py_ssize_t len = p - f;
        if (len == 0 || len > 9)
            return NAN;
        for (Py_ssize_t i = 0; i < 6; i++)
            micros = micros * 10 + (i < len ? f[i] - '0' : 0);
    }
    Py_ssize_t rest = end - p;
    if (!(rest == 0 || (rest == 1 && *p == 'Z') || (rest == 6 && memcmp(p, "+00:00", 6) == 0)))
        return NAN;
    int leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    int days_in = month >= 1 && month <= 12 ? (month == 2 && leap ? 29 : month_days[month - 1]) : 0;
    if (year < 1970 || day < 1 || day > days_in || hour > 23 || minute > 59 || second > 59)
        return NAN;
    /* Days from 1970-01-01 (proleptic Gregorian, years from 1970 on). */
    long long y = year - (month <= 2);
    long long era = y / 400, yoe = y - era * 400;
    long long doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    long long days = era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
    long long total = ((days * 86400 + hour * 3600 + minute * 60 + second) * 1000000LL + micros);
    return (double)total / 1000000.0;
}

/* One argument's value (a new reference). Returns NULL with an exception set on error, or NULL
 * with *declined = 1 and no exception when the frame must go to the adapter. */
static PyObject *
arg_value(PyObject *spec, PyObject *item, PyObject *symbol, PyObject *received, PyObject *out, int *declined)
{
    long op = PyLong_AsLong(PyTuple_GET_ITEM(spec, 0));
    switch (op) {
    case OP_CONST:
        return Py_NewRef(PyTuple_GET_ITEM(spec, 1));
    case OP_SYMBOL:
        return Py_NewRef(symbol);
    case OP_RECEIVED:
        return Py_NewRef(received);
    case OP_OUT:
        return Py_NewRef(out);
    default:
        break;
    }
    PyObject *value = get_path(item, PyTuple_GET_ITEM(spec, 1));
    if (value == NULL)
        return NULL;
    switch (op) {
    case OP_ATTR:
        return value;
    case OP_MILLIS: {
        if (value == Py_None)
            return value;
        PyObject *plus = PyTuple_GET_ITEM(spec, 2);
        /* (op, path, plus, per_second): milliseconds (1000.0) or microseconds (1e6) */
        PyObject *per_second = PyTuple_GET_SIZE(spec) > 3 ? PyTuple_GET_ITEM(spec, 3) : THOUSAND;
        if (PyLong_CheckExact(value)) {
            int overflow;
            long long ms = PyLong_AsLongLongAndOverflow(value, &overflow) + PyLong_AsLongLong(plus);
            /* Below 2**53 the integer converts to a double exactly: the same value as Python's
             * (ms + plus) / per_second. Larger ones take Python's arithmetic. */
            if (!overflow && ms > -(1LL << 53) && ms < (1LL << 53)) {
                Py_DECREF(value);
                return PyFloat_FromDouble((double)ms / PyFloat_AsDouble(per_second));
            }
            PyErr_Clear();
        }
        PyObject *sum = PyNumber_Add(value, plus);
        Py_DECREF(value);
        if (sum == NULL)
            return NULL;
        PyObject *seconds = PyNumber_TrueDivide(sum, per_second);
        Py_DECREF(sum);
        return seconds;
    }
    case OP_TEXT: {
        if (PyLong_CheckExact(value)) {
            int overflow;
            long long v = PyLong_AsLongLongAndOverflow(value, &overflow);
            if (!overflow && !(v == -1 && PyErr_Occurred())) {
                /* Decimal digits of an int64, as str(int) writes them. */
                char digits[24], *end = digits + sizeof(digits), *p = end;
                unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
                do {
                    *--p = (char)('0' + u % 10);
                    u /= 10;
                } while (u);
                if (v < 0)
                    *--p = '-';
                Py_DECREF(value);
                return PyUnicode_FromStringAndSize(p, end - p);
            }
            PyErr_Clear();
        }
        PyObject *text = PyObject_Str(value);
        Py_DECREF(value);
        return text;
    }
    case OP_CHOICE:
    case OP_SYMBOL_FROM: {
        PyObject *mapped = PyDict_GetItemWithError(PyTuple_GET_ITEM(spec, 2), value);
        Py_DECREF(value);
        if (mapped == NULL) {
            PyErr_Clear(); /* unknown or unhashable: the adapter decides */
            *declined = 1;
            return NULL;
        }
        return Py_NewRef(mapped);
    }
    case OP_LEVELS: {
        PyObject *entries = PySequence_Fast(value, "levels: not a list");
        Py_DECREF(value);
        if (entries == NULL)
            return NULL;
        /* (op, path, price, size, side field, side value, skip zero) */
        PyObject *price_name = PyTuple_GET_ITEM(spec, 2), *size_name = PyTuple_GET_ITEM(spec, 3);
        PyObject *side_name = PyTuple_GET_ITEM(spec, 4), *side_value = PyTuple_GET_ITEM(spec, 5);
        int skip_zero = PyObject_IsTrue(PyTuple_GET_ITEM(spec, 6));
        Py_ssize_t n = PySequence_Fast_GET_SIZE(entries);
        PyObject *result = PyList_New(0);
        for (Py_ssize_t i = 0; result != NULL && i < n; i++) {
            PyObject *entry = PySequence_Fast_GET_ITEM(entries, i);
            if (side_name != Py_None) {
                PyObject *side = get_field(entry, side_name);
                int same = side != NULL ? PyObject_RichCompareBool(side, side_value, Py_EQ) : -1;
                Py_XDECREF(side);
                if (same < 0) {
                    Py_CLEAR(result);
                    break;
                }
                if (!same)
                    continue;
            }
            PyObject *price = get_field(entry, price_name);
            if (price == NULL) {
                Py_CLEAR(result);
                break;
            }
            PyObject *size = get_field(entry, size_name);
            if (size == NULL) {
                Py_DECREF(price);
                Py_CLEAR(result);
                break;
            }
            int keep = 1;
            if (skip_zero) {
                keep = PyObject_IsTrue(price);
                if (keep > 0)
                    keep = PyObject_IsTrue(size);
            }
            PyObject *pair = keep > 0 ? PyTuple_Pack(2, price, size) : NULL;
            Py_DECREF(price);
            Py_DECREF(size);
            if (keep < 0 || (keep > 0 && (pair == NULL || PyList_Append(result, pair) < 0)))
                Py_CLEAR(result);
            Py_XDECREF(pair);
        }
        Py_DECREF(entries);
        return result;
    }
    case OP_SIGN: {
        /* (op, path, negative, positive): a side from a signed quantity; 0 declines */
        double v = number_of(value);
        Py_DECREF(value);
        if (!(v < 0.0 || v > 0.0)) {
            *declined = 1;
            return NULL;
        }
        return Py_NewRef(PyTuple_GET_ITEM(spec, v < 0.0 ? 2 : 3));
    }
    case OP_SCALED: {
        /* (op, path, factor): |value| * factor, as a float */
        double v = number_of(value);
        Py_DECREF(value);
        if (isnan(v) || isinf(v)) {
            *declined = 1;
            return NULL;
        }
        return PyFloat_FromDouble(fabs(v) * PyFloat_AsDouble(PyTuple_GET_ITEM(spec, 2)));
    }
    case OP_ISO: {
        double seconds = NAN;
        if (PyUnicode_Check(value)) {
            Py_ssize_t n;
            const char *text = PyUnicode_AsUTF8AndSize(value, &n);
            if (text == NULL)
                PyErr_Clear();
            else
                seconds = iso_seconds(text, n);
        }
        Py_DECREF(value);
        if (isnan(seconds)) {
            *declined = 1;
            return NULL;
        }
        return PyFloat_FromDouble(seconds);
    }
    case OP_RATIO: {
        /* (op, numerator path, denominator path, factor) */
        double a = number_of(value);
        Py_DECREF(value);
        PyObject *other = get_path(item, PyTuple_GET_ITEM(spec, 2));
        if (other == NULL)
            return NULL;
        double b = number_of(other);
        Py_DECREF(other);
        if (isnan(a) || isinf(a) || isnan(b) || isinf(b) || b == 0.0) {
            *declined = 1;
            return NULL;
        }
        return PyFloat_FromDouble(a / b * PyFloat_AsDouble(PyTuple_GET_ITEM(spec, 3)));
    }
    default:
        Py_DECREF(value);
        PyErr_Format(PyExc_ValueError, "router: unknown argument op %ld", op);
        return NULL;
    }
}

/* Run one step for one item: 0 done, DECLINED, -1 error. */
static int
run_step(long kind, PyObject *target, PyObject *args, PyObject *check, PyObject *item, PyObject *symbol,
         PyObject *received, PyObject *out)
{
    Py_ssize_t n = PyTuple_GET_SIZE(args);
    PyObject *values[MAX_ARGS] = {NULL};
    if (n > MAX_ARGS) {
        PyErr_SetString(PyExc_ValueError, "router: too many arguments in a step");
        return -1;
    }
    int declined = 0;
    Py_ssize_t made = 0;
    for (; made < n; made++) {
        values[made] = arg_value(PyTuple_GET_ITEM(args, made), item, symbol, received, out, &declined);
        if (values[made] == NULL)
            break;
    }
    int rc = 0;
    if (made < n) {
        rc = declined ? DECLINED : -1;
    } else {
        PyObject *result = PyObject_Vectorcall(target, values, (size_t)n, NULL);
        if (result == NULL) {
            rc = -1;
        } else if (kind == STEP_EMIT && check != Py_None) {
            /* check(event) names what is impossible about it: the adapter's boundary reports that */
            PyObject *verdict = PyObject_CallOneArg(check, result);
            if (verdict == NULL)
                rc = -1;
            else if (verdict != Py_None)
                rc = DECLINED;
            else
                rc = PyList_Append(out, result);
            Py_XDECREF(verdict);
        } else if (kind == STEP_EMIT) {
            rc = PyList_Append(out, result);
        }
        Py_XDECREF(result);
    }
    for (Py_ssize_t i = 0; i < made; i++)
        Py_DECREF(values[i]);
    return rc;
}

/* 0 when every step's condition holds, DECLINED when one does not, -1 on error. */
static int
conditions_hold(PyObject *steps, PyObject *message)
{
    Py_ssize_t n = PyTuple_GET_SIZE(steps);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *condition = PyTuple_GET_ITEM(PyTuple_GET_ITEM(steps, i), 4);
        if (condition == Py_None)
            continue;
        PyObject *value = get_path(message, PyTuple_GET_ITEM(condition, 0));
        if (value == NULL)
            return -1;
        int equal = PyObject_RichCompareBool(value, PyTuple_GET_ITEM(condition, 1), Py_EQ);
        Py_DECREF(value);
        if (equal < 0)
            return -1;
        if (!equal)
            return DECLINED;
    }
    return 0;
}

/* In the JSON object starting at obj (which must be '{'), the value of its own key matching
 * pattern ("<key>":), scanning no further than end. Strings are skipped whole (a quote inside
 * one is escaped), so a match at depth 1 is a key of this object, never one of a nested
 * object or text inside a value. Returns just past the value's opening quote when want is
 * '"', the value's '{' itself when want is '{'; NULL when absent or of another type. */
static const char *
find_key(const char *obj, const char *end, const char *pattern, Py_ssize_t plen, char want)
{
    if (end - obj < 2 || obj[0] != '{')
        return NULL;
    const char *p = obj + 1;
    int depth = 1;
    while (p < end) {
        char ch = *p;
        if (ch == '"') {
            if (depth == 1 && end - p >= plen && memcmp(p, pattern, (size_t)plen) == 0) {
                const char *q = p + plen;
                while (q < end && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r'))
                    q++;
                if (q >= end || *q != want)
                    return NULL;
                return want == '"' ? q + 1 : q;
            }
            p++;
            while (p < end && *p != '"')
                p += *p == '\\' ? 2 : 1;
            p++;
            continue;
        }
        if (ch == '{' || ch == '[')
            depth++;
        else if ((ch == '}' || ch == ']') && --depth == 0)
            return NULL;
        p++;
    }
    return NULL;
}

/* The routing value's first byte for a key path ("result.subscription": parents, then the key),
 * all within the frame's first `limit` bytes; NULL when the path is not there. */
static const char *
find_key_path(const char *data, Py_ssize_t size, PyObject *parents, const char *pattern, Py_ssize_t plen,
              Py_ssize_t limit)
{
    const char *end = data + (size < limit ? size : limit);
    const char *obj = data;
    Py_ssize_t n = PyTuple_GET_SIZE(parents);
    for (Py_ssize_t i = 0; i < n && obj != NULL; i++) {
        PyObject *parent = PyTuple_GET_ITEM(parents, i);
        obj = find_key(obj, end, PyBytes_AS_STRING(parent), PyBytes_GET_SIZE(parent), '{');
    }
    return obj != NULL ? find_key(obj, end, pattern, plen, '"') : NULL;
}

static PyObject *
router_route(Router *self, PyObject *conn, PyObject *frame, PyObject *received)
{
    const char *data;
    Py_ssize_t size;
    int raw = 0;
    if (PyUnicode_Check(frame)) {
        data = PyUnicode_AsUTF8AndSize(frame, &size);
        if (data == NULL) {
            PyErr_Clear(); /* lone surrogates: the adapter decides */
            Py_RETURN_NONE;
        }
    } else if (PyBytes_CheckExact(frame)) {
        /* JSON sent in binary frames (Upbit): read in place, every string it keeps decoded
         * strictly, and any other non-ASCII byte left to the decoder. */
        data = PyBytes_AS_STRING(frame);
        size = PyBytes_GET_SIZE(frame);
        raw = 1;
    } else {
        Py_RETURN_NONE;
    }
    const char *prefix = PyBytes_AS_STRING(self->prefix);
    Py_ssize_t plen = PyBytes_GET_SIZE(self->prefix);
    const char *start;
    if (self->within) {
        start = find_key_path(data, size, self->parents, prefix, plen, self->within);
        if (start == NULL)
            Py_RETURN_NONE;
    } else {
        if (size <= plen || memcmp(data, prefix, (size_t)plen) != 0)
            Py_RETURN_NONE;
        start = data + plen;
    }
    const char *end = start + (data + size - start > KEY_SCAN ? KEY_SCAN : data + size - start), *p = start;
    while (p < end && *p != '"' && *p != '\\')
        p++;
    if (p >= end || *p != '"')
        Py_RETURN_NONE;
    PyObject *value = PyUnicode_DecodeUTF8(start, p - start, "strict");
    if (value == NULL) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    PyObject *key = value;
    if (self->per_conn) {
        key = PyTuple_Pack(2, conn, value);
        Py_DECREF(value);
        if (key == NULL)
            return NULL;
    }
    PyObject *route = PyDict_GetItemWithError(self->routes, key);
    Py_DECREF(key);
    if (route == NULL) {
        if (PyErr_Occurred())
            return NULL;
        Py_RETURN_NONE;
    }
    PyObject *decode = PyTuple_GET_ITEM(route, 0), *symbol = PyTuple_GET_ITEM(route, 1);
    PyObject *steps = PyTuple_GET_ITEM(route, 2), *schema = PyTuple_GET_ITEM(route, 3);
    PyObject *message = NULL;
    if (schema != Py_None) {
        int scanned;
        message = scan_frame(data, size, raw, PyCapsule_GetPointer(schema, "collector.schema"), &scanned);
        if (message != NULL)
            steps = PyTuple_GET_ITEM(route, 4);
        else if (scanned == FAILED)
            return NULL;
    }
    if (message == NULL && raw) {
        /* The decoder skips the strings it does not keep without checking their UTF-8; a
         * bytes frame it reads must be shown to be UTF-8 first (the scanner checks what it reads). */
        PyObject *text = PyUnicode_DecodeUTF8(data, size, "strict");
        if (text == NULL) {
            PyErr_Clear();
            Py_RETURN_NONE;
        }
        Py_DECREF(text);
    }
    if (message == NULL) {
        message = PyObject_Vectorcall(decode, &frame, 1, NULL);
        if (message == NULL) {
            PyErr_Clear(); /* not the documented shape: the adapter reports it */
            Py_RETURN_NONE;
        }
    }
    int rc = conditions_hold(steps, message);
    PyObject *out = rc == 0 ? PyList_New(0) : NULL;
    if (rc == 0 && out == NULL)
        rc = -1;
    if (out != NULL)
        PyObject_GC_UnTrack(out); /* it holds events (no cycles) and lives for one frame */
    Py_ssize_t nsteps = PyTuple_GET_SIZE(steps);
    for (Py_ssize_t s = 0; rc == 0 && s < nsteps; s++) {
        PyObject *step = PyTuple_GET_ITEM(steps, s);
        long kind = PyLong_AsLong(PyTuple_GET_ITEM(step, 0));
        if (kind == STEP_GUARD)
            continue; /* only its condition, checked with the others before any step ran */
        PyObject *target = PyTuple_GET_ITEM(step, 1), *args = PyTuple_GET_ITEM(step, 2);
        PyObject *each = PyTuple_GET_ITEM(step, 3), *check = PyTuple_GET_ITEM(step, 6);
        PyObject *base = get_path(message, PyTuple_GET_ITEM(step, 5));
        if (base == NULL) {
            rc = -1;
            break;
        }
        if (each == Py_None) {
            rc = run_step(kind, target, args, check, base, symbol, received, out);
            Py_DECREF(base);
            continue;
        }
        PyObject *items = get_path(base, each);
        Py_DECREF(base);
        PyObject *seq = items != NULL ? PySequence_Fast(items, "router: each needs a list") : NULL;
        Py_XDECREF(items);
        if (seq == NULL) {
            rc = -1;
            break;
        }
        Py_ssize_t count = PySequence_Fast_GET_SIZE(seq);
        for (Py_ssize_t i = 0; rc == 0 && i < count; i++)
            rc = run_step(kind, target, args, check, PySequence_Fast_GET_ITEM(seq, i), symbol, received, out);
        Py_DECREF(seq);
    }
    Py_DECREF(message);
    if (rc == DECLINED) {
        Py_XDECREF(out);
        Py_RETURN_NONE;
    }
    if (rc < 0) {
        /* A step raised (a bug, never a bad frame: those decline): the adapter reports it. */
        Py_XDECREF(out);
        PyObject *type, *exc, *tb;
        PyErr_Fetch(&type, &exc, &tb);
        PyErr_NormalizeException(&type, &exc, &tb);
        if (exc == NULL) {
            PyErr_Restore(type, exc, tb);
            return NULL;
        }
        if (tb != NULL)
            PyException_SetTraceback(exc, tb);
        PyObject *call[4] = {conn, frame, received, exc};
        PyObject *reported = PyObject_Vectorcall(self->on_error, call, 4, NULL);
        Py_XDECREF(type);
        Py_DECREF(exc);
        Py_XDECREF(tb);
        return reported;
    }
    if (PyDict_SetItem(self->data_at, conn, received) < 0) {
        Py_DECREF(out);
        return NULL;
    }
    return out;
}

static PyObject *
router_vectorcall(PyObject *op, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (nargs != 3 || kwnames != NULL) {
        PyErr_SetString(PyExc_TypeError, "Router(conn, frame, received)");
        return NULL;
    }
    PyObject *out = router_route((Router *)op, args[0], args[1], args[2]);
    if (out != Py_None)
        return out;
    Py_DECREF(out);
    return PyObject_Vectorcall(((Router *)op)->fallback, args, 3, NULL);
}

static PyObject *
router_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *names[] = {"key", "data_at", "fallback", "on_error", "per_conn", "within", "prefix", NULL};
    PyObject *key, *data_at, *fallback, *on_error, *literal = Py_None;
    int per_conn = 0;
    Py_ssize_t within = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "UO!OO|$pnO", names, &key, &PyDict_Type, &data_at, &fallback,
                                     &on_error, &per_conn, &within, &literal))
        return NULL;
    if (within < 0) {
        PyErr_SetString(PyExc_ValueError, "within must be >= 0");
        return NULL;
    }
    if (literal != Py_None && (!PyUnicode_Check(literal) || within)) {
        PyErr_SetString(PyExc_ValueError, "prefix must be a str, and cannot be combined with within");
        return NULL;
    }
    PyObject *dot = PyUnicode_FromString(".");
    PyObject *parts = dot != NULL ? PyUnicode_Split(key, dot, -1) : NULL;
    Py_XDECREF(dot);
    if (parts == NULL)
        return NULL;
    Router *self = (Router *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->vectorcall = router_vectorcall;
    self->key = Py_NewRef(key);
    const char *name = PyUnicode_AsUTF8(key);
    self->within = within;
    Py_ssize_t nparts = PyList_GET_SIZE(parts);
    self->parents = PyTuple_New(within ? nparts - 1 : 0);
    for (Py_ssize_t i = 0; self->parents != NULL && within && i < nparts - 1; i++) {
        PyObject *pattern = PyBytes_FromFormat("\"%s\":", PyUnicode_AsUTF8(PyList_GET_ITEM(parts, i)));
        if (pattern == NULL)
            Py_CLEAR(self->parents);
        else
            PyTuple_SET_ITEM(self->parents, i, pattern);
    }
    const char *last = PyUnicode_AsUTF8(PyList_GET_ITEM(parts, nparts - 1));
    if (literal != Py_None)
        self->prefix = PyUnicode_AsUTF8String(literal);
    else if (name == NULL || last == NULL)
        self->prefix = NULL;
    else
        self->prefix = within ? PyBytes_FromFormat("\"%s\":", last) : PyBytes_FromFormat("{\"%s\":\"", name);
    Py_DECREF(parts);
    self->data_at = Py_NewRef(data_at);
    self->fallback = Py_NewRef(fallback);
    self->on_error = Py_NewRef(on_error);
    self->routes = PyDict_New();
    self->per_conn = per_conn;
    if (self->prefix == NULL || self->routes == NULL || self->parents == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static PyObject *
router_add(PyObject *op, PyObject *args, PyObject *kwds)
{
    Router *self = (Router *)op;
    if (COMPILE_ROUTE == NULL) {
        PyObject *module = PyImport_ImportModule("collector.fastpath");
        if (module == NULL)
            return NULL;
        COMPILE_ROUTE = PyObject_GetAttrString(module, "compile_route");
        Py_DECREF(module);
        if (COMPILE_ROUTE == NULL)
            return NULL;
    }
    Py_ssize_t nargs = PyTuple_GET_SIZE(args);
    if (nargs < 3) {
        PyErr_SetString(PyExc_TypeError, "add(value, decoder, symbol, *steps, conn=None)");
        return NULL;
    }
    PyObject *conn = Py_None;
    if (kwds != NULL) {
        PyObject *given = PyDict_GetItemString(kwds, "conn");
        if (given != NULL)
            conn = given;
        if (PyDict_GET_SIZE(kwds) > (given != NULL ? 1 : 0)) {
            PyErr_SetString(PyExc_TypeError, "add() takes only conn= as a keyword");
            return NULL;
        }
    }
    PyObject *decode = PyObject_GetAttrString(PyTuple_GET_ITEM(args, 1), "decode");
    if (decode == NULL)
        return NULL;
    PyObject *steps = PyTuple_GetSlice(args, 3, nargs);
    /* fastpath.compile_route: the scanner schema and the steps on its output, or (None, None) */
    PyObject *compiled = steps != NULL ? PyObject_CallFunctionObjArgs(COMPILE_ROUTE, PyTuple_GET_ITEM(args, 1), steps, NULL)
                                       : NULL;
    PyObject *route = NULL, *capsule = NULL;
    if (compiled != NULL && PyTuple_Check(compiled) && PyTuple_GET_SIZE(compiled) == 2) {
        PyObject *description = PyTuple_GET_ITEM(compiled, 0);
        if (description == Py_None) {
            capsule = Py_NewRef(Py_None);
        } else {
            Node *tree = node_build(description);
            capsule = tree != NULL ? PyCapsule_New(tree, "collector.schema", schema_capsule_free) : NULL;
            if (capsule == NULL)
                node_free(tree);
        }
        /* The description stays in the route: the compiled tree borrows its names and defaults. */
        if (capsule != NULL)
            route = PyTuple_Pack(6, decode, PyTuple_GET_ITEM(args, 2), steps, capsule, PyTuple_GET_ITEM(compiled, 1),
                                 description);
    } else if (compiled != NULL) {
        PyErr_SetString(PyExc_TypeError, "compile_route must return (schema, steps)");
    }
    Py_XDECREF(capsule);
    Py_DECREF(decode);
    Py_XDECREF(steps);
    Py_XDECREF(compiled);
    if (route == NULL)
        return NULL;
    PyObject *key = self->per_conn ? PyTuple_Pack(2, conn, PyTuple_GET_ITEM(args, 0)) : Py_NewRef(PyTuple_GET_ITEM(args, 0));
    int rc = key != NULL ? PyDict_SetItem(self->routes, key, route) : -1;
    Py_XDECREF(key);
    Py_DECREF(route);
    if (rc < 0)
        return NULL;
    Py_RETURN_NONE;
}

static Py_ssize_t
router_len(PyObject *op)
{
    return PyDict_GET_SIZE(((Router *)op)->routes);
}

static int
router_traverse(Router *self, visitproc visit, void *arg)
{
    Py_VISIT(self->key);
    Py_VISIT(self->data_at);
    Py_VISIT(self->routes);
    Py_VISIT(self->fallback);
    Py_VISIT(self->on_error);
    return 0;
}

static int
router_clear(Router *self)
{
    Py_CLEAR(self->key);
    Py_CLEAR(self->prefix);
    Py_CLEAR(self->parents);
    Py_CLEAR(self->data_at);
    Py_CLEAR(self->routes);
    Py_CLEAR(self->fallback);
    Py_CLEAR(self->on_error);
    return 0;
}

static void
router_dealloc(Router *self)
{
    PyObject_GC_UnTrack(self);
    router_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef router_methods[] = {
    {"add", (PyCFunction)(void (*)(void))router_add, METH_VARARGS | METH_KEYWORDS,
     "add(value, decoder, symbol, *steps, conn=None): route frames whose key field is value."},
    {NULL, NULL, 0, NULL},
};

static PyMappingMethods router_mapping = {.mp_length = router_len};

static PyTypeObject RouterType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "collector._speedups.Router",
    .tp_basicsize = sizeof(Router),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "Router(key, data_at, fallback, on_error, *, per_conn=False, within=0, prefix=None): "
              "collector.fastpath.PyRouter in C.",
    .tp_new = router_new,
    .tp_methods = router_methods,
    .tp_as_mapping = &router_mapping,
    .tp_traverse = (traverseproc)router_traverse,
    .tp_clear = (inquiry)router_clear,
    .tp_dealloc = (destructor)router_dealloc,
    .tp_call = PyVectorcall_Call,
    .tp_vectorcall_offset = offsetof(Router, vectorcall),
};


/* load_side(levels) -> (prices, sizes) | None: collector.orderbook._load_side. */
typedef struct {
    double price, size;
    Py_ssize_t order; /* position in the input: a repeated price keeps the last */
} SideLevel;

static int
compare_levels(const void *a, const void *b)
{
    const SideLevel *x = a, *y = b;
    if (x->price < y->price)
        return -1;
    if (x->price > y->price)
        return 1;
    return x->order < y->order ? -1 : (x->order > y->order);
}

static PyObject *ARRAY;  /* array.array */
static PyObject *DOUBLE; /* "d" */

/* An array('d') of the `n` doubles at `values` (one copy, not a conversion per element). */
static PyObject *
doubles_array(const double *values, Py_ssize_t n)
{
    PyObject *bytes = PyBytes_FromStringAndSize((const char *)values, n * (Py_ssize_t)sizeof(double));
    if (bytes == NULL)
        return NULL;
    PyObject *out = PyObject_CallFunctionObjArgs(ARRAY, DOUBLE, bytes, NULL);
    Py_DECREF(bytes);
    return out;
}

static PyObject *
load_side(PyObject *module, PyObject *levels_obj)
{
    PyObject *levels = PySequence_Fast(levels_obj, "load_side: levels must be a sequence");
    if (levels == NULL)
        return NULL;
    int valid = valid_side(levels);
    if (valid <= 0) {
        Py_DECREF(levels);
        if (valid < 0)
            return NULL;
        Py_RETURN_NONE;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(levels);
    PyObject **items = PySequence_Fast_ITEMS(levels);
    SideLevel *buf = PyMem_Malloc(sizeof(SideLevel) * (size_t)(n ? n : 1));
    double *prices = PyMem_Malloc(2 * sizeof(double) * (size_t)(n ? n : 1));
    if (buf == NULL || prices == NULL) {
        PyMem_Free(buf);
        PyMem_Free(prices);
        Py_DECREF(levels);
        return PyErr_NoMemory();
    }
    double *sizes = prices + n;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *price = NULL, *size = NULL;
        level_of(items[i], &price, &size); /* checked by valid_side */
        as_double(price, &buf[i].price);
        as_double(size, &buf[i].size);
        buf[i].order = i;
    }
    Py_DECREF(levels);
    /* Exchanges send a side best first: bids descending, asks ascending. A side strictly in
     * either order (no repeated price) needs no sort; anything else is sorted, stably. */
    int ascending = 1, descending = 1;
    for (Py_ssize_t i = 1; i < n && (ascending || descending); i++) {
        ascending &= buf[i - 1].price < buf[i].price;
        descending &= buf[i - 1].price > buf[i].price;
    }
    if (descending && !ascending) {
        for (Py_ssize_t i = 0, j = n - 1; i < j; i++, j--) {
            SideLevel t = buf[i];
            buf[i] = buf[j];
            buf[j] = t;
        }
    }
    else if (!ascending)
        qsort(buf, (size_t)n, sizeof(SideLevel), compare_levels);
    Py_ssize_t kept = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (i + 1 < n && buf[i + 1].price == buf[i].price)
            continue; /* the last of a repeated price wins */
        if (buf[i].size == 0.0)
            continue;
        prices[kept] = buf[i].price;
        sizes[kept] = buf[i].size;
        kept++;
    }
    PyMem_Free(buf);
    PyObject *price_array = doubles_array(prices, kept);
    PyObject *size_array = price_array != NULL ? doubles_array(sizes, kept) : NULL;
    PyMem_Free(prices);
    PyObject *out = size_array != NULL ? PyTuple_Pack(2, price_array, size_array) : NULL;
    Py_XDECREF(price_array);
    Py_XDECREF(size_array);
    return out;
}

/* parse_iso(text) -> float | None: collector.fastpath.parse_iso, as the router reads times. */
static PyObject *
parse_iso(PyObject *module, PyObject *text)
{
    if (!PyUnicode_Check(text))
        Py_RETURN_NONE;
    Py_ssize_t n;
    const char *t = PyUnicode_AsUTF8AndSize(text, &n);
    if (t == NULL) {
        /* A lone surrogate has no UTF-8: not a time either. */
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    double seconds = iso_seconds(t, n);
    if (isnan(seconds))
        Py_RETURN_NONE;
    return PyFloat_FromDouble(seconds);
}

/* In _crc.c. */
PyObject *collector_level_crc(PyObject *module, PyObject *const *args, Py_ssize_t nargs);

static PyMethodDef methods[] = {
    {"load_side", (PyCFunction)load_side, METH_O,
     "load_side(levels) -> (prices, sizes) array('d') ascending, size 0 dropped, last of a repeated price; None if invalid."},
    {"apply_delta", (PyCFunction)(void (*)(void))apply_delta, METH_FASTCALL,
     "apply_delta(bid_prices, bid_sizes, bids, ask_prices, ask_sizes, asks) -> 0 applied, 1 invalid, 2 crossed."},
    {"level_crc", (PyCFunction)(void (*)(void))collector_level_crc, METH_FASTCALL,
     "level_crc(bid_prices, bid_sizes, ask_prices, ask_sizes, depth, bid_texts, ask_texts, flags, separator) -> "
     "CRC32 of the best levels' texts, None if one has no text."},
    {"parse_iso", (PyCFunction)parse_iso, METH_O,
     "parse_iso(text) -> seconds of YYYY-MM-DDTHH:MM:SS[.fraction][Z|+00:00] (UTC), None for anything else."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "collector._speedups", "Optional C accelerators; see collector.speedups.", -1, methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    if (PyType_Ready(&RouterType) < 0)
        return NULL;
    THOUSAND = PyFloat_FromDouble(1000.0);
    PyObject *array = PyImport_ImportModule("array");
    if (array != NULL) {
        ARRAY = PyObject_GetAttrString(array, "array");
        Py_DECREF(array);
        if (ARRAY != NULL)
            APPEND = PyObject_GetAttrString(ARRAY, "append");
    }
    DOUBLE = PyUnicode_InternFromString("d");
    if (THOUSAND == NULL || APPEND == NULL || DOUBLE == NULL)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddObjectRef(m, "Router", (PyObject *)&RouterType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    PyObject *names = Py_BuildValue("[sssss]", "Router", "apply_delta", "level_crc", "load_side", "parse_iso");
    int added = names != NULL ? PyModule_AddObjectRef(m, "__all__", names) : -1;
    Py_XDECREF(names);
    if (added < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
