"""A real single-node SLURM cluster on 127.0.0.1 for the profile test (root; Debian's slurm-wlm,
slurmdbd, munge and mariadb-server).

Everything lives in one folder: MariaDB's data directory, the daemons' configuration, state,
logs and pid files. Accounting is on (slurmdbd backed by MariaDB), because the Snakemake SLURM
executor polls job states with ``sacct``. The node offers 2 CPUs and one (fake) GPU gres, so a
rule that asks for a GPU is scheduled. :meth:`Cluster.stop` stops every daemon it started, by pid.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

DB_PASSWORD = "mexp-test"


def available() -> str | None:
    """None when this machine can run the cluster, else why not."""
    if os.geteuid() != 0:
        return "the SLURM test runs the daemons as root"
    for exe in ("slurmctld", "slurmd", "slurmdbd", "munged", "mariadbd", "mariadb-install-db", "sacct", "sbatch"):
        if shutil.which(exe) is None and not Path(f"/usr/sbin/{exe}").exists():
            return f"{exe} is not installed (make install-system)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _left_by_a_test(link: Path) -> bool:
    """True for a symbolic link into the temporary folder: only a test cluster places one there
    (a site's own configuration is a file, or a link elsewhere)."""
    if not link.is_symlink():
        return False
    target = Path(os.readlink(link))
    return target.is_absolute() and Path(tempfile.gettempdir()).resolve() in target.parents


def _wait(check, what: str, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    t0 = time.time()
    while time.time() - t0 < timeout:
        if check():
            return
        time.sleep(0.5)
    raise RuntimeError(f"timed out waiting for {what}")


class Cluster:
    """Start with :meth:`start`; ``env`` holds what a client (sbatch, sacct, snakemake) needs."""

    def __init__(self, root: Path, cpus: int = 2) -> None:
        self.root = root
        self.cpus = cpus
        self.procs: dict[str, subprocess.Popen] = {}
        self.node = socket.gethostname()
        self.env = {**os.environ, "SLURM_CONF": str(root / "etc/slurm.conf")}

    def _spawn(self, name: str, cmd: list[str]) -> None:
        log = open(self.root / "log" / f"{name}.out", "w")  # noqa: SIM115 - closed with the process
        self.procs[name] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True)
        time.sleep(0.5)
        if self.procs[name].poll() is not None:
            raise RuntimeError(f"{name} exited at once:\n{(self.root / 'log' / f'{name}.out').read_text()[-3000:]}")

    def _sql(self, statement: str) -> None:
        subprocess.run(["mariadb", f"--socket={self.root / 'db.sock'}", "-uroot", "-e", statement], check=True, capture_output=True)

    def start(self) -> Cluster:
        r = self.root
        for d in ("etc", "log", "state", "spool", "db", "munge"):
            (r / d).mkdir(parents=True, exist_ok=True)
        # munge: its own key and socket
        key = r / "munge/munge.key"
        key.write_bytes(os.urandom(128))
        key.chmod(0o600)
        sock = r / "munge/munge.sock"
        self._spawn("munged", ["munged", "--foreground", "--force", f"--key-file={key}", f"--socket={sock}", f"--pid-file={r / 'munge/munged.pid'}",
                               f"--seed-file={r / 'munge/seed'}", f"--log-file={r / 'log/munged.log'}"])
        # MariaDB for slurmdbd
        subprocess.run(["mariadb-install-db", f"--datadir={r / 'db'}", "--user=root", "--auth-root-authentication-method=normal"],
                       check=True, capture_output=True)
        db_port = _free_port()
        self._spawn("mariadbd", ["mariadbd", "--no-defaults", f"--datadir={r / 'db'}", f"--socket={r / 'db.sock'}", f"--port={db_port}",
                                 "--bind-address=127.0.0.1", "--user=root", f"--pid-file={r / 'db.pid'}", "--innodb-buffer-pool-size=64M"])
        _wait(lambda: (r / "db.sock").exists(), "MariaDB")
        self._sql(f"CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '{DB_PASSWORD}'; "
                  f"GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1'; FLUSH PRIVILEGES;")
        dbd_port, ctl_port, d_port = _free_port(), _free_port(), _free_port()
        auth = f"AuthType=auth/munge\nAuthInfo=socket={sock}\n"
        dbd_conf = r / "etc/slurmdbd.conf"
        dbd_conf.write_text(
            f"{auth}DbdHost=localhost\nDbdAddr=127.0.0.1\nDbdPort={dbd_port}\nSlurmUser=root\nStorageType=accounting_storage/mysql\n"
            f"StorageHost=127.0.0.1\nStoragePort={db_port}\nStorageUser=slurm\nStoragePass={DB_PASSWORD}\nStorageLoc=slurm_acct_db\n"
            f"LogFile={r / 'log/slurmdbd.log'}\nPidFile={r / 'state/slurmdbd.pid'}\nDebugLevel=info\n")
        dbd_conf.chmod(0o600)
        (r / "etc/gres.conf").write_text(f"NodeName={self.node} Name=gpu Count=1 File=/dev/null\n")
        (r / "etc/slurm.conf").write_text(
            f"ClusterName=mexp\nSlurmctldHost={self.node}(127.0.0.1)\nSlurmctldPort={ctl_port}\nSlurmdPort={d_port}\n{auth}"
            f"SlurmUser=root\nSlurmdUser=root\nStateSaveLocation={r / 'state'}\nSlurmdSpoolDir={r / 'spool'}\n"
            f"SlurmctldPidFile={r / 'state/slurmctld.pid'}\nSlurmdPidFile={r / 'state/slurmd.pid'}\n"
            f"SlurmctldLogFile={r / 'log/slurmctld.log'}\nSlurmdLogFile={r / 'log/slurmd.log'}\n"
            "ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\nJobAcctGatherType=jobacct_gather/none\n"
            "SchedulerType=sched/backfill\nSelectType=select/cons_tres\nSelectTypeParameters=CR_Core\n"
            f"AccountingStorageType=accounting_storage/slurmdbd\nAccountingStorageHost=127.0.0.1\nAccountingStoragePass={sock}\n"
            f"AccountingStoragePort={dbd_port}\nAccountingStorageTRES=gres/gpu\nGresTypes=gpu\nReturnToService=2\nMpiDefault=none\n"
            "SchedulerParameters=sched_interval=2\nMinJobAge=600\nKillWait=5\n"
            f"NodeName={self.node} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory=4000 Gres=gpu:1 State=UNKNOWN\n"
            f"PartitionName=batch Nodes={self.node} Default=YES MaxTime=INFINITE State=UP\n")
        # Job steps started inside a job (srun, by the executor's jobstep plugin) do not always see
        # SLURM_CONF; when this machine has no SLURM configuration of its own, the test's is made
        # the default one for the test's duration (removed by stop()).
        # A link left by a test run that was killed before stop() (its target in the temporary
        # folder, gone or stale) is replaced: job steps would ask a controller that no longer runs.
        # Only links are placed and removed: a file of the site's own is never touched.
        self.default_conf = Path("/etc/slurm/slurm.conf")
        self.placed: list[Path] = []
        for name in ("slurm.conf", "gres.conf"):
            if _left_by_a_test(self.default_conf.parent / name):
                (self.default_conf.parent / name).unlink()
        if not self.default_conf.exists():
            self.default_conf.parent.mkdir(parents=True, exist_ok=True)
            for name in ("slurm.conf", "gres.conf"):
                link = self.default_conf.parent / name
                if not link.exists():
                    link.symlink_to(r / "etc" / name)
                    self.placed.append(link)
        self._spawn("slurmdbd", ["slurmdbd", "-D"])
        _wait(lambda: "slurmdbd version" in (r / "log/slurmdbd.log").read_text() if (r / "log/slurmdbd.log").exists() else False, "slurmdbd")
        time.sleep(1)
        self.run("sacctmgr", "-i", "add", "cluster", "mexp")
        self.run("sacctmgr", "-i", "add", "account", "mexp", "Description=mexp test", "Organization=mexp")
        self.run("sacctmgr", "-i", "add", "user", "root", "DefaultAccount=mexp")
        self._spawn("slurmctld", ["slurmctld", "-D", "-i"])
        self._spawn("slurmd", ["slurmd", "-D", "-N", self.node])
        _wait(lambda: "idle" in self.run("sinfo", "-h", "-o", "%t").stdout, "the node to become idle", timeout=90)
        return self

    def run(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        out = subprocess.run(list(cmd), capture_output=True, text=True, env=self.env)
        if check and out.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({out.returncode}): {out.stdout[-2000:]} {out.stderr[-2000:]}")
        return out

    def stop(self) -> None:
        """Stop every daemon this cluster started (by pid), newest first; remove the default
        configuration links it placed."""
        for link in getattr(self, "placed", []):
            link.unlink(missing_ok=True)
        for name in reversed(list(self.procs)):
            p = self.procs[name]
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait(timeout=10)
