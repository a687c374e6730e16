# rlm sandbox agent: a persistent Python REPL driven by framed messages.
#
# The host sends this file over stdin at container start (see BOOTSTRAP in
# hardening.rs), so any image with python3 works. Frames in both directions
# are 8 ASCII hex digits of payload length followed by a JSON object with
# "v" (protocol version) and "type". ASCII headers keep control bytes out of
# the attach stream (Docker reads ctrl-p ctrl-q on stdin as "detach").
#
# Nothing here is a security boundary: the container (and gVisor) is. The
# import hook below is defense in depth and can be undone by hostile code.

import os
import sys
import json
import time
import threading
import signal
import traceback
import ast
import mmap
import re
import io
import builtins
import queue
import select

V = 1
MAX_FRAME = 64 * 1024 * 1024

# --- file descriptors ----------------------------------------------------
# Frames go out on a private duplicate of the original stdout and come in on
# a private duplicate of stdin. fd 0 becomes /dev/null (user code cannot
# read host frames); fds 1 and 2 become pipes drained into capped per-cell
# buffers, so os.write(1, ...) from user code is captured output, never a
# frame. os.dup() descriptors are close-on-exec.
_FR_OUT = os.dup(1)
_FR_IN = os.dup(0)
_devnull = os.open('/dev/null', os.O_RDONLY)
os.dup2(_devnull, 0)
os.close(_devnull)

_out_lock = threading.Lock()


def _send(msg):
    msg['v'] = V
    data = json.dumps(msg, ensure_ascii=True, allow_nan=False,
                      default=str).encode('ascii')
    frame = b'%08x' % len(data) + data
    with _out_lock:
        view = memoryview(frame)
        while view:
            n = os.write(_FR_OUT, view)
            view = view[n:]


def _read_exact(n):
    buf = bytearray()
    while len(buf) < n:
        chunk = os.read(_FR_IN, n - len(buf))
        if not chunk:
            # The host is gone (stdin closed when its attach connection
            # dropped): a sandbox without a host must not live on.
            os._exit(0)
        buf += chunk
    return bytes(buf)


def _recv():
    head = _read_exact(8)
    try:
        n = int(head.decode('ascii'), 16)
    except ValueError:
        os._exit(2)
    if n > MAX_FRAME:
        os._exit(2)
    msg = json.loads(_read_exact(n))
    if not isinstance(msg, dict) or msg.get('v') != V:
        os._exit(2)
    return msg


class _Drain:
    """Captures one redirected fd (1 or 2) into a capped buffer.

    A background thread empties the pipe whenever data arrives, so a writer
    never blocks on a full pipe. The pipe is only ever read under the lock,
    so `collect` takes whatever is still in it itself, in order, with no
    round trip through the thread: under gVisor every thread hand-off costs
    hundreds of microseconds, and this runs after every cell.
    """

    def __init__(self, fd):
        r, w = os.pipe()
        os.dup2(w, fd)
        os.close(w)
        os.set_blocking(r, False)
        self.fd = fd
        self.r = r
        self.lock = threading.Lock()
        self.cap = 1 << 20
        self.buf = bytearray()
        self.truncated = False
        threading.Thread(target=self._run, daemon=True,
                         name='rlm-drain-%d' % fd).start()

    def _take(self):
        """Reads everything the pipe holds now. Call with the lock held.
        False once the pipe is gone."""
        while True:
            try:
                chunk = os.read(self.r, 65536)
            except BlockingIOError:
                return True
            except OSError:
                return False
            if not chunk:
                return False
            room = self.cap - len(self.buf)
            if room > 0:
                self.buf += chunk[:room]
            if len(chunk) > room:
                self.truncated = True

    def _run(self):
        poller = select.poll()
        poller.register(self.r, select.POLLIN)
        while True:
            try:
                poller.poll()
            except OSError:
                return
            with self.lock:
                if not self._take():
                    return

    def reset(self, cap):
        with self.lock:
            self._take()
            self.cap = cap
            self.buf = bytearray()
            self.truncated = False

    def collect(self):
        """Everything written so far by the cell (a write that returned is
        in the pipe or already in the buffer)."""
        with self.lock:
            self._take()
            return bytes(self.buf).decode('utf-8', 'replace'), self.truncated


_STDOUT = _Drain(1)
_STDERR = _Drain(2)
sys.stdout = io.TextIOWrapper(io.FileIO(1, 'w', closefd=False),
                              encoding='utf-8', errors='replace',
                              write_through=True)
sys.stderr = io.TextIOWrapper(io.FileIO(2, 'w', closefd=False),
                              encoding='utf-8', errors='replace',
                              write_through=True)
sys.stdin = io.TextIOWrapper(io.FileIO(0, 'r', closefd=False),
                             encoding='utf-8')


# --- context ---------------------------------------------------------------
class Context:
    """The mounted context: a read-only mmap, never loaded into memory.

    len(context), context[a:b] (str), context.read(offset, length),
    context.search(pattern, max_results=10) -> [(offset, match)],
    context.lines(start, end) -> [str]. Offsets are byte offsets.
    """

    _CHUNK = 16 * 1024 * 1024
    _OVERLAP = 64 * 1024
    _CKPT = 4096

    def __init__(self, path):
        self._mm = None
        self._len = 0
        self._ckpt = [0]
        self._ckpt_done = False
        if path:
            fd = os.open(path, os.O_RDONLY)
            try:
                size = os.fstat(fd).st_size
                if size:
                    self._mm = mmap.mmap(fd, 0, prot=mmap.PROT_READ)
                    self._len = size
            finally:
                os.close(fd)

    def __len__(self):
        return self._len

    def __repr__(self):
        return '<context: %d bytes; use context[a:b], .read, .search, .lines>' % self._len

    __str__ = __repr__

    def _bytes(self, start, stop):
        if self._mm is None:
            return b''
        start = max(0, min(start, self._len))
        stop = max(start, min(stop, self._len))
        return self._mm[start:stop]

    def __getitem__(self, key):
        if isinstance(key, slice):
            start, stop, step = key.indices(self._len)
            if step != 1:
                raise ValueError('context slices take no step')
            return self._bytes(start, stop).decode('utf-8', 'replace')
        if isinstance(key, int):
            if key < 0:
                key += self._len
            if not 0 <= key < self._len:
                raise IndexError('context index out of range')
            return self._bytes(key, key + 1).decode('utf-8', 'replace')
        raise TypeError('context indices must be int or slice')

    def read(self, offset, length):
        """`length` bytes from byte `offset`, decoded (invalid UTF-8 replaced)."""
        offset = int(offset)
        length = int(length)
        if offset < 0 or length < 0:
            raise ValueError('offset and length must be >= 0')
        return self._bytes(offset, offset + length).decode('utf-8', 'replace')

    def search(self, pattern, max_results=10, flags=0):
        """Regex search over the file in bounded chunks.

        Returns up to max_results (offset, match) pairs. A match longer than
        64 KiB that crosses a chunk boundary may be missed.
        """
        if isinstance(pattern, str):
            pattern = pattern.encode('utf-8')
        rx = re.compile(pattern, flags)
        out = []
        if self._mm is None or max_results <= 0:
            return out
        start = 0
        while start < self._len and len(out) < max_results:
            end = min(self._len, start + self._CHUNK + self._OVERLAP)
            limit = start + self._CHUNK
            for m in rx.finditer(self._mm, start, end):
                if m.start() >= limit:
                    break
                out.append((m.start(), m.group(0).decode('utf-8', 'replace')))
                if len(out) >= max_results:
                    break
            start = limit
        return out

    def _line_offset(self, n):
        """Byte offset of line n (0-based), or None past the end."""
        k = min(n // self._CKPT, len(self._ckpt) - 1)
        off = self._ckpt[k]
        line = k * self._CKPT
        while line < n:
            nl = self._mm.find(b'\n', off)
            if nl < 0:
                return None
            off = nl + 1
            line += 1
            if line % self._CKPT == 0 and line // self._CKPT == len(self._ckpt):
                self._ckpt.append(off)
        return off if off < self._len or n == 0 else None

    def lines(self, start, end=None):
        """Lines start..end (0-based, end exclusive), without newlines."""
        start = int(start)
        end = start + 1 if end is None else int(end)
        if start < 0 or end < start or self._mm is None:
            return []
        off = self._line_offset(start)
        out = []
        while off is not None and off < self._len and len(out) < end - start:
            nl = self._mm.find(b'\n', off)
            stop = self._len if nl < 0 else nl
            out.append(self._mm[off:stop].decode('utf-8', 'replace'))
            off = stop + 1
        return out


# --- host calls ------------------------------------------------------------
class HostCallError(RuntimeError):
    """A host function refused or failed."""


_call_lock = threading.Lock()
_call_replies = queue.Queue()
_call_seq = [0]


def _host_call(name, payload):
    # Serialize first: unserializable arguments are the caller's TypeError.
    json.dumps(payload, allow_nan=False)
    with _call_lock:
        _call_seq[0] += 1
        cid = _call_seq[0]
        _send({'type': 'call', 'id': cid, 'name': name, 'args': payload})
        while True:
            reply = _call_replies.get()
            if reply.get('id') == cid:
                break
    if reply.get('ok'):
        return reply.get('value')
    raise HostCallError(str(reply.get('error')))


def _make_host_fn(name, ns):
    def host_fn(*args, **kwargs):
        payload = {'args': list(args), 'kwargs': kwargs}
        if name == 'FINAL_VAR' and args and isinstance(args[0], str):
            # The host cannot see the REPL: send the variable's value along.
            if args[0] not in ns:
                raise NameError('FINAL_VAR: no variable named %r' % args[0])
            val = ns[args[0]]
            try:
                json.dumps(val, allow_nan=False)
            except (TypeError, ValueError):
                val = str(val)
            payload['value'] = val
        return _host_call(name, payload)
    host_fn.__name__ = name
    host_fn.__qualname__ = name
    return host_fn


# --- import restrictions (defense in depth, not a boundary) ---------------
class _DenyImports:
    def __init__(self, names):
        self.names = frozenset(names)

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split('.')[0] in self.names or fullname in self.names:
            raise ImportError('import of %r is not allowed in the rlm sandbox' % fullname,
                              name=fullname)
        return None

    def find_module(self, fullname, path=None):
        self.find_spec(fullname, path)
        return None


_SPAWN = ('system', 'popen', 'fork', 'forkpty', 'posix_spawn', 'posix_spawnp',
          'execv', 'execve', 'execl', 'execle', 'execlp', 'execlpe', 'execvp',
          'execvpe', 'spawnv', 'spawnve', 'spawnl', 'spawnle', 'spawnlp',
          'spawnlpe', 'spawnvp', 'spawnvpe')


def _restrict_imports(names):
    names = [n for n in names if n]
    if not names:
        return
    finder = _DenyImports(names)
    sys.meta_path.insert(0, finder)
    for mod in list(sys.modules):
        if mod.split('.')[0] in finder.names:
            del sys.modules[mod]
    if 'subprocess' in finder.names:
        # Without subprocess, the os-level spawners are the obvious detour.
        import posix
        for fn in _SPAWN:
            for m in (os, posix):
                if hasattr(m, fn):
                    delattr(m, fn)


# --- the REPL --------------------------------------------------------------
_state = {'running': None, 'cap': 1 << 20}
_state_lock = threading.Lock()
_exec_queue = queue.Queue()
_MAIN = threading.main_thread().ident


def _reader():
    """Reads host frames; exec requests go to the main thread, interrupts
    signal it, call replies wake the waiting host call."""
    while True:
        msg = _recv()
        t = msg.get('type')
        if t in ('exec', 'init'):
            _exec_queue.put(msg)
        elif t == 'call_result':
            _call_replies.put(msg)
        elif t == 'interrupt':
            with _state_lock:
                if _state['running'] is not None and _state['running'] == msg.get('id'):
                    signal.pthread_kill(_MAIN, signal.SIGINT)
        elif t == 'shutdown':
            os._exit(0)
        else:
            os._exit(2)


def _exc_info(e):
    # The agent's own frame on top says nothing about the user's code.
    tb_ = e.__traceback__
    while tb_ is not None and tb_.tb_frame.f_code.co_filename == '<rlm-agent>':
        tb_ = tb_.tb_next
    tb = ''.join(traceback.format_exception(type(e), e, tb_))
    if len(tb) > 16384:
        tb = tb[:8192] + '\n...\n' + tb[-8192:]
    return {'type': type(e).__name__, 'message': str(e)[:4096], 'traceback': tb}


def _run_cell(msg, ns):
    cid = msg.get('id')
    code = msg.get('code')
    cap = _state['cap']
    _STDOUT.reset(cap)
    _STDERR.reset(cap)
    exc = None
    exit_code = None
    t0 = time.monotonic()
    with _state_lock:
        _state['running'] = cid
    try:
        if not isinstance(code, str):
            raise TypeError('code must be a string')
        tree = ast.parse(code, '<cell>', 'exec')
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        exec(compile(tree, '<cell>', 'exec'), ns)
        if last is not None:
            value = eval(compile(last, '<cell>', 'eval'), ns)
            if value is not None:
                print(repr(value))
    except SystemExit as e:
        code_ = e.code
        if code_ is None:
            exit_code = 0
        elif isinstance(code_, int):
            exit_code = code_
        else:
            print(code_, file=sys.stderr)
            exit_code = 1
        if exit_code:
            exc = _exc_info(e)
    except BaseException as e:  # noqa: B036 - KeyboardInterrupt included
        exc = _exc_info(e)
    finally:
        with _state_lock:
            _state['running'] = None
    duration = (time.monotonic() - t0) * 1000.0
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        pass
    out, out_tr = _STDOUT.collect()
    err, err_tr = _STDERR.collect()
    _send({'type': 'result', 'id': cid, 'stdout': out, 'stderr': err,
           'stdout_truncated': out_tr, 'stderr_truncated': err_tr,
           'exception': exc, 'exit_code': exit_code,
           'duration_ms': duration})


def _main():
    threading.Thread(target=_reader, daemon=True, name='rlm-frames').start()
    u = os.uname()
    _send({'type': 'hello', 'kernel': u.release, 'python': sys.version.split()[0],
           'pid': os.getpid(), 'uid': os.getuid()})
    init = _exec_queue.get()
    if init.get('type') != 'init':
        os._exit(2)
    _state['cap'] = int(init.get('max_capture_bytes') or (1 << 20))
    ns = {'__name__': '__main__', '__builtins__': builtins,
          'HostCallError': HostCallError}
    try:
        ns['context'] = Context(init.get('context_path'))
        for name in init.get('host_functions') or []:
            if isinstance(name, str) and name.isidentifier():
                ns[name] = _make_host_fn(name, ns)
        _restrict_imports(init.get('denied_imports') or [])
    except Exception as e:
        _send({'type': 'ready', 'error': '%s: %s' % (type(e).__name__, e)})
        os._exit(2)
    _send({'type': 'ready', 'error': None})
    while True:
        try:
            msg = _exec_queue.get()
            if msg.get('type') == 'exec':
                _run_cell(msg, ns)
        except KeyboardInterrupt:
            # An interrupt that arrived just after a cell ended: ignore.
            continue


_main()
