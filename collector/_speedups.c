/*
 * collector._speedups: optional C accelerators for the two hottest paths.
 *
 *   apply_side(prices, sizes, levels)
 *       The same operation as collector.book._apply_side: absolute sizes, 0 removes, one
 *       book side as two aligned lists sorted by price ascending.
 *
 *   BinanceScanner(exchange, symbols, channels, trade, ticker, candle, fallback, delta)
 *       Called with (frame, received), reads one Binance combined-stream frame in the
 *       compact shape Binance sends and returns the event (Trade / Ticker / Candle) or, for
 *       a depth diff, the tuple (symbol, bids, asks, U, u, pu, timestamp, received) for
 *       BookSync.delta. Its parse(conn, frame, received) is the adapter's whole parse:
 *       scanned frames become a list of events, the rest goes to the Python `fallback`.
 *       After enable_books(...), a depth diff that continues a live book by the rule is
 *       applied here (book_step); every other diff goes to BookSync.delta, which owns the
 *       state machine.
 *       It returns None for anything it is not certain about (control messages, unknown
 *       streams or symbols, escapes, unexpected types, duplicate keys, trailing bytes,
 *       non-finite numbers): the caller then runs the Python adapter path, which decides
 *       and reports. The scanner therefore never produces an error of its own and never
 *       produces a value the Python path would not.
 *
 * Numbers: decimal strings are converted with PyOS_string_to_double (correctly rounded,
 * locale independent), the same result as msgspec's parser gives for the same text.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ------------------------------------------------------------------------------------ */
/* apply_side                                                                            */
/* ------------------------------------------------------------------------------------ */

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

/* bisect_left over a list of numbers, by value. */
static Py_ssize_t
bisect_left(PyObject *list, double x)
{
    Py_ssize_t lo = 0, hi = PyList_GET_SIZE(list);
    while (lo < hi) {
        Py_ssize_t mid = (lo + hi) / 2;
        double v;
        if (as_double(PyList_GET_ITEM(list, mid), &v) < 0)
            return -1;
        if (v < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int
apply_level(PyObject *prices, PyObject *sizes, PyObject *price, PyObject *size)
{
    double px, held;
    if (as_double(price, &px) < 0)
        return -1;
    int truth = PyObject_IsTrue(size);
    if (truth < 0)
        return -1;
    Py_ssize_t at = bisect_left(prices, px);
    if (at < 0)
        return -1;
    if (PyList_GET_SIZE(sizes) != PyList_GET_SIZE(prices)) {
        PyErr_SetString(PyExc_ValueError, "apply_side: prices and sizes differ in length");
        return -1;
    }
    if (at < PyList_GET_SIZE(prices)) {
        if (as_double(PyList_GET_ITEM(prices, at), &held) < 0)
            return -1;
        if (held == px) {
            if (truth) /* a new size for a level we hold */
                return PyList_SetItem(sizes, at, Py_NewRef(size));
            if (PyList_SetSlice(prices, at, at + 1, NULL) < 0)
                return -1;
            return PyList_SetSlice(sizes, at, at + 1, NULL);
        }
    }
    if (!truth)
        return 0; /* a removal for a level we do not hold */
    if (PyList_Insert(prices, at, price) < 0)
        return -1;
    return PyList_Insert(sizes, at, size);
}

/* Apply every (price, size) of `levels` to one side. */
static int
apply_levels(PyObject *prices, PyObject *sizes, PyObject *levels_obj)
{
    PyObject *levels = PySequence_Fast(levels_obj, "apply_side: levels must be iterable");
    if (levels == NULL)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(levels);
    PyObject **items = PySequence_Fast_ITEMS(levels);
    int rc = 0;
    for (Py_ssize_t i = 0; i < n && rc == 0; i++) {
        PyObject *level = items[i];
        if (PyTuple_CheckExact(level) && PyTuple_GET_SIZE(level) == 2) {
            rc = apply_level(prices, sizes, PyTuple_GET_ITEM(level, 0), PyTuple_GET_ITEM(level, 1));
            continue;
        }
        PyObject *pair = PySequence_Fast(level, "apply_side: a level must be (price, size)");
        if (pair == NULL) {
            rc = -1;
        } else if (PySequence_Fast_GET_SIZE(pair) != 2) {
            PyErr_SetString(PyExc_ValueError, "apply_side: a level must be (price, size)");
            rc = -1;
        } else {
            rc = apply_level(prices, sizes, PySequence_Fast_GET_ITEM(pair, 0), PySequence_Fast_GET_ITEM(pair, 1));
        }
        Py_XDECREF(pair);
    }
    Py_DECREF(levels);
    return rc;
}

static PyObject *
apply_side(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "apply_side(prices, sizes, levels) takes 3 arguments");
        return NULL;
    }
    PyObject *prices = args[0], *sizes = args[1];
    if (!PyList_Check(prices) || !PyList_Check(sizes)) {
        PyErr_SetString(PyExc_TypeError, "apply_side: prices and sizes must be lists");
        return NULL;
    }
    if (apply_levels(prices, sizes, args[2]) < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------------------------ */
/* A strict scanner for compact JSON                                                     */
/* ------------------------------------------------------------------------------------ */

/* Every scanning helper returns 0 on success and -1 for "not certain": the caller gives
 * up and returns None. -2 means a Python exception is set (out of memory). */
#define UNSURE (-1)
#define FAILED (-2)

typedef struct {
    const char *p;
    const char *end;
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
scan_string(Cursor *c, const char **s, Py_ssize_t *n)
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
is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static inline int
is_delimiter(const Cursor *c)
{
    const char *p = c->p;
    return p < c->end && (*p == ',' || *p == '}' || *p == ']' || *p == ' ' || *p == '\n' || *p == '\r' || *p == '\t');
}

/* One JSON number, read in a single pass: the grammar is checked while the significant
 * digits accumulate. `exact` stays set while the digits fit in 19 and there is no
 * exponent, so m * 10^exp10 is the number. */
typedef struct {
    const char *start; /* first character ('-' or a digit) */
    const char *end;   /* one past the last */
    uint64_t m;
    int exp10;
    int negative;
    int integral;
    int exact;
} Number;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SWAR_DIGITS 1
/* Eight ASCII digits at once (little-endian loads): Binance's decimals carry eight
 * fraction digits, so most numbers finish their fraction in one step. */
static inline uint64_t
load8(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline int
all_digits8(uint64_t v)
{
    /* every byte in '0'..'9': high nibble 3, and adding 6 does not carry into the high nibble */
    return ((v & 0xF0F0F0F0F0F0F0F0ull) | (((v + 0x0606060606060606ull) & 0xF0F0F0F0F0F0F0F0ull) >> 4)) ==
           0x3333333333333333ull;
}

static inline uint64_t
value8(uint64_t v)
{
    /* the first character is the lowest byte and the most significant digit */
    v = ((v & 0x0F0F0F0F0F0F0F0Full) * (10 * 256 + 1)) >> 8;                 /* pairs: 2 digits per 16 bits */
    v = ((v & 0x00FF00FF00FF00FFull) * (100 * 65536 + 1)) >> 16;             /* 4 digits per 32 bits */
    return ((v & 0x0000FFFF0000FFFFull) * (10000 * 4294967296ull + 1)) >> 32; /* all 8 */
}
#else
#define SWAR_DIGITS 0
#endif

/* While m stays below this, m * 10 + 9 cannot overflow 64 bits. */
#define MANTISSA_ROOM 1000000000000000000ull

static int
read_number(const char *p, const char *end, Number *n)
{
    /* Locals, stored once at the end: through `n` the compiler would have to write every
     * digit back to memory (the frame's bytes could alias it). */
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
                exact = 0; /* too many integer digits: strtod reads the text */
        }
    }
    if (p < end && *p == '.') {
        const char *first = ++p;
        integral = 0;
#if SWAR_DIGITS
        while (end - p >= 8 && m < 100000000000ull) {
            uint64_t chunk = load8(p);
            if (!all_digits8(chunk))
                break;
            m = m * 100000000ull + value8(chunk);
            exp10 -= 8;
            p += 8;
        }
#endif
        for (; p < end && (d = (unsigned)(*p - '0')) <= 9; p++) {
            if (m < MANTISSA_ROOM) {
                m = m * 10 + d;
                exp10--;
            } else if (d != 0) {
                exact = 0; /* zeros past the mantissa's room change nothing; anything else does */
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

/* A JSON integer (no fraction, no exponent) that fits in int64. */
static int
scan_int(Cursor *c, int64_t *out)
{
    Number n;
    ws(c);
    if (read_number(c->p, c->end, &n) < 0 || !n.integral || !n.exact || n.m > (uint64_t)INT64_MAX)
        return UNSURE; /* longer ids go the Python way */
    *out = n.negative ? -(int64_t)n.m : (int64_t)n.m;
    c->p = n.end;
    return is_delimiter(c) ? 0 : UNSURE;
}

/* Clinger's fast path: a decimal whose digits fit in 53 bits and whose power of ten is at
 * most 22 is one exact integer times or divided by one exact power of ten, so the single
 * IEEE operation rounds correctly -- the same double a full strtod gives. Needs plain
 * double arithmetic (SSE2), not x87 extended precision; otherwise the slow path is used. */
static const double POW10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* A number, bare or as a decimal string ("0.35130000"), to a finite double. */
static int
scan_float(Cursor *c, double *out)
{
    Number n;
    ws(c);
    if (c->p >= c->end)
        return UNSURE;
    int quoted = *c->p == '"';
    if (read_number(c->p + quoted, c->end, &n) < 0)
        return UNSURE;
    if (quoted && (n.end >= c->end || *n.end != '"'))
        return UNSURE;
    double v;
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
    if (n.exact && n.m <= ((uint64_t)1 << 53) && n.exp10 >= -22) {
        v = n.exp10 < 0 ? (double)n.m / POW10[-n.exp10] : (double)n.m;
        if (n.negative)
            v = -v;
    } else
#endif
    {
        char *stop = NULL;
        v = PyOS_string_to_double(n.start, &stop, NULL);
        if (v == -1.0 && PyErr_Occurred())
            return FAILED;
        if (stop != n.end || !isfinite(v))
            return UNSURE;
    }
    *out = v;
    c->p = n.end + quoted;
    return (quoted || is_delimiter(c)) ? 0 : UNSURE;
}

static int
scan_bool(Cursor *c, int *out)
{
    ws(c);
    if (c->end - c->p >= 4 && memcmp(c->p, "true", 4) == 0) {
        c->p += 4;
        *out = 1;
    } else if (c->end - c->p >= 5 && memcmp(c->p, "false", 5) == 0) {
        c->p += 5;
        *out = 0;
    } else {
        return UNSURE;
    }
    return is_delimiter(c) ? 0 : UNSURE;
}

static int
scan_null(Cursor *c)
{
    ws(c);
    if (c->end - c->p >= 4 && memcmp(c->p, "null", 4) == 0) {
        c->p += 4;
        return is_delimiter(c) ? 0 : UNSURE;
    }
    return UNSURE;
}

static inline int
is_hex(char ch)
{
    return is_digit(ch) || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
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
        if (ch < 0x20)
            return UNSURE;
        if (ch == '\\') {
            if (c->p >= c->end)
                return UNSURE;
            char e = *c->p++;
            if (e == 'u') {
                if (c->end - c->p < 4 || !is_hex(c->p[0]) || !is_hex(c->p[1]) || !is_hex(c->p[2]) || !is_hex(c->p[3]))
                    return UNSURE;
                c->p += 4;
            } else if (strchr("\"\\/bfnrt", e) == NULL || e == '\0') {
                return UNSURE;
            }
        }
    }
    return UNSURE;
}

/* Skip any one JSON value (the keys we do not read), validating it: a full parser would
 * reject a frame whose unread parts are broken, so the scanner must not accept it. */
static int
skip_value_at(Cursor *c, int depth)
{
    ws(c);
    if (c->p >= c->end || depth > 32)
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
            if (skip_value_at(c, depth + 1) < 0)
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
    if (ch == 't' || ch == 'f') {
        int b;
        return scan_bool(c, &b);
    }
    if (ch == 'n')
        return scan_null(c);
    Number n;
    if (read_number(c->p, c->end, &n) < 0)
        return UNSURE;
    c->p = n.end;
    return is_delimiter(c) ? 0 : UNSURE;
}

static inline int
skip_value(Cursor *c)
{
    return skip_value_at(c, 0);
}

/* After a value: ',' (more keys follow, returns 1) or '}' (object done, returns 0). */
static int
next_key(Cursor *c)
{
    ws(c);
    if (c->p < c->end) {
        char ch = *c->p++;
        if (ch == ',')
            return 1;
        if (ch == '}')
            return 0;
    }
    return UNSURE;
}

/* Levels: [["price","size"], ...] as a new list of (float, float) tuples. */
static int
scan_levels(Cursor *c, PyObject **out)
{
    if (take(c, '[') < 0)
        return UNSURE;
    PyObject *list = PyList_New(0);
    if (list == NULL)
        return FAILED;
    ws(c);
    if (c->p < c->end && *c->p == ']') {
        c->p++;
        *out = list;
        return 0;
    }
    for (;;) {
        double price, size;
        int rc;
        if ((rc = take(c, '[')) < 0 || (rc = scan_float(c, &price)) < 0 || (rc = take(c, ',')) < 0 ||
            (rc = scan_float(c, &size)) < 0 || (rc = take(c, ']')) < 0) {
            Py_DECREF(list);
            return rc;
        }
        PyObject *p = PyFloat_FromDouble(price);
        PyObject *s = p ? PyFloat_FromDouble(size) : NULL;
        PyObject *level = s ? PyTuple_New(2) : NULL;
        if (level == NULL) {
            Py_XDECREF(p);
            Py_XDECREF(s);
            Py_DECREF(list);
            return FAILED;
        }
        PyTuple_SET_ITEM(level, 0, p);
        PyTuple_SET_ITEM(level, 1, s);
        rc = PyList_Append(list, level);
        Py_DECREF(level);
        if (rc < 0) {
            Py_DECREF(list);
            return FAILED;
        }
        ws(c);
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        if (c->p < c->end && *c->p == ']') {
            c->p++;
            *out = list;
            return 0;
        }
        Py_DECREF(list);
        return UNSURE;
    }
}

/* ------------------------------------------------------------------------------------ */
/* BinanceScanner                                                                        */
/* ------------------------------------------------------------------------------------ */

enum { K_TRADE = 0, K_TICKER = 1, K_DEPTH = 2, K_KLINE = 3 };

#define NAME_MAX_LEN 31
#define MAX_CHANNELS 64
#define KEY_CACHE 16

typedef struct {
    char name[NAME_MAX_LEN + 1];
    Py_ssize_t len;
    int kind;
} Channel;

/* Native ids seen lately, as str objects whose hash is already computed: the symbol
 * lookup then costs a compare instead of an allocation and a hash per frame. */
typedef struct {
    char name[NAME_MAX_LEN + 1];
    Py_ssize_t len;
    PyObject *key;
} CachedKey;

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *exchange; /* str */
    PyObject *symbols;  /* dict: native id -> unified symbol (shared with the adapter, may grow) */
    PyObject *trade;    /* event types, called positionally like the Python adapter does */
    PyObject *ticker;
    PyObject *candle;
    PyObject *fallback; /* the adapter's Python parse(conn, frame, received) */
    PyObject *delta;    /* BookSync.delta(out, symbol, bids, asks, U, u, pu, timestamp, received) */
    PyObject *buy;
    PyObject *sell;
    Channel channels[MAX_CHANNELS]; /* stream suffix -> kind, from the adapter's routes */
    int n_channels;
    CachedKey keys[KEY_CACHE];
    int next_key;
    /* The steady-state book step (see book_step); states is NULL until enable_books. */
    PyObject *states;        /* BookSync._symbols: unified symbol -> _SymbolState */
    PyTypeObject *state_type;
    PyTypeObject *book_type; /* OrderBook */
    PyObject *live;          /* the LIVE state value */
    PyObject *crossed;       /* BookSync._crossed(out, symbol, state, received) */
    PyObject *book_event;    /* models.Book */
    PyObject *unset;         /* models.UNSET, the event's absent `top` */
    int rule;                /* RULE_RANGE or RULE_PREV_ID */
    Py_ssize_t off_state, off_last, off_first_pending, off_book;
    Py_ssize_t off_bid_prices, off_bid_sizes, off_ask_prices, off_ask_sizes, off_sequence, off_timestamp;
} Scanner;

enum { RULE_RANGE = 0, RULE_PREV_ID = 1 };

/* The fields any Binance payload we read may carry; `seen` has one bit per field. */
enum {
    F_E = 1 << 0,
    F_s = 1 << 1,
    F_a = 1 << 2,
    F_p = 1 << 3,
    F_q = 1 << 4,
    F_T = 1 << 5,
    F_m = 1 << 6,
    F_b = 1 << 7,
    F_B = 1 << 8,
    F_A = 1 << 9,
    F_u = 1 << 10,
    F_U = 1 << 11,
    F_pu = 1 << 12,
    F_k = 1 << 13,
};

enum {
    G_t = 1 << 0,
    G_T = 1 << 1,
    G_i = 1 << 2,
    G_o = 1 << 3,
    G_c = 1 << 4,
    G_h = 1 << 5,
    G_l = 1 << 6,
    G_v = 1 << 7,
    G_n = 1 << 8,
    G_x = 1 << 9,
};

typedef struct {
    const char *s; /* points into the frame */
    Py_ssize_t n;
} Text;

typedef struct {
    unsigned seen;
    int64_t E, a, T, u, U, pu;
    double p, q, b, B, A, ask;
    int m;
    Text s;
    PyObject *bids; /* owned, depth only */
    PyObject *asks;
    /* kline "k" */
    unsigned kseen;
    int64_t kt, kT, kn;
    double ko, kc, kh, kl, kv;
    int kx;
    Text ki;
} Fields;

static void
fields_clear(Fields *f)
{
    Py_CLEAR(f->bids);
    Py_CLEAR(f->asks);
}

/* What each message kind reads: key, its bit in `seen`, how to read the value and where
 * in Fields to put it. Keys not listed are skipped (and validated). */
typedef enum { V_INT, V_FLOAT, V_BOOL, V_TEXT, V_LEVELS, V_KLINE } ValueKind;

typedef struct {
    const char *key;
    size_t key_len;
    unsigned bit;
    ValueKind value;
    size_t offset;
} FieldSpec;

#define FIELD(key, bit, value, member) {key, sizeof(key) - 1, bit, value, offsetof(Fields, member)}

static const FieldSpec TRADE_FIELDS[] = {
    FIELD("E", F_E, V_INT, E),   FIELD("s", F_s, V_TEXT, s),  FIELD("a", F_a, V_INT, a),  FIELD("p", F_p, V_FLOAT, p),
    FIELD("q", F_q, V_FLOAT, q), FIELD("T", F_T, V_INT, T),   FIELD("m", F_m, V_BOOL, m), {NULL, 0, 0, V_INT, 0},
};
static const FieldSpec TICKER_FIELDS[] = {
    FIELD("E", F_E, V_INT, E),     FIELD("s", F_s, V_TEXT, s),    FIELD("b", F_b, V_FLOAT, b), FIELD("B", F_B, V_FLOAT, B),
    FIELD("a", F_a, V_FLOAT, ask), FIELD("A", F_A, V_FLOAT, A),   FIELD("u", F_u, V_INT, u),   {NULL, 0, 0, V_INT, 0},
};
static const FieldSpec DEPTH_FIELDS[] = {
    FIELD("E", F_E, V_INT, E),         FIELD("s", F_s, V_TEXT, s),        FIELD("U", F_U, V_INT, U),
    FIELD("u", F_u, V_INT, u),         FIELD("T", F_T, V_INT, T),         FIELD("b", F_b, V_LEVELS, bids),
    FIELD("a", F_a, V_LEVELS, asks),   FIELD("pu", F_pu, V_INT, pu),      {NULL, 0, 0, V_INT, 0},
};
static const FieldSpec KLINE_FIELDS[] = {
    FIELD("E", F_E, V_INT, E), FIELD("s", F_s, V_TEXT, s), FIELD("k", F_k, V_KLINE, kseen), {NULL, 0, 0, V_INT, 0},
};
/* the "k" object of a kline event */
static const FieldSpec CANDLE_FIELDS[] = {
    FIELD("t", G_t, V_INT, kt),    FIELD("T", G_T, V_INT, kT),    FIELD("i", G_i, V_TEXT, ki),
    FIELD("o", G_o, V_FLOAT, ko),  FIELD("c", G_c, V_FLOAT, kc),  FIELD("h", G_h, V_FLOAT, kh),
    FIELD("l", G_l, V_FLOAT, kl),  FIELD("v", G_v, V_FLOAT, kv),  FIELD("n", G_n, V_INT, kn),
    FIELD("x", G_x, V_BOOL, kx),   {NULL, 0, 0, V_INT, 0},
};
static const unsigned CANDLE_REQUIRED = G_t | G_T | G_i | G_o | G_c | G_h | G_l | G_v | G_n | G_x;

/* A spec list with an index by the key's first byte, so finding a key's spec (or learning
 * that the key is not read) costs one lookup whatever the list's length. Keys of one list
 * differ in their first byte. */
typedef struct {
    const FieldSpec *specs;
    signed char first[128];
} FieldTable;

static FieldTable KIND_TABLES[4] = {{TRADE_FIELDS, {0}}, {TICKER_FIELDS, {0}}, {DEPTH_FIELDS, {0}}, {KLINE_FIELDS, {0}}};
static FieldTable CANDLE_TABLE = {CANDLE_FIELDS, {0}};

static int
index_table(FieldTable *t)
{
    memset(t->first, -1, sizeof(t->first));
    for (int i = 0; t->specs[i].key != NULL; i++) {
        unsigned char k = (unsigned char)t->specs[i].key[0];
        if (k >= 128 || t->first[k] >= 0) {
            PyErr_Format(PyExc_SystemError, "_speedups: field key %s shares its first byte", t->specs[i].key);
            return -1;
        }
        t->first[k] = (signed char)i;
    }
    return 0;
}

static inline const FieldSpec *
find_spec(const FieldTable *t, const char *key, Py_ssize_t klen)
{
    unsigned char k = (unsigned char)key[0];
    if (klen == 0 || k >= 128 || t->first[k] < 0)
        return NULL;
    const FieldSpec *spec = &t->specs[(int)t->first[k]];
    return spec->key_len == (size_t)klen && memcmp(spec->key, key, (size_t)klen) == 0 ? spec : NULL;
}

static int scan_object(Cursor *c, const FieldTable *table, unsigned *seen, Fields *f);

static int
scan_field(Cursor *c, const FieldSpec *spec, Fields *f)
{
    void *at = (char *)f + spec->offset;
    switch (spec->value) {
    case V_INT:
        return scan_int(c, (int64_t *)at);
    case V_FLOAT:
        return scan_float(c, (double *)at);
    case V_BOOL:
        return scan_bool(c, (int *)at);
    case V_TEXT:
        return scan_string(c, &((Text *)at)->s, &((Text *)at)->n);
    case V_LEVELS:
        return scan_levels(c, (PyObject **)at);
    case V_KLINE: {
        /* every field of the candle is required */
        int rc = scan_object(c, &CANDLE_TABLE, (unsigned *)at, f);
        return rc < 0 ? rc : (*(unsigned *)at == CANDLE_REQUIRED ? 0 : UNSURE);
    }
    }
    return UNSURE;
}

/* One object, reading the keys `table` lists (each at most once) and skipping the rest. */
static int
scan_object(Cursor *c, const FieldTable *table, unsigned *seen, Fields *f)
{
    if (take(c, '{') < 0)
        return UNSURE;
    ws(c);
    if (c->p < c->end && *c->p == '}') {
        c->p++;
        return 0;
    }
    for (;;) {
        const char *key;
        Py_ssize_t klen;
        int rc;
        if (scan_string(c, &key, &klen) < 0 || take(c, ':') < 0)
            return UNSURE;
        const FieldSpec *spec = find_spec(table, key, klen);
        if (spec == NULL) {
            rc = skip_value(c);
        } else {
            if (*seen & spec->bit)
                return UNSURE; /* a repeated key */
            *seen |= spec->bit;
            rc = scan_field(c, spec, f);
        }
        if (rc < 0)
            return rc;
        rc = next_key(c);
        if (rc < 0)
            return UNSURE;
        if (rc == 0)
            return 0;
    }
}

static PyObject *
ms_to_seconds(int64_t ms)
{
    return PyFloat_FromDouble((double)ms / 1000.0);
}

static PyObject *
call_event(PyObject *type, PyObject **args, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        if (args[i] == NULL)
            return NULL;
    }
    return PyObject_Vectorcall(type, args, (size_t)n, NULL);
}

static PyObject *
build(Scanner *self, int kind, Fields *f, PyObject *symbol, PyObject *received)
{
    PyObject *result = NULL;
    if (kind == K_TRADE) {
        PyObject *ts = ms_to_seconds(f->T), *price = PyFloat_FromDouble(f->p), *amount = PyFloat_FromDouble(f->q);
        PyObject *id = PyUnicode_FromFormat("%lld", (long long)f->a);
        PyObject *args[8] = {self->exchange, symbol, ts, received, price, amount, f->m ? self->sell : self->buy, id};
        result = call_event(self->trade, args, 8);
        Py_XDECREF(ts);
        Py_XDECREF(price);
        Py_XDECREF(amount);
        Py_XDECREF(id);
    } else if (kind == K_TICKER) {
        PyObject *ts = (f->seen & F_E) ? ms_to_seconds(f->E) : Py_NewRef(Py_None);
        PyObject *b = PyFloat_FromDouble(f->b), *B = PyFloat_FromDouble(f->B);
        PyObject *a = PyFloat_FromDouble(f->ask), *A = PyFloat_FromDouble(f->A);
        PyObject *args[8] = {self->exchange, symbol, ts, received, b, B, a, A};
        result = call_event(self->ticker, args, 8);
        Py_XDECREF(ts);
        Py_XDECREF(b);
        Py_XDECREF(B);
        Py_XDECREF(a);
        Py_XDECREF(A);
    } else if (kind == K_KLINE) {
        PyObject *ts = ms_to_seconds(f->E), *interval = PyUnicode_FromStringAndSize(f->ki.s, f->ki.n);
        PyObject *start = ms_to_seconds(f->kt), *end = ms_to_seconds(f->kT + 1);
        PyObject *o = PyFloat_FromDouble(f->ko), *h = PyFloat_FromDouble(f->kh);
        PyObject *l = PyFloat_FromDouble(f->kl), *c = PyFloat_FromDouble(f->kc);
        PyObject *v = PyFloat_FromDouble(f->kv), *n = PyLong_FromLongLong(f->kn);
        PyObject *x = PyBool_FromLong(f->kx);
        PyObject *args[14] = {self->exchange, symbol, ts, received, interval, start, end, o, h, l, c, v, n, x};
        result = call_event(self->candle, args, 14);
        PyObject *owned[11] = {ts, interval, start, end, o, h, l, c, v, n, x};
        for (int i = 0; i < 11; i++)
            Py_XDECREF(owned[i]);
    } else {
        PyObject *first = PyLong_FromLongLong(f->U), *last = PyLong_FromLongLong(f->u);
        PyObject *prev = (f->seen & F_pu) ? PyLong_FromLongLong(f->pu) : Py_NewRef(Py_None);
        PyObject *ts = ms_to_seconds(f->E);
        if (first && last && prev && ts) {
            result = PyTuple_Pack(8, symbol, f->bids, f->asks, first, last, prev, ts, received);
        }
        Py_XDECREF(first);
        Py_XDECREF(last);
        Py_XDECREF(prev);
        Py_XDECREF(ts);
    }
    return result;
}

static const unsigned REQUIRED[4] = {
    [K_TRADE] = F_E | F_s | F_a | F_p | F_q | F_T | F_m,
    [K_TICKER] = F_s | F_b | F_B | F_A | F_a,
    [K_DEPTH] = F_E | F_s | F_U | F_u | F_b | F_a,
    [K_KLINE] = F_E | F_s | F_k,
};

/* A new reference to a str equal to the native id, from the cache when seen lately. */
static PyObject *
native_key(Scanner *self, const char *s, Py_ssize_t n)
{
    for (int i = 0; i < KEY_CACHE; i++) {
        CachedKey *k = &self->keys[i];
        if (k->key != NULL && k->len == n && memcmp(k->name, s, (size_t)n) == 0)
            return Py_NewRef(k->key);
    }
    PyObject *key = PyUnicode_FromStringAndSize(s, n);
    if (key == NULL || n > NAME_MAX_LEN)
        return key;
    if (PyObject_Hash(key) == -1) {
        Py_DECREF(key);
        return NULL;
    }
    CachedKey *slot = &self->keys[self->next_key];
    self->next_key = (self->next_key + 1) % KEY_CACHE;
    Py_XSETREF(slot->key, Py_NewRef(key));
    memcpy(slot->name, s, (size_t)n);
    slot->len = n;
    return key;
}

static const char PREFIX[] = "{\"stream\":\"";

static PyObject *
scanner_call(PyObject *op, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Scanner *self = (Scanner *)op;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (nargs != 2 || kwnames != NULL) {
        PyErr_SetString(PyExc_TypeError, "BinanceScanner(frame, received)");
        return NULL;
    }
    PyObject *frame = args[0], *received = args[1];
    const char *buf;
    Py_ssize_t len;
    if (PyUnicode_Check(frame)) {
        buf = PyUnicode_AsUTF8AndSize(frame, &len);
        if (buf == NULL) {
            PyErr_Clear(); /* lone surrogates: the Python path reports them */
            Py_RETURN_NONE;
        }
    } else if (PyBytes_Check(frame)) {
        /* Bytes must be valid UTF-8 to be JSON; only plain ASCII is taken here. */
        buf = PyBytes_AS_STRING(frame);
        len = PyBytes_GET_SIZE(frame);
        for (Py_ssize_t i = 0; i < len; i++) {
            if ((unsigned char)buf[i] >= 0x80)
                Py_RETURN_NONE;
        }
    } else {
        Py_RETURN_NONE;
    }
    const Py_ssize_t plen = (Py_ssize_t)sizeof(PREFIX) - 1;
    if (len < plen || memcmp(buf, PREFIX, (size_t)plen) != 0)
        Py_RETURN_NONE;
    Cursor c = {buf + plen, buf + len};
    const char *stream = c.p;
    const char *q = memchr(stream, '"', (size_t)(c.end - stream));
    if (q == NULL)
        Py_RETURN_NONE;
    const char *at = memchr(stream, '@', (size_t)(q - stream));
    if (at == NULL || memchr(stream, '\\', (size_t)(q - stream)) != NULL)
        Py_RETURN_NONE;
    Py_ssize_t suffix_len = q - at - 1;
    int kind = -1;
    for (int i = 0; i < self->n_channels; i++) {
        const Channel *ch = &self->channels[i];
        if (ch->len == suffix_len && memcmp(ch->name, at + 1, (size_t)suffix_len) == 0) {
            kind = ch->kind;
            break;
        }
    }
    if (kind < 0)
        Py_RETURN_NONE; /* a stream the Python routes decide about */
    c.p = q + 1;
    static const char DATA[] = ",\"data\":";
    if (c.end - c.p < (Py_ssize_t)sizeof(DATA) - 1 || memcmp(c.p, DATA, sizeof(DATA) - 1) != 0)
        Py_RETURN_NONE;
    c.p += sizeof(DATA) - 1;

    Fields f;
    memset(&f, 0, sizeof(f));
    int rc = scan_object(&c, &KIND_TABLES[kind], &f.seen, &f);
    if (rc == 0 && (take(&c, '}') < 0 || (ws(&c), c.p != c.end)))
        rc = UNSURE;
    if (rc == 0 && (f.seen & REQUIRED[kind]) != REQUIRED[kind])
        rc = UNSURE;
    if (rc < 0) {
        fields_clear(&f);
        if (rc == FAILED)
            return NULL;
        Py_RETURN_NONE;
    }
    PyObject *native = native_key(self, f.s.s, f.s.n);
    if (native == NULL) {
        fields_clear(&f);
        return NULL;
    }
    PyObject *symbol = PyDict_GetItemWithError(self->symbols, native);
    Py_DECREF(native);
    if (symbol == NULL) {
        fields_clear(&f);
        if (PyErr_Occurred())
            return NULL;
        Py_RETURN_NONE; /* an unknown symbol is reported by the Python path */
    }
    Py_INCREF(symbol);
    PyObject *result = build(self, kind, &f, symbol, received);
    Py_DECREF(symbol);
    fields_clear(&f);
    return result;
}

static PyObject *
scanner_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *names[] = {"exchange", "symbols", "channels", "trade", "ticker", "candle", "fallback", "delta", NULL};
    PyObject *exchange, *symbols, *channels, *trade, *ticker, *candle, *fallback, *delta;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "UO!O!OOOOO", names, &exchange, &PyDict_Type, &symbols,
                                     &PyDict_Type, &channels, &trade, &ticker, &candle, &fallback, &delta))
        return NULL;
    if (PyDict_GET_SIZE(channels) > MAX_CHANNELS) {
        PyErr_Format(PyExc_ValueError, "BinanceScanner: at most %d channels", MAX_CHANNELS);
        return NULL;
    }
    Scanner *self = (Scanner *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->vectorcall = scanner_call;
    self->exchange = Py_NewRef(exchange);
    self->symbols = Py_NewRef(symbols);
    self->trade = Py_NewRef(trade);
    self->ticker = Py_NewRef(ticker);
    self->candle = Py_NewRef(candle);
    self->fallback = Py_NewRef(fallback);
    self->delta = Py_NewRef(delta);
    self->buy = PyUnicode_InternFromString("buy");
    self->sell = PyUnicode_InternFromString("sell");
    if (self->buy == NULL || self->sell == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    Py_ssize_t pos = 0;
    PyObject *name, *kind;
    while (PyDict_Next(channels, &pos, &name, &kind)) {
        Py_ssize_t len;
        const char *text = PyUnicode_Check(name) ? PyUnicode_AsUTF8AndSize(name, &len) : NULL;
        long value = text != NULL ? PyLong_AsLong(kind) : -1;
        if (text == NULL || len > NAME_MAX_LEN || value < K_TRADE || value > K_KLINE) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "BinanceScanner: channels maps short str suffixes to kinds 0-3");
            Py_DECREF(self);
            return NULL;
        }
        Channel *ch = &self->channels[self->n_channels++];
        memcpy(ch->name, text, (size_t)len);
        ch->len = len;
        ch->kind = (int)value;
    }
    return (PyObject *)self;
}

/* The byte offset of a __slots__ attribute of `type` (a writable object slot). */
static Py_ssize_t
slot_offset(PyTypeObject *type, const char *name)
{
    PyObject *descr = PyObject_GetAttrString((PyObject *)type, name);
    if (descr == NULL)
        return -1;
    Py_ssize_t offset = -1;
    if (Py_IS_TYPE(descr, &PyMemberDescr_Type)) {
        PyMemberDef *m = ((PyMemberDescrObject *)descr)->d_member;
        if (m->type == T_OBJECT_EX && !(m->flags & READONLY))
            offset = m->offset;
    }
    Py_DECREF(descr);
    if (offset < 0)
        PyErr_Format(PyExc_TypeError, "%s.%s is not a writable __slots__ attribute", type->tp_name, name);
    return offset;
}

#define SLOT(obj, off) (*(PyObject **)((char *)(obj) + (off)))

/* enable_books(states, state_type, book_type, rule, live, crossed, book_event, unset):
 * let parse() apply steady-state depth diffs itself (see book_step). */
static PyObject *
scanner_enable_books(PyObject *op, PyObject *args)
{
    Scanner *self = (Scanner *)op;
    PyObject *states, *state_type, *book_type, *live, *crossed, *book_event, *unset;
    int rule;
    if (!PyArg_ParseTuple(args, "O!O!O!iOOOO", &PyDict_Type, &states, &PyType_Type, &state_type, &PyType_Type,
                          &book_type, &rule, &live, &crossed, &book_event, &unset))
        return NULL;
    if (rule != RULE_RANGE && rule != RULE_PREV_ID) {
        PyErr_SetString(PyExc_ValueError, "enable_books: rule must be 0 (range) or 1 (prev_id)");
        return NULL;
    }
    PyTypeObject *st = (PyTypeObject *)state_type, *bt = (PyTypeObject *)book_type;
    Py_ssize_t offs[10] = {
        slot_offset(st, "state"),        slot_offset(st, "last"),        slot_offset(st, "first_pending"),
        slot_offset(st, "book"),         slot_offset(bt, "_bid_prices"), slot_offset(bt, "_bid_sizes"),
        slot_offset(bt, "_ask_prices"),  slot_offset(bt, "_ask_sizes"),  slot_offset(bt, "sequence"),
        slot_offset(bt, "timestamp"),
    };
    for (int i = 0; i < 10; i++) {
        if (offs[i] < 0)
            return NULL;
    }
    self->off_state = offs[0];
    self->off_last = offs[1];
    self->off_first_pending = offs[2];
    self->off_book = offs[3];
    self->off_bid_prices = offs[4];
    self->off_bid_sizes = offs[5];
    self->off_ask_prices = offs[6];
    self->off_ask_sizes = offs[7];
    self->off_sequence = offs[8];
    self->off_timestamp = offs[9];
    self->rule = rule;
    Py_XSETREF(self->state_type, (PyTypeObject *)Py_NewRef(state_type));
    Py_XSETREF(self->book_type, (PyTypeObject *)Py_NewRef(book_type));
    Py_XSETREF(self->live, Py_NewRef(live));
    Py_XSETREF(self->crossed, Py_NewRef(crossed));
    Py_XSETREF(self->book_event, Py_NewRef(book_event));
    Py_XSETREF(self->unset, Py_NewRef(unset));
    Py_XSETREF(self->states, Py_NewRef(states));
    Py_RETURN_NONE;
}

static inline int
long_of(PyObject *o, long long *out)
{
    int overflow = 0;
    if (o == NULL || !PyLong_CheckExact(o))
        return 0;
    *out = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow || (*out == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        return 0;
    }
    return 1;
}

/* The common case of BookSync.delta in C: the symbol's book is live and the diff continues
 * it by the rule, so apply it and append the book event. Anything else -- waiting for a
 * snapshot, a stale or gapped diff, the first diff after a futures snapshot -- returns 0
 * untouched and BookSync.delta (Python) decides. A crossed result is handed to
 * BookSync._crossed, as the Python path does. Returns 1 when done, -1 on an exception.
 * `t` is the depth tuple (symbol, bids, asks, U, u, pu, timestamp, received). */
static int
book_step(Scanner *self, PyObject *out, PyObject *t)
{
    if (self->states == NULL)
        return 0;
    PyObject *symbol = PyTuple_GET_ITEM(t, 0), *bids = PyTuple_GET_ITEM(t, 1), *asks = PyTuple_GET_ITEM(t, 2);
    PyObject *last_obj = PyTuple_GET_ITEM(t, 4), *prev_obj = PyTuple_GET_ITEM(t, 5);
    PyObject *ts = PyTuple_GET_ITEM(t, 6), *received = PyTuple_GET_ITEM(t, 7);
    PyObject *st = PyDict_GetItemWithError(self->states, symbol);
    if (st == NULL)
        return PyErr_Occurred() ? -1 : 0;
    if (Py_TYPE(st) != self->state_type)
        return 0;
    PyObject *state = SLOT(st, self->off_state);
    if (state == NULL)
        return 0;
    int live = PyObject_RichCompareBool(state, self->live, Py_EQ);
    if (live <= 0)
        return live;
    long long held, first, last, prev;
    if (!long_of(SLOT(st, self->off_last), &held) || !long_of(PyTuple_GET_ITEM(t, 3), &first) ||
        !long_of(last_obj, &last))
        return 0;
    if (self->rule == RULE_RANGE) {
        if (last <= held || first > held + 1)
            return 0;
    } else if (SLOT(st, self->off_first_pending) != Py_False || !long_of(prev_obj, &prev) || prev != held) {
        return 0;
    }
    PyObject *book = SLOT(st, self->off_book);
    if (book == NULL || Py_TYPE(book) != self->book_type)
        return 0;
    PyObject *bp = SLOT(book, self->off_bid_prices), *bs = SLOT(book, self->off_bid_sizes);
    PyObject *ap = SLOT(book, self->off_ask_prices), *as = SLOT(book, self->off_ask_sizes);
    if (!bp || !bs || !ap || !as || !PyList_CheckExact(bp) || !PyList_CheckExact(bs) || !PyList_CheckExact(ap) ||
        !PyList_CheckExact(as) || !PyList_CheckExact(bids) || !PyList_CheckExact(asks))
        return 0;
    /* From here the step is ours, in BookSync.delta's order. */
    Py_XSETREF(SLOT(st, self->off_first_pending), Py_NewRef(Py_False));
    if (PyList_GET_SIZE(bids) && apply_levels(bp, bs, bids) < 0)
        return -1;
    if (PyList_GET_SIZE(asks) && apply_levels(ap, as, asks) < 0)
        return -1;
    Py_XSETREF(SLOT(st, self->off_last), Py_NewRef(last_obj));
    Py_XSETREF(SLOT(book, self->off_sequence), Py_NewRef(last_obj));
    Py_XSETREF(SLOT(book, self->off_timestamp), Py_NewRef(ts));
    Py_ssize_t nb = PyList_GET_SIZE(bp), na = PyList_GET_SIZE(ap);
    if (nb && na) {
        double best_bid, best_ask;
        if (as_double(PyList_GET_ITEM(bp, nb - 1), &best_bid) < 0 || as_double(PyList_GET_ITEM(ap, 0), &best_ask) < 0)
            return -1;
        if (best_bid >= best_ask) {
            PyObject *call[4] = {out, symbol, st, received};
            PyObject *none = PyObject_Vectorcall(self->crossed, call, 4, NULL);
            if (none == NULL)
                return -1;
            Py_DECREF(none);
            return 1;
        }
    }
    PyObject *event_args[9] = {self->exchange, symbol, ts, received, Py_False, bids, asks, last_obj, self->unset};
    PyObject *event = PyObject_Vectorcall(self->book_event, event_args, 9, NULL);
    if (event == NULL)
        return -1;
    int rc = PyList_Append(out, event);
    Py_DECREF(event);
    return rc < 0 ? -1 : 1;
}

/* parse(conn, frame, received) -> list: the adapter's whole parse, for the frames the
 * scanner reads, without a Python frame in between; everything else goes to `fallback`. */
static PyObject *
scanner_parse(PyObject *op, PyObject *const *args, Py_ssize_t nargs)
{
    Scanner *self = (Scanner *)op;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "parse(conn, frame, received)");
        return NULL;
    }
    PyObject *found = scanner_call(op, args + 1, 2, NULL);
    if (found == NULL)
        return NULL;
    if (found == Py_None) {
        Py_DECREF(found);
        return PyObject_Vectorcall(self->fallback, args, 3, NULL);
    }
    PyObject *out = PyList_New(0);
    if (out == NULL) {
        Py_DECREF(found);
        return NULL;
    }
    if (PyTuple_CheckExact(found)) {
        int done = book_step(self, out, found);
        if (done != 0) {
            Py_DECREF(found);
            if (done < 0) {
                Py_DECREF(out);
                return NULL;
            }
            return out;
        }
        PyObject *call[9];
        call[0] = out;
        for (int i = 0; i < 8; i++)
            call[i + 1] = PyTuple_GET_ITEM(found, i);
        PyObject *none = PyObject_Vectorcall(self->delta, call, 9, NULL);
        Py_DECREF(found);
        if (none == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        Py_DECREF(none);
        return out;
    }
    int rc = PyList_Append(out, found);
    Py_DECREF(found);
    if (rc < 0) {
        Py_DECREF(out);
        return NULL;
    }
    return out;
}

static PyMethodDef scanner_methods[] = {
    {"enable_books", scanner_enable_books, METH_VARARGS,
     "enable_books(states, state_type, book_type, rule, live, crossed, book_event, unset): apply steady-state "
     "depth diffs in parse() (rule 0 range, 1 prev_id)."},
    {"parse", (PyCFunction)(void (*)(void))scanner_parse, METH_FASTCALL,
     "parse(conn, frame, received) -> list: events and actions, as the adapter's parse returns them."},
    {NULL, NULL, 0, NULL},
};

static int
scanner_traverse(Scanner *self, visitproc visit, void *arg)
{
    Py_VISIT(self->exchange);
    Py_VISIT(self->symbols);
    Py_VISIT(self->fallback);
    Py_VISIT(self->delta);
    Py_VISIT(self->states);
    Py_VISIT(self->state_type);
    Py_VISIT(self->book_type);
    Py_VISIT(self->live);
    Py_VISIT(self->crossed);
    Py_VISIT(self->book_event);
    Py_VISIT(self->unset);
    Py_VISIT(self->trade);
    Py_VISIT(self->ticker);
    Py_VISIT(self->candle);
    return 0;
}

static int
scanner_clear(Scanner *self)
{
    Py_CLEAR(self->exchange);
    Py_CLEAR(self->symbols);
    Py_CLEAR(self->fallback);
    Py_CLEAR(self->delta);
    Py_CLEAR(self->states);
    Py_CLEAR(self->state_type);
    Py_CLEAR(self->book_type);
    Py_CLEAR(self->live);
    Py_CLEAR(self->crossed);
    Py_CLEAR(self->book_event);
    Py_CLEAR(self->unset);
    for (int i = 0; i < KEY_CACHE; i++)
        Py_CLEAR(self->keys[i].key);
    Py_CLEAR(self->trade);
    Py_CLEAR(self->ticker);
    Py_CLEAR(self->candle);
    Py_CLEAR(self->buy);
    Py_CLEAR(self->sell);
    return 0;
}

static void
scanner_dealloc(Scanner *self)
{
    PyObject_GC_UnTrack(self);
    scanner_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyTypeObject ScannerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "collector._speedups.BinanceScanner",
    .tp_basicsize = sizeof(Scanner),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "BinanceScanner(exchange, symbols, channels, trade, ticker, candle, fallback, delta)(frame, received)\n\n"
              "The event of one Binance combined-stream frame, the delta tuple of a depth frame, or "
              "None when the Python path must decide.",
    .tp_new = scanner_new,
    .tp_methods = scanner_methods,
    .tp_traverse = (traverseproc)scanner_traverse,
    .tp_clear = (inquiry)scanner_clear,
    .tp_dealloc = (destructor)scanner_dealloc,
    .tp_call = PyVectorcall_Call,
    .tp_vectorcall_offset = offsetof(Scanner, vectorcall),
};

static PyMethodDef methods[] = {
    {"apply_side", (PyCFunction)(void (*)(void))apply_side, METH_FASTCALL,
     "apply_side(prices, sizes, levels): apply absolute-size levels to one book side (0 removes)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "collector._speedups", "Optional C accelerators; see collector.speedups.", -1, methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    for (int i = 0; i < 4; i++) {
        if (index_table(&KIND_TABLES[i]) < 0)
            return NULL;
    }
    if (index_table(&CANDLE_TABLE) < 0)
        return NULL;
    if (PyType_Ready(&ScannerType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    PyObject *names = Py_BuildValue("[ss]", "BinanceScanner", "apply_side");
    int added = names != NULL ? PyModule_AddObjectRef(m, "__all__", names) : -1;
    Py_XDECREF(names);
    if (added < 0) {
        Py_DECREF(m);
        return NULL;
    }
    if (PyModule_AddObjectRef(m, "BinanceScanner", (PyObject *)&ScannerType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
