/*
 * collector._speedups: optional C accelerators. They know no exchange and make no book
 * transition: each does exactly what a named Python function does, faster, and the test
 * suite runs both and compares.
 *
 *   apply_delta(bid_prices, bid_sizes, bids, ask_prices, ask_sizes, asks) -> int
 *       collector.book._apply_delta: validate every level of both sides (finite price > 0,
 *       finite size >= 0), then apply them (absolute sizes, 0 removes) to the two sides of
 *       a book, each two aligned lists sorted by price ascending. Returns 0 when applied,
 *       1 when a level is invalid (nothing is applied), 2 when applied and the book is now
 *       crossed (best bid >= best ask).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <float.h>
#include <math.h>

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

/* bisect_left over a list of floats, by value. */
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

static int
apply_level(PyObject *prices, PyObject *sizes, PyObject *price, PyObject *size)
{
    double px, sz, held;
    if (as_double(price, &px) < 0 || as_double(size, &sz) < 0)
        return -1;
    Py_ssize_t at = bisect_left(prices, px);
    if (at < 0)
        return -1;
    if (at < PyList_GET_SIZE(prices)) {
        if (as_double(PyList_GET_ITEM(prices, at), &held) < 0)
            return -1;
        if (held == px) {
            if (sz != 0.0) /* a new size for a level we hold */
                return PyList_SetItem(sizes, at, Py_NewRef(size));
            if (PyList_SetSlice(prices, at, at + 1, NULL) < 0)
                return -1;
            return PyList_SetSlice(sizes, at, at + 1, NULL);
        }
    }
    if (sz == 0.0)
        return 0; /* a removal for a level we do not hold */
    if (PyList_Insert(prices, at, price) < 0)
        return -1;
    return PyList_Insert(sizes, at, size);
}

static int
apply_side(PyObject *prices, PyObject *sizes, PyObject *levels)
{
    Py_ssize_t n = PySequence_Fast_GET_SIZE(levels);
    PyObject **items = PySequence_Fast_ITEMS(levels);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *price, *size;
        if (level_of(items[i], &price, &size) < 0 || apply_level(prices, sizes, price, size) < 0)
            return -1;
    }
    return 0;
}

static PyObject *
apply_delta(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError, "apply_delta takes 6 arguments");
        return NULL;
    }
    PyObject *bid_prices = args[0], *bid_sizes = args[1], *ask_prices = args[3], *ask_sizes = args[4];
    if (!PyList_CheckExact(bid_prices) || !PyList_CheckExact(bid_sizes) || !PyList_CheckExact(ask_prices) ||
        !PyList_CheckExact(ask_sizes)) {
        PyErr_SetString(PyExc_TypeError, "apply_delta: book sides must be lists");
        return NULL;
    }
    if (PyList_GET_SIZE(bid_prices) != PyList_GET_SIZE(bid_sizes) ||
        PyList_GET_SIZE(ask_prices) != PyList_GET_SIZE(ask_sizes)) {
        PyErr_SetString(PyExc_ValueError, "apply_delta: prices and sizes differ in length");
        return NULL;
    }
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
        verdict = 0;
        Py_ssize_t nb = PyList_GET_SIZE(bid_prices);
        if (nb && PyList_GET_SIZE(ask_prices)) {
            double best_bid, best_ask;
            if (as_double(PyList_GET_ITEM(bid_prices, nb - 1), &best_bid) < 0 ||
                as_double(PyList_GET_ITEM(ask_prices, 0), &best_ask) < 0)
                verdict = -1;
            else if (best_bid >= best_ask)
                verdict = 2;
        }
    }
    Py_DECREF(bids);
    Py_DECREF(asks);
    if (verdict < 0)
        return NULL;
    return PyLong_FromLong(verdict);
}

static PyMethodDef methods[] = {
    {"apply_delta", (PyCFunction)(void (*)(void))apply_delta, METH_FASTCALL,
     "apply_delta(bid_prices, bid_sizes, bids, ask_prices, ask_sizes, asks) -> 0 applied, 1 invalid, 2 crossed."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "collector._speedups", "Optional C accelerators; see collector.speedups.", -1, methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    PyObject *names = Py_BuildValue("[s]", "apply_delta");
    int added = names != NULL ? PyModule_AddObjectRef(m, "__all__", names) : -1;
    Py_XDECREF(names);
    if (added < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
