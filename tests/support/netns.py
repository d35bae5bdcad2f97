"""Hosts for one test: Linux network namespaces on a bridge of their own.

Each host is a namespace (`ip netns add`) with one veth pair: one end inside, holding the host's
address, the other on a bridge in the root namespace, which holds the `.1` address. Hosts reach
each other and the root namespace through the bridge, and nothing else: no route leaves it. A
host's processes are started with `ip netns exec`; `kill` sends SIGKILL to every process the
namespace holds (`ip netns pids`), as a host losing its power would stop them all at once.
A host can be given a CPU budget (`Network.limit_cpu`): its processes then run in a cgroup of
their own with a CFS quota, so that hosts of a benchmark have a fixed size each however many
cores the machine running them has. Everything is removed by `close`, also after a failure.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


def unavailable() -> str | None:
    """Why namespaces cannot be made here (None when they can): root and iproute2 needed."""
    if os.geteuid() != 0:
        return "hosts are network namespaces, which need root"
    probe = f"lmbprobe{secrets.token_hex(3)}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"`ip netns add` fails here: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def _ip(*args: str, ns: str | None = None) -> None:
    command = ["ip", *(("-n", ns) if ns else ()), *args]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {done.stderr.strip()}")


@dataclass
class Host:
    """One namespace: its name, address and data directory, and the processes started in it."""

    name: str
    ns: str
    ip: str
    data_dir: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    cgroup: Path | None = None  # the cgroup its processes start in, when its CPU is limited

    @property
    def log(self) -> Path:
        return self.data_dir / "host.log"

    def tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def pids(self) -> list[int]:
        listed = subprocess.run(["ip", "netns", "pids", self.ns], capture_output=True, text=True)
        return [int(pid) for pid in listed.stdout.split()]


class Network:
    """A bridge, the hosts on it, and whatever runs in them."""

    def __init__(self, root: Path) -> None:
        self.tag = secrets.token_hex(2)
        self.subnet = f"10.{200 + secrets.randbelow(50)}.{secrets.randbelow(250) + 1}"
        self.bridge = f"lmbbr{self.tag}"
        self.gateway = f"{self.subnet}.1"
        self.root = root
        self.hosts: list[Host] = []
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", f"{self.gateway}/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")

    @property
    def cidr(self) -> str:
        return f"{self.subnet}.0/24"

    def host(self, name: str) -> Host:
        number = len(self.hosts) + 2
        ns = f"lmb{self.tag}-{name}"
        outside, inside = f"lv{self.tag}{number}o", f"lv{self.tag}{number}i"
        _ip("netns", "add", ns)
        host = Host(name, ns, f"{self.subnet}.{number}", self.root / name)
        self.hosts.append(host)
        host.data_dir.mkdir(parents=True)
        _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
        _ip("link", "set", inside, "netns", ns)
        _ip("link", "set", outside, "master", self.bridge)
        _ip("link", "set", outside, "up")
        _ip("addr", "add", f"{host.ip}/24", "dev", inside, ns=ns)
        _ip("link", "set", inside, "up", ns=ns)
        _ip("link", "set", "lo", "up", ns=ns)
        return host

    def limit_cpu(self, host: Host, cpus: float) -> None:
        """Give `host` `cpus` CPUs' worth of time (0.5: half of one core, whichever core) for
        the processes started in it from now on: a cgroup with a CFS quota of `cpus` x the
        100 ms period (cgroup v1's cpu controller, or v2's `cpu.max`).

        Raises RuntimeError when this machine has no cgroup CPU controller that root can use.
        """
        period = 100_000  # microseconds
        quota = max(1000, int(cpus * period))
        v1 = Path("/sys/fs/cgroup/cpu")
        if (v1 / "cpu.cfs_quota_us").exists():
            group = v1 / host.ns
            group.mkdir()
            (group / "cpu.cfs_period_us").write_text(str(period))
            (group / "cpu.cfs_quota_us").write_text(str(quota))
        elif (Path("/sys/fs/cgroup") / "cpu.max").exists() or Path(
            "/sys/fs/cgroup/cgroup.controllers"
        ).exists():
            group = Path("/sys/fs/cgroup") / host.ns
            group.mkdir()
            (group / "cpu.max").write_text(f"{quota} {period}")
        else:
            raise RuntimeError("no cgroup CPU controller here to limit a host's CPU")
        host.cgroup = group

    def start(self, host: Host, argv: list[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
        """Run `argv` in the host (its data directory as the working one, in its cgroup when
        its CPU is limited), output to its log."""
        command = ["ip", "netns", "exec", host.ns, *argv]
        if host.cgroup is not None:  # the shell joins the cgroup, then becomes the command
            join = f'echo $$ > {host.cgroup / "cgroup.procs"} && exec "$@"'
            command = ["sh", "-c", join, "sh", *command]
        with host.log.open("ab") as log:
            process = subprocess.Popen(
                command,
                env=dict(env),
                cwd=host.data_dir,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        host.processes.append(process)
        return process

    def kill(self, host: Host) -> list[int]:
        """SIGKILL every process in the host's namespace; the pids killed."""
        killed = []
        for _ in range(5):  # a process forked meanwhile is found by the next look
            pids = host.pids()
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
            time.sleep(0.1)
        for process in host.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
        return killed

    def close(self) -> None:
        for host in self.hosts:
            self.kill(host)
            subprocess.run(["ip", "netns", "del", host.ns], capture_output=True)
            if host.cgroup is not None:
                with contextlib.suppress(OSError):
                    host.cgroup.rmdir()
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)


def wait_for_port(address: tuple[str, int], timeout: float, what: Host | None = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(address, timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"nothing answers on {address[0]}:{address[1]}"
                    + (f":\n{what.tail()}" if what else "")
                ) from None
            time.sleep(0.2)
