//! The Python helpers every attack may use (see `PRELUDE`).

/// Defined once in every session before its attacks run.
pub(crate) const PRELUDE: &str = r#"
# Helpers every attack may use, defined once per session by the security
# suite (crates/rlm-runtime/examples/security.rs). They do what a hostile
# cell would do: get around the import hook (it is defense in depth, not a
# boundary) to reach ctypes and raw syscalls, and get a fresh `posix` module
# whose fork/exec functions the agent has not deleted.
import os
import sys
import json
import time
import errno as _sec_errno


def _sec_libc(_c={}):
    """ctypes and libc, imported past the deny hook; the hook is put back
    and ctypes dropped from sys.modules so `import ctypes` still fails."""
    if 'libc' not in _c:
        saved = list(sys.meta_path)
        sys.meta_path[:] = [f for f in saved if type(f).__name__ != '_DenyImports']
        try:
            import ctypes
        finally:
            sys.meta_path[:] = saved
            for m in [m for m in sys.modules
                      if m in ('ctypes', '_ctypes') or m.startswith('ctypes.')]:
                del sys.modules[m]
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        _c['ctypes'] = ctypes
        _c['libc'] = libc
    return _c['ctypes'], _c['libc']


def _sec_sys(nr, *args):
    """A raw syscall: (return value, errno name)."""
    ctypes, libc = _sec_libc()
    conv = []
    for a in args:
        if isinstance(a, int):
            conv.append(ctypes.c_long(a))
        elif isinstance(a, bytes):
            conv.append(ctypes.c_char_p(a))
        else:
            conv.append(a)
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(nr), *conv)
    e = ctypes.get_errno()
    return r, (_sec_errno.errorcode.get(e, str(e)) if r < 0 else 'ok')


def _sec_posix(_c={}):
    """A fresh posix module, fork and exec included."""
    if 'p' not in _c:
        import _imp
        import importlib.util
        _c['p'] = _imp.create_builtin(importlib.util.find_spec('posix'))
    return _c['p']


def _sec_child(fn):
    """Runs fn() in a forked child (so a syscall that changes the process,
    like unshare, does not change the shared session) and returns its
    JSON-able result."""
    p = _sec_posix()
    r, w = os.pipe()
    pid = p.fork()
    if pid == 0:
        try:
            os.close(r)
            try:
                out = fn()
            except BaseException as e:
                out = 'child raised %s: %s' % (type(e).__name__, e)
            os.write(w, json.dumps(out, default=str).encode())
        finally:
            os._exit(0)
    os.close(w)
    data = b''
    while True:
        c = os.read(r, 65536)
        if not c:
            break
        data += c
    os.close(r)
    os.waitpid(pid, 0)
    return json.loads(data.decode() or 'null')


def _sec_report(escaped, detail, info=False):
    """The line the host's verdict function reads."""
    tag = 'ESCAPED' if escaped else ('INFO' if info else 'BLOCKED')
    print('%s: %s' % (tag, detail))


def _sec_try(fn):
    """fn() -> ('ok', value) or (exception name, message)."""
    try:
        return 'ok', fn()
    except BaseException as e:
        return type(e).__name__, str(e)
"#;
