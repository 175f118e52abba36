"""Nielsen's ``mnist.pkl.gz`` read by a parser of its opcodes: no pickle object machinery ever runs.

The file is a pickle of ``((X, y), (X_val, y_val), (X_test, y_test))`` where each array is numpy's
``_reconstruct(ndarray, (0,), b'b')`` followed by a BUILD with ``(1, shape, dtype, fortran, bytes)``
(or, from protocol 5, ``_frombuffer(bytes, dtype, shape, order)``), and each dtype is
``numpy.dtype(name, align, copy)`` followed by a BUILD with a plain state.  :func:`parse` walks the
opcodes with :func:`pickletools.genops` (which only decodes them) and evaluates that grammar alone,
on its own stand-in values: a dtype is a name checked against a list of plain numeric types, an
array is checked (shape × itemsize = byte count) before ``np.frombuffer`` makes it.  Any other
global, opcode or argument is refused with the offset and opcode; nothing named by the file is
ever imported, called or mutated, and the work is bounded by :data:`MAX_OPCODES` opcodes.
"""
from __future__ import annotations

import io
import pickletools
from typing import Any

import numpy as np

__all__ = ["MAX_OPCODES", "PickleRefused", "parse"]

MAX_OPCODES = 5000
"""Nielsen's file needs about 150 opcodes; a file with more is not that file, and parsing it stops there."""

_DTYPE_NAMES = frozenset(
    ["f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "b1",
     "float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
)
_NUMPY = ("numpy.core.multiarray", "numpy._core.multiarray", "numpy.core.numeric", "numpy._core.numeric")
_GLOBALS = {
    **{(m, "_reconstruct"): "reconstruct" for m in _NUMPY[:2]},
    **{(m, "_frombuffer"): "frombuffer" for m in _NUMPY[2:]},
    ("numpy", "ndarray"): "ndarray",
    ("numpy", "dtype"): "dtype",
    ("_codecs", "encode"): "encode",  # Python 3 writes bytes into protocol-2 pickles as encode(str, "latin1")
    ("__builtin__", "bytes"): "bytes",  # ... and empty bytes as bytes()
    ("builtins", "bytes"): "bytes",
}
_LITERALS = {"NONE": None, "NEWTRUE": True, "NEWFALSE": False}
_CONSTANTS = {"BININT", "BININT1", "BININT2", "LONG1", "INT", "STRING", "UNICODE", "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8",
              "SHORT_BINSTRING", "BINSTRING", "SHORT_BINBYTES", "BINBYTES", "BINBYTES8", "BYTEARRAY8"}
_TUPLES = {"EMPTY_TUPLE": 0, "TUPLE1": 1, "TUPLE2": 2, "TUPLE3": 3}


class PickleRefused(ValueError):
    """A pickle that is not Nielsen's grammar; the message names the offset and the opcode."""


class _Global:
    def __init__(self, role: str) -> None:
        self.role = role


class _Dtype:
    """A dtype being rebuilt: its name, then (after BUILD) its byte order."""

    def __init__(self, name: str) -> None:
        self.name, self.dtype = name, np.dtype(name)
        self.built = False


class _Shell:
    """The empty array ``_reconstruct`` stands for, until BUILD gives it content."""

    array: np.ndarray | None = None


_MARK = object()


def _as_bytes(data: Any, where: str) -> bytes:
    if isinstance(data, str):  # a Python 2 str (or protocol-0 bytes), decoded by genops as latin-1
        return data.encode("latin-1")
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    raise PickleRefused(f"{where}: array data must be a byte string, got {type(data).__name__}")


def _array(data: Any, dt: Any, shape: Any, fortran: Any, where: str) -> np.ndarray:
    if not isinstance(dt, _Dtype) or not dt.built:
        raise PickleRefused(f"{where}: an array's dtype must be a numpy.dtype rebuilt from a plain name")
    if not (isinstance(shape, tuple) and all(type(d) is int and d >= 0 for d in shape) and 1 <= len(shape) <= 2):
        raise PickleRefused(f"{where}: an array's shape must be a tuple of one or two non-negative ints, got {shape!r:.80}")
    raw = _as_bytes(data, where)
    need = dt.dtype.itemsize
    for d in shape:
        need *= d
    if need != len(raw):
        raise PickleRefused(f"{where}: shape {shape} of {dt.dtype} needs {need} bytes, the pickle holds {len(raw)}")
    return np.frombuffer(raw, dt.dtype).reshape(shape, order="F" if fortran else "C")


def _call(fn: Any, args: Any, where: str) -> Any:
    if not isinstance(fn, _Global) or not isinstance(args, tuple):
        raise PickleRefused(f"{where}: only numpy's array and dtype constructors may be called")
    role = fn.role
    if role == "reconstruct":
        if not (len(args) == 3 and isinstance(args[0], _Global) and args[0].role == "ndarray"
                and args[1] == (0,) and _as_bytes(args[2], where) == b"b"):
            raise PickleRefused(f"{where}: numpy _reconstruct takes (numpy.ndarray, (0,), b'b') only")
        return _Shell()
    if role == "frombuffer":
        if not (len(args) == 4 and args[3] in ("C", "F")):
            raise PickleRefused(f"{where}: numpy _frombuffer takes (bytes, dtype, shape, 'C' or 'F') only")
        return _array(args[0], args[1], args[2], args[3] == "F", where)
    if role == "dtype":
        if not (len(args) == 3 and isinstance(args[0], str) and all(a in (0, 1) for a in args[1:])):
            raise PickleRefused(f"{where}: numpy.dtype takes (name, align, copy) only")
        if args[0] not in _DTYPE_NAMES:
            raise PickleRefused(f"{where}: refused dtype {args[0]!r:.40}: only plain numeric dtypes are allowed")
        return _Dtype(args[0])
    if role == "encode":
        if not (len(args) == 2 and isinstance(args[0], str) and args[1] in ("latin1", "latin-1")):
            raise PickleRefused(f"{where}: _codecs.encode takes (str, 'latin1') only")
        return args[0].encode("latin-1")
    if role == "bytes" and args == ():
        return b""
    raise PickleRefused(f"{where}: {role} is not callable here")


def _build(obj: Any, state: Any, where: str) -> Any:
    if isinstance(obj, _Dtype) and not obj.built:
        plain = isinstance(state, tuple) and len(state) == 8 and state[0] == 3 and state[2:5] == (None, None, None)
        if not (plain and state[1] in ("<", ">", "|", "=") and state[5] == -1 and state[6] == -1 and state[7] == 0):
            raise PickleRefused(f"{where}: refused dtype state {state!r:.80}: only a plain numeric dtype's state is allowed")
        if state[1] in "<>":
            obj.dtype = obj.dtype.newbyteorder(state[1])
        obj.built = True
        return obj
    if isinstance(obj, _Shell) and obj.array is None:
        if not (isinstance(state, tuple) and len(state) == 5 and state[0] == 1 and state[3] in (0, 1)):
            raise PickleRefused(f"{where}: an array's state must be (1, shape, dtype, fortran, data)")
        obj.array = _array(state[4], state[2], state[1], bool(state[3]), where)
        return obj
    raise PickleRefused(f"{where}: BUILD may only complete a numpy array or dtype, once")


def _value(v: Any, where: str) -> Any:
    # What the grammar's tuples may hold once parsing ends: finished arrays and tuples of them.
    if isinstance(v, _Shell):
        if v.array is None:
            raise PickleRefused(f"{where}: an array was never given its content")
        return v.array
    if isinstance(v, tuple):
        return tuple(_value(x, where) for x in v)
    if isinstance(v, np.ndarray):
        return v
    raise PickleRefused(f"{where}: the pickle holds a {type(v).__name__}, not arrays in tuples")


def _pop_mark(stack: list, where: str) -> list:
    for i in range(len(stack) - 1, -1, -1):
        if stack[i] is _MARK:
            items = stack[i + 1 :]
            del stack[i:]
            return items
    raise PickleRefused(f"{where}: no MARK to close")


def parse(data: bytes) -> Any:
    """Return the tuple of arrays a pickle of Nielsen's grammar holds, or raise PickleRefused.

    Examples
    --------
    >>> import pickle, numpy as np
    >>> from nets.mnist.safe_pickle import parse
    >>> parse(pickle.dumps((np.arange(3.0),), protocol=2))
    (array([0., 1., 2.]),)
    >>> try:
    ...     parse(pickle.dumps({}, protocol=2))
    ... except ValueError as e:
    ...     print(e)
    offset 2 (EMPTY_DICT): refused opcode: only tuples, numbers, strings and numpy arrays may appear
    """
    # One loop over the opcodes with one branch per opcode the grammar allows (about 65 lines, over the usual
    # 60): split up, the grammar would no longer be readable in one place, and that is what a reviewer checks.
    stack: list[Any] = []
    memo: dict[int, Any] = {}
    n = 0
    try:
        for op, arg, pos in pickletools.genops(io.BytesIO(data)):
            n += 1
            where = f"offset {pos} ({op.name})"
            if n > MAX_OPCODES:
                raise PickleRefused(f"{where}: more than {MAX_OPCODES} opcodes; Nielsen's file has about 150")
            name = op.name
            if name in ("PROTO", "FRAME"):
                continue
            if name == "STOP":
                if len(stack) != 1:
                    raise PickleRefused(f"{where}: the pickle ends with {len(stack)} values on its stack, not one")
                return _value(stack[0], where)
            if name in _LITERALS:
                stack.append(_LITERALS[name])
            elif name in _CONSTANTS:
                stack.append(arg)
            elif name == "MARK":
                stack.append(_MARK)
            elif name == "TUPLE":
                stack.append(tuple(_pop_mark(stack, where)))
            elif name in _TUPLES:
                k = _TUPLES[name]
                if len(stack) < k or any(v is _MARK for v in stack[len(stack) - k :]):
                    raise PickleRefused(f"{where}: not enough values for a tuple")
                items = tuple(stack[len(stack) - k :])
                del stack[len(stack) - k :]
                stack.append(items)
            elif name in ("GLOBAL", "STACK_GLOBAL"):
                if name == "GLOBAL":
                    module, _, attr = str(arg).partition(" ")
                else:
                    if len(stack) < 2 or not all(isinstance(s, str) for s in stack[-2:]):
                        raise PickleRefused(f"{where}: STACK_GLOBAL needs two names")
                    module, attr = stack.pop(-2), stack.pop()
                role = _GLOBALS.get((module, attr))
                if role is None:
                    raise PickleRefused(f"{where}: refused global {module:.60}.{attr:.60}: only numpy arrays and tuples may be loaded")
                stack.append(_Global(role))
            elif name == "REDUCE":
                if len(stack) < 2:
                    raise PickleRefused(f"{where}: REDUCE needs a callable and its arguments")
                args = stack.pop()
                stack.append(_call(stack.pop(), args, where))
            elif name == "BUILD":
                if len(stack) < 2:
                    raise PickleRefused(f"{where}: BUILD needs an object and its state")
                state = stack.pop()
                stack.append(_build(stack.pop(), state, where))
            elif name in ("BINPUT", "LONG_BINPUT", "PUT", "MEMOIZE"):
                if not stack or stack[-1] is _MARK:
                    raise PickleRefused(f"{where}: nothing to memoize")
                memo[len(memo) if name == "MEMOIZE" else int(arg)] = stack[-1]
            elif name in ("BINGET", "LONG_BINGET", "GET"):
                if int(arg) not in memo:
                    raise PickleRefused(f"{where}: memo entry {arg} was never stored")
                stack.append(memo[int(arg)])
            else:
                raise PickleRefused(f"{where}: refused opcode: only tuples, numbers, strings and numpy arrays may appear")
    except PickleRefused:
        raise
    except ValueError as e:  # genops: an unknown opcode, or an argument cut short by the end of the data
        raise PickleRefused(f"not a valid MNIST pickle: {e}") from None
    raise PickleRefused("not a valid MNIST pickle: the data ends without STOP")
