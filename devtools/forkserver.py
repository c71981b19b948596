"""The fork server of `python -m devtools.run --preload …`: one Python process imports the modules
every Python process of the Procfile needs (Flask, pymongo, nats, gunicorn, libs.common, the
services' modules…), then forks each `python -m X` / `python script` / console-script command
instead of the manager exec-ing a fresh interpreter for it. The forked processes share those
imported pages copy-on-write, which is what makes a dozen Python processes cheap at rest: each one
owns only what it changed or allocated since the fork (measured: ~16 MiB instead of ~33 MiB for a
service worker; see README, "make up" sizing).

Started by devtools.run only (stdlib only here; the preloaded modules are whatever it names):

    python -m devtools.forkserver --fd N --pad …

Protocol on the inherited AF_UNIX SOCK_SEQPACKET socket `N`, one JSON object a message:
    ← {"preload": [modules]}                          → {"ready": true, "failed": {module: error}}
                                                        or {"ready": false, "error": "…"} (the
                                                        manager then execs every command itself)
    ← {"spawn": name, "argv", "env", "cwd", "run": ["module", name] | ["path", file]}
      with the child's stdout/stderr fd attached      → {"pid": N} | {"error": "…"}
                                                      → {"exit": pid, "status": code} when it ends
    EOF from the manager: SIGTERM to every child still running, SIGKILL 10 s later, exit.

A forked child is what `python -m X` would be: its own session (process group), stdin /dev/null,
stdout and stderr on the manager's pipe, the given cwd, environment (os.environ replaced) and
sys.argv, signal handlers back to Python's defaults, SIGTERM if this server dies, and its
/proc/<pid>/cmdline rewritten to its own command line (so ps, pgrep -f and stack-cost see
`gunicorn … services.boards.app:create_app()`, not this module). Interpreter options (`PYTHON*`
variables, `-X`, `-O`…) are this server's, so devtools.run only forks commands whose PYTHON*
environment matches and that pass no interpreter option.
"""
from __future__ import annotations

import gc
import json
import os
import signal
import socket
import sys
import time
import traceback

PR_SET_NAME = 15
PR_SET_PDEATHSIG = 1
MAX_MESSAGE = 1 << 20

_libc = None


def _prctl(option: int, arg) -> None:
    global _libc
    try:
        if _libc is None:
            import ctypes
            _libc = ctypes.CDLL(None, use_errno=True)
        _libc.prctl(option, arg, 0, 0, 0)
    except Exception:  # noqa: BLE001 - Linux only, best effort
        pass


def set_title(argv: list[str]) -> None:
    """Rewrite this process's /proc/self/cmdline (the argv area the kernel shows) and its name.
    Python copied argv at start-up and never reads that memory again (setproctitle does the
    same). The text is cut to the room the original command line had."""
    try:
        import ctypes
        with open("/proc/self/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        start, end = int(fields[45]), int(fields[46])  # arg_start, arg_end (fields 48, 49)
    except (OSError, IndexError, ValueError, ImportError):
        return
    room = end - start
    if room <= 1:
        return
    data = b"\0".join(os.fsencode(a) for a in argv)[: room - 1]
    ctypes.memmove(start, data + b"\0" * (room - len(data)), room)
    _prctl(PR_SET_NAME, os.fsencode(os.path.basename(argv[0]))[:15])


def send(sock: socket.socket, message: dict, fds: list[int] | None = None) -> None:
    data = json.dumps(message).encode()
    if fds:
        socket.send_fds(sock, [data], fds)
    else:
        sock.send(data)


def preload(modules: list[str]) -> dict[str, str]:
    import importlib
    failed: dict[str, str] = {}
    for name in modules:
        try:
            importlib.import_module(name)
        except BaseException as exc:  # noqa: BLE001 - a module that fails here fails in its process too
            failed[name] = f"{type(exc).__name__}: {exc}"
    return failed


class Server:
    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.pid = os.getpid()
        self.children: dict[int, str] = {}
        self.rfd, self.wfd = os.pipe()
        os.set_blocking(self.rfd, False)
        os.set_blocking(self.wfd, False)

    def serve(self):
        """Answer the manager until EOF; returns (kind, target) in a forked child only."""
        import selectors
        signal.set_wakeup_fd(self.wfd, warn_on_full_buffer=False)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        sel = selectors.DefaultSelector()
        sel.register(self.sock, selectors.EVENT_READ, "sock")
        sel.register(self.rfd, selectors.EVENT_READ, "wake")
        try:
            while True:
                for key, _ in sel.select(timeout=1.0):
                    if key.data == "wake":
                        try:
                            os.read(self.rfd, 4096)
                        except BlockingIOError:
                            pass
                        continue
                    data, fds, _flags, _addr = socket.recv_fds(self.sock, MAX_MESSAGE, 4)
                    if not data:
                        self.shutdown()
                        return None
                    target = self.handle(json.loads(data), fds)
                    if target is not None:  # in the child
                        sel.close()
                        return target
                self.reap()
        finally:
            if os.getpid() == self.pid:
                signal.set_wakeup_fd(-1)

    def handle(self, message: dict, fds: list[int]):
        if "spawn" not in message or not fds:
            for fd in fds:
                os.close(fd)
            send(self.sock, {"error": f"unknown request {sorted(message)}"})
            return None
        out = fds[0]
        for fd in fds[1:]:
            os.close(fd)
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            pid = os.fork()
        except OSError as exc:
            os.close(out)
            send(self.sock, {"error": f"fork failed: {exc}"})
            return None
        if pid == 0:
            return self.become(message, out)
        os.close(out)
        self.children[pid] = message["spawn"]
        send(self.sock, {"pid": pid})
        return None

    def become(self, message: dict, out: int):
        """In the forked child: turn into the requested command's process."""
        os.setsid()
        _prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM))
        if os.getppid() != self.pid:  # the server died before the prctl
            os._exit(1)
        signal.set_wakeup_fd(-1)
        for sig, handler in ((signal.SIGCHLD, signal.SIG_DFL), (signal.SIGTERM, signal.SIG_DFL),
                             (signal.SIGHUP, signal.SIG_DFL), (signal.SIGINT, signal.default_int_handler)):
            signal.signal(sig, handler)
        self.sock.close()
        os.close(self.rfd)
        os.close(self.wfd)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        for fd in (null, out):
            if fd > 2:
                os.close(fd)
        os.chdir(message["cwd"])
        os.environ.clear()
        os.environ.update(message["env"])
        if os.environ.get("PYTHONUNBUFFERED"):
            sys.stdout.reconfigure(write_through=True)
        sys.stdout.reconfigure(line_buffering=True)
        set_title(message["argv"])
        kind, target = message["run"]
        args = message["argv"][1:]
        if kind == "module":   # python -m target args… (argv[0] is set by runpy)
            sys.argv = ["-m"] + args[2:]
            sys.path[0] = os.getcwd()
        else:                  # python script args… / a console script
            script = os.path.abspath(target)
            sys.argv = [script] + (args[1:] if message.get("interpreter") else args)
            sys.path[0] = os.path.dirname(os.path.realpath(script))
        return kind, target

    def reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if self.children.pop(pid, None) is not None:
                try:
                    send(self.sock, {"exit": pid, "status": os.waitstatus_to_exitcode(status)})
                except OSError:
                    pass

    def shutdown(self) -> None:
        """The manager went away: stop what still runs."""
        for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            for pid in list(self.children):
                try:
                    os.killpg(pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + wait
            while self.children and time.monotonic() < deadline:
                self.reap()
                time.sleep(0.05)


def main() -> None:
    import argparse
    parser = argparse.ArgumentParser(description="devtools.run's fork server (not run by hand)")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--pad", default="", help="room for the children's command lines")
    args = parser.parse_args()
    sock = socket.socket(fileno=args.fd)
    sock.set_inheritable(False)
    server = Server(sock)
    data = sock.recv(MAX_MESSAGE)
    if not data:
        return
    modules = json.loads(data).get("preload", [])
    failed = preload(modules)
    import threading
    if threading.active_count() > 1:
        names = [t.name for t in threading.enumerate() if t is not threading.current_thread()]
        send(sock, {"ready": False, "error": f"threads started while importing: {names}"})
        return
    gc.collect()
    gc.freeze()  # the imported objects stay out of the collector: it would touch (copy) their pages
    set_title([sys.executable, "-m", "devtools.forkserver", f"({len(modules) - len(failed)} modules preloaded)"])
    send(sock, {"ready": True, "failed": failed})
    target = server.serve()
    if target is None:
        return
    import runpy
    kind, name = target
    del server, sock, data, modules, failed, args, parser
    if kind == "module":
        # A preloaded copy stays importable under its name for others; as __main__ it runs anew
        # (without runpy's "found in sys.modules" warning).
        sys.modules.pop(name, None)
        runpy.run_module(name, run_name="__main__", alter_sys=True)
    else:
        runpy.run_path(name, run_name="__main__")


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:
        sys.exit(1)
