"""A small process manager for `make up` (in place of honcho): one Python process, stdlib only.

    python -m devtools.run -f Procfile -e deploy/dev.env,.data/secrets.env [--preload MODULES] [NAME ...]

Procfile: one `name: command` a line (`#` comments). The command is split with shlex and executed
directly — no shell, so no pipes, redirections or `$VAR` expansion — with leading `NAME=VALUE`
words taken as environment variables for that process only (`gateway: WEB_THREADS=64 gunicorn …`).
The environment is this process's, then the env files in order (`KEY=VALUE` lines, `#` comments,
optional quotes and `export `), then the line's own variables. Every process runs in the
Procfile's directory, in its own process group, with stdin closed; its output lines are printed
prefixed with the time and its padded name.

WEB_ARBITER=off (deploy/dev.env): the `gunicorn …` commands run as `python -m devtools.serve …`, one
worker process without a master (devtools/serve.py).

WORKERS_IN_WEB=true (deploy/dev.env): the `<name>-worker` entries of a `<name>` entry are not
started: each web process runs its service's worker on a thread (deploy/gunicorn.conf.py).

`--preload MODULES` (comma-separated; `@procfile` stands for the modules the Procfile's Python
commands run: `-m X` and gunicorn's `module:app`): a fork server (devtools/forkserver.py) imports
them once, and every command run by the same Python — `python -m X`, `python script.py`, or a
console script of that interpreter such as `gunicorn` — is forked from it instead of starting a
fresh interpreter, so those processes share the imported modules' memory. Commands setting a
`PYTHON*` variable of their own, passing interpreter options, or run by another interpreter are
executed as usual. Without `--preload`, or if the fork server cannot start, everything is executed.

Stopping: on SIGINT (Ctrl-C), SIGTERM or SIGHUP every process group gets SIGTERM (the graceful
stop of gunicorn, the workers and the servers; SIGINT makes nx-27017 print tracebacks), and so it
does when a process exits on its own, as honcho does. Whatever still runs `--grace` seconds
later (default 20: `weed` takes ~16 s) is killed (SIGKILL, the whole group), and so is everything
at once on a second Ctrl-C. Children also get SIGTERM if this manager dies
(PR_SET_PDEATHSIG), so nothing outlives it. Exit status: 0 when stopped by a signal, else the
status of the first process that exited.
"""
from __future__ import annotations

import json
import os
import re
import selectors
import shlex
import signal
import socket
import subprocess
import sys
import time

ENV_WORD = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.S)
WSGI_TARGET = re.compile(r"^([A-Za-z_][\w.]*):[A-Za-z_]\w*(\(.*\))?$")
COLORS = ("36", "33", "32", "35", "34", "31", "96", "93", "92", "95", "94", "91")
PR_SET_PDEATHSIG = 1
SERVER = "preload"


class Entry:
    """One Procfile line: its name, argv (without the env words) and its own variables."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str] | None = None):
        self.name, self.argv, self.env = name, argv, dict(env or {})

    def __repr__(self) -> str:
        return f"Entry({self.name!r}, {self.argv!r}, {self.env!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Entry) and (self.name, self.argv, self.env) == (other.name, other.argv, other.env)


def parse_procfile(text: str) -> list[Entry]:
    entries: list[Entry] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, command = line.partition(":")
        name = name.strip()
        if not sep or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise ValueError(f"Procfile line {number}: expected `name: command`, got {raw!r}")
        words = shlex.split(command, comments=True)
        env: dict[str, str] = {}
        while words and ENV_WORD.match(words[0]):
            key, value = ENV_WORD.match(words.pop(0)).groups()
            env[key] = value
        if not words:
            raise ValueError(f"Procfile line {number}: {name} has no command")
        if any(e.name == name for e in entries):
            raise ValueError(f"Procfile line {number}: {name} defined twice")
        entries.append(Entry(name, words, env))
    return entries


def parse_env(text: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[7:].lstrip()
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise ValueError(f"env line {number}: expected KEY=VALUE, got {raw!r}")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        env[key] = value
    return env


def which(name: str, path: str) -> str | None:
    if os.sep in name:
        return name
    for folder in path.split(os.pathsep):
        candidate = os.path.join(folder or ".", name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def same_python(a: str, b: str) -> bool:
    """Both paths run the same interpreter of the same environment (venv)."""
    real = os.path.realpath
    return real(a) == real(b) and real(os.path.dirname(a)) == real(os.path.dirname(b))


def fork_target(argv: list[str], exe: str, python: str) -> tuple[list[str], bool] | None:
    """(["module", name] | ["path", file], run by the interpreter itself) when the fork server
    can run this command, else None."""
    if same_python(exe, python):
        if len(argv) >= 3 and argv[1] == "-m" and not argv[2].startswith("-"):
            return ["module", argv[2]], True
        if len(argv) >= 2 and not argv[1].startswith("-"):
            return ["path", argv[1]], True
        return None
    try:
        with open(exe, "rb") as f:
            first = f.readline(512)
    except OSError:
        return None
    if first.startswith(b"#!"):
        words = first[2:].decode(errors="replace").split()
        if len(words) == 1 and same_python(words[0], python):
            return ["path", exe], False
    return None


def procfile_modules(entries: list[Entry]) -> list[str]:
    """The modules the Procfile's commands run: `-m X`, and `module:callable` arguments (gunicorn)."""
    found: list[str] = []
    for entry in entries:
        argv = entry.argv
        if len(argv) >= 3 and argv[1] == "-m":
            found.append(argv[2])
        found += [m.group(1) for m in map(WSGI_TARGET.match, argv[1:]) if m]
    return list(dict.fromkeys(found))


def _pdeathsig_setter():
    """A preexec_fn giving each child SIGTERM when the manager dies (Linux; None elsewhere)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (ImportError, OSError, AttributeError):
        return None
    return lambda: prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)


class Child:
    """A running Procfile entry: executed (a Popen) or forked by the fork server (a pid)."""

    def __init__(self, entry: Entry, pid: int, out, prefix: bytes, proc: subprocess.Popen | None = None):
        self.entry = entry
        self.pid = pid
        self.out = out
        self.proc = proc
        self.prefix = prefix
        self.partial = b""
        self.returncode: int | None = None
        self.reported = False

    @property
    def forked(self) -> bool:
        return self.proc is None


class Manager:
    def __init__(self, entries: list[Entry], env: dict[str, str], cwd: str, *, grace: float = 10.0,
                 out=None, color: bool | None = None, preload: list[str] | None = None):
        self.entries = entries
        self.env = env
        self.cwd = cwd
        self.grace = grace
        self.out = out or sys.stdout.buffer
        self.color = self.out.isatty() if color is None else color
        self.width = max([len(e.name) for e in entries] + [len(SERVER), 6])
        self.preload = preload or []
        self.children: list[Child] = []
        self.server: Child | None = None
        self.sock: socket.socket | None = None
        self.python = which("python", env.get("PATH", os.defpath)) or sys.executable
        self.sel = selectors.DefaultSelector()
        self.stopping_since: float | None = None
        self.stop_reason: str | None = None
        self.waiting_told = False
        self.status = 0
        self.pending: list[int] = []
        self.preexec = _pdeathsig_setter()

    # ---- output
    def _prefix(self, name: str, index: int) -> bytes:
        text = f"{name:<{self.width}} | "
        if self.color:
            text = f"\033[{COLORS[index % len(COLORS)]}m{text}\033[0m"
        return text.encode()

    def emit(self, prefix: bytes, data: bytes) -> None:
        stamp = time.strftime("%H:%M:%S ").encode()
        try:
            self.out.write(b"".join(stamp + prefix + line + b"\n" for line in data.split(b"\n")))
            self.out.flush()
        except (BrokenPipeError, ValueError):
            self.out = open(os.devnull, "wb")
            self.stop("output closed", signal.SIGTERM)

    def say(self, text: str) -> None:
        self.emit(self._prefix("system", len(self.entries)), text.encode())

    # ---- processes
    def _watch(self, child: Child) -> None:
        os.set_blocking(child.out.fileno(), False)
        self.sel.register(child.out, selectors.EVENT_READ, child)

    def _popen(self, entry: Entry, argv: list[str], env: dict, index: int, **kw) -> Child:
        proc = subprocess.Popen(argv, cwd=self.cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=self.preexec, **kw)
        child = Child(entry, proc.pid, proc.stdout, self._prefix(entry.name, index), proc)
        self._watch(child)
        return child

    def start_server(self) -> None:
        """The fork server: imports self.preload, then forks the Python commands."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        modules = [m for name in self.preload for m in (procfile_modules(self.entries) if name == "@procfile" else [name])]
        modules = list(dict.fromkeys(modules))
        pad = "." * 400  # room for the forked processes' command lines (see forkserver.set_title)
        argv = [self.python, "-m", "devtools.forkserver", "--fd", str(theirs.fileno()), "--pad", pad]
        started = time.monotonic()
        try:
            self.server = self._popen(Entry(SERVER, argv), argv, self.env, len(self.entries) + 1,
                                      pass_fds=(theirs.fileno(),))
        finally:
            theirs.close()
        self.sock = ours
        ours.settimeout(120)
        try:
            ours.send(json.dumps({"preload": modules}).encode())
            reply = self._request_reply()
        except (OSError, ValueError) as exc:
            reply = {"ready": False, "error": str(exc)}
        if not reply.get("ready"):
            self.say(f"fork server unavailable ({reply.get('error')}): every command is executed")
            self._close_server()
            return
        for name, error in reply.get("failed", {}).items():
            self.say(f"preload: {name} failed to import ({error}); its process will report it")
        self.sel.register(ours, selectors.EVENT_READ, "server")
        self.say(f"preloaded {len(modules) - len(reply.get('failed', {}))} modules in "
                 f"{time.monotonic() - started:.1f} s (pid {self.server.pid}); Python commands are forked from it")

    def _close_server(self) -> None:
        if self.sock is not None:
            try:
                self.sel.unregister(self.sock)
            except (KeyError, ValueError):
                pass
            self.sock.close()
            self.sock = None

    def _request_reply(self) -> dict:
        """Read messages until the reply to the last request (exit notices are handled meanwhile)."""
        while True:
            data = self.sock.recv(1 << 20)
            if not data:
                raise OSError("fork server closed the connection")
            message = json.loads(data)
            if "exit" in message:
                self._forked_exit(message["exit"], message["status"])
                continue
            return message

    def _server_readable(self) -> None:
        try:
            self.sock.setblocking(False)
            while True:
                try:
                    data = self.sock.recv(1 << 20)
                except BlockingIOError:
                    break
                if not data:
                    self._close_server()
                    break
                message = json.loads(data)
                if "exit" in message:
                    self._forked_exit(message["exit"], message["status"])
        except OSError:
            self._close_server()
        finally:
            if self.sock is not None:
                self.sock.setblocking(True)

    def _forked_exit(self, pid: int, status: int) -> None:
        for child in self.children:
            if child.pid == pid and child.forked and child.returncode is None:
                child.returncode = status

    def _spawn_forked(self, entry: Entry, argv: list[str], env: dict, run: list[str], interpreter: bool,
                      index: int) -> Child | None:
        r, w = os.pipe()
        try:
            message = {"spawn": entry.name, "argv": argv, "env": env, "cwd": self.cwd, "run": run,
                       "interpreter": interpreter}
            socket.send_fds(self.sock, [json.dumps(message).encode()], [w])
            reply = self._request_reply()
        except (OSError, ValueError) as exc:
            reply = {"error": str(exc)}
        finally:
            os.close(w)
        if "pid" not in reply:
            os.close(r)
            self.say(f"fork server could not start {entry.name} ({reply.get('error')}): executing it")
            return None
        child = Child(entry, reply["pid"], open(r, "rb", buffering=0), self._prefix(entry.name, index))
        self._watch(child)
        return child

    def start(self) -> None:
        if self.preload:
            self.start_server()
        for index, entry in enumerate(self.entries):
            env = dict(self.env)
            env.update(entry.env)
            exe = which(entry.argv[0], env.get("PATH", os.defpath)) or entry.argv[0]
            argv = [exe] + entry.argv[1:]
            child = None
            target = fork_target(argv, exe, self.python) if self.sock is not None else None
            if target and not any(k.startswith("PYTHON") for k in entry.env):
                child = self._spawn_forked(entry, argv, env, target[0], target[1], index)
            if child is None:
                try:
                    child = self._popen(entry, argv, env, index)
                except OSError as exc:
                    self.say(f"cannot start {entry.name} ({shlex.join(entry.argv)}): {exc}")
                    self.status = self.status or 127
                    self.stop(f"{entry.name} could not start", signal.SIGTERM)
                    return
            self.children.append(child)
            how = "forked" if child.forked else "started"
            self.say(f"{how} {entry.name} (pid {child.pid}): {shlex.join(entry.argv)}")

    def _all(self) -> list[Child]:
        return self.children + ([self.server] if self.server is not None else [])

    @staticmethod
    def _group_alive(child: Child) -> bool:
        try:
            os.killpg(child.pid, 0)
            return True
        except (ProcessLookupError, PermissionError):
            return False

    def signal_all(self, sig: int, *, server: bool = False) -> None:
        for child in self.children + ([self.server] if server and self.server is not None else []):
            if child.returncode is None or self._group_alive(child):
                try:
                    os.killpg(child.pid, sig)
                except (ProcessLookupError, PermissionError):
                    pass

    def stop(self, reason: str, sig: int) -> None:
        if self.stopping_since is not None:
            return
        self.stopping_since = time.monotonic()
        self.stop_reason = reason
        self.say(f"{reason}: sending {signal.Signals(sig).name} to every process")
        self.signal_all(sig)

    def kill_all(self, why: str) -> None:
        alive = [c.entry.name for c in self._all() if c.returncode is None or self._group_alive(c)]
        if alive:
            self.say(f"{why}: SIGKILL to {', '.join(alive)}")
        self.signal_all(signal.SIGKILL, server=True)

    # ---- loop
    def _on_signal(self, signum, _frame) -> None:
        self.pending.append(signum)

    def _handle_signals(self) -> None:
        while self.pending:
            signum = self.pending.pop(0)
            if signum == signal.SIGCHLD:
                continue
            if self.stopping_since is not None:
                self.kill_all(f"{signal.Signals(signum).name} again")
                self.stopping_since = time.monotonic() - self.grace + 2
                continue
            self.stop(f"{signal.Signals(signum).name} received", signal.SIGTERM)

    def _read(self, child: Child) -> None:
        try:
            data = os.read(child.out.fileno(), 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.sel.unregister(child.out)
            child.out.close()
            if child.partial:
                self.emit(child.prefix, child.partial)
                child.partial = b""
            return
        data = child.partial + data
        complete, _, child.partial = data.rpartition(b"\n")
        if complete:
            self.emit(child.prefix, complete)
        if len(child.partial) > 65536:
            self.emit(child.prefix, child.partial)
            child.partial = b""

    def _poll(self, child: Child) -> None:
        if child.returncode is not None:
            return
        if child.proc is not None:
            child.returncode = child.proc.poll()
        elif self.sock is None and not self._group_alive(child):
            child.returncode = -signal.SIGKILL if self.stopping_since is not None else 1  # server gone: unknown

    def _reap(self) -> None:
        for child in self._all():
            self._poll(child)
            if child.returncode is None or child.reported:
                continue
            child.reported = True
            code = child.returncode
            how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exited with code {code}"
            self.say(f"{child.entry.name} (pid {child.pid}) {how}")
            if self.stopping_since is None:
                self.status = code if code > 0 else (128 - code if code < 0 else 0)
                self.stop(f"{child.entry.name} stopped", signal.SIGTERM)
            elif self._group_alive(child):
                try:  # the group leader is gone: nothing of its group may stay behind
                    os.killpg(child.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass

    def run(self) -> int:
        rfd, wfd = os.pipe()
        os.set_blocking(rfd, False)
        os.set_blocking(wfd, False)
        old_wakeup = signal.set_wakeup_fd(wfd, warn_on_full_buffer=False)
        handled = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD)
        old = {s: signal.signal(s, self._on_signal) for s in handled}
        waker = open(rfd, "rb", buffering=0)
        self.sel.register(waker, selectors.EVENT_READ, None)
        try:
            self.start()
            while True:
                self._handle_signals()
                self._reap()
                if self.stopping_since is not None:
                    if all(c.returncode is not None for c in self.children if c.forked):
                        self._close_server()  # the fork server exits once its socket closes
                    if all(c.returncode is not None for c in self.children):
                        if all(c.returncode is not None for c in self._all()):
                            # leaders gone: sweep their groups, then drain what is left in the pipes
                            for child in self._all():
                                if self._group_alive(child):
                                    os.killpg(child.pid, signal.SIGKILL)
                            pipes = [k for k in self.sel.get_map().values() if isinstance(k.data, Child)]
                            if not pipes or time.monotonic() - self.stopping_since > self.grace + 5:
                                break
                    if not self.waiting_told and time.monotonic() - self.stopping_since > 3:
                        self.waiting_told = True
                        alive = [c.entry.name for c in self.children if c.returncode is None]
                        if alive:
                            self.say(f"waiting for {', '.join(alive)} (SIGKILL in {self.grace - 3:g} s; "
                                     "Ctrl-C again to kill now)")
                    if time.monotonic() - self.stopping_since > self.grace:
                        self.kill_all(f"still running after {self.grace:g} s")
                        self.stopping_since = time.monotonic() - self.grace + 2  # again in 2 s
                for key, _ in self.sel.select(timeout=0.5):
                    if key.data is None:
                        try:
                            waker.read(4096)
                        except BlockingIOError:
                            pass
                    elif key.data == "server":
                        self._server_readable()
                    else:
                        self._read(key.data)
        finally:
            for s, h in old.items():
                signal.signal(s, h)
            signal.set_wakeup_fd(old_wakeup)
            self.sel.unregister(waker)
            waker.close()
            os.close(wfd)
            self._close_server()
            for child in self._all():
                if child.returncode is None or self._group_alive(child):
                    try:
                        os.killpg(child.pid, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
                if child.proc is not None:
                    child.proc.wait()
        self.say(f"all processes stopped ({self.stop_reason})")
        return self.status


def main(argv: list[str] | None = None) -> int:
    parser = argparse_parser()
    args = parser.parse_args(argv)
    procfile = os.path.realpath(args.procfile)
    with open(procfile, encoding="utf-8") as f:
        entries = parse_procfile(f.read())
    if args.names:
        unknown = sorted(set(args.names) - {e.name for e in entries})
        if unknown:
            parser.error(f"not in {args.procfile}: {', '.join(unknown)}")
        entries = [e for e in entries if e.name in args.names]
    env = dict(os.environ)
    for path in filter(None, (p.strip() for p in args.env.split(","))):
        with open(path, encoding="utf-8") as f:
            env.update(parse_env(f.read()))
    # @procfile: the modules of every entry, the embedded workers' too (the web processes import them)
    preload = [m for name in (p.strip() for p in args.preload.split(",")) if name
               for m in (procfile_modules(entries) if name == "@procfile" else [name])]
    entries = without_arbiter(embedded_workers(entries, env), env)
    root = os.path.realpath(args.root) if args.root else os.path.dirname(procfile)
    return Manager(entries, env, root, grace=args.grace, preload=preload).run()


def embedded_workers(entries: list[Entry], env: dict[str, str]) -> list[Entry]:
    """With WORKERS_IN_WEB=true (deploy/dev.env) each service's web process runs its bus worker on a
    thread (deploy/gunicorn.conf.py), so the `<name>-worker` entries of a `<name>` entry are left out."""
    from libs.common.kit import workers_in_web
    names = {e.name for e in entries}
    if not workers_in_web(env):
        return entries
    return [e for e in entries if not (e.name.endswith("-worker") and e.name[:-len("-worker")] in names)]


def without_arbiter(entries: list[Entry], env: dict[str, str]) -> list[Entry]:
    """With WEB_ARBITER=off (deploy/dev.env) the `gunicorn …` entries run as `python -m devtools.serve
    …`: the same arguments and configuration, one worker process and no master beside it."""
    if (env.get("WEB_ARBITER") or "").strip().lower() not in {"off", "0", "false", "no"}:
        return entries
    return [Entry(e.name, [sys.executable, "-m", "devtools.serve", *e.argv[1:]], e.env)
            if os.path.basename(e.argv[0]) == "gunicorn" else e for e in entries]


def argparse_parser():
    import argparse
    parser = argparse.ArgumentParser(prog="python -m devtools.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-f", "--procfile", default="Procfile")
    parser.add_argument("-e", "--env", default="", help="comma-separated env files, applied in order")
    parser.add_argument("-d", "--root", help="working directory of every process (default: the Procfile's)")
    parser.add_argument("--grace", type=float, default=20.0, help="seconds between SIGTERM/SIGINT and SIGKILL")
    parser.add_argument("--preload", default="", help="modules a fork server imports for the Python commands "
                        "(comma-separated; @procfile: the modules the Procfile runs)")
    parser.add_argument("names", nargs="*", help="run only these Procfile entries")
    return parser


if __name__ == "__main__":
    sys.exit(main())
