"""`memmap-tui mount` through real FUSE: lsmem, chmem (in a private mount namespace) and our
restatement of the kernel's memory-hotplug selftest run against the simulated machine."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bridge.fuse_mount import FuseMissing, load_mfusepy

HERE = Path(__file__).parent
SCENARIO = """
[machine]
profile = "6.12"
memmap_on_memory = true
[[machine.node]]
id = 0
memory = "2G"
[[step]]
op = "hot_add"
size = "1G"
"""


def _fuse_missing() -> str | None:
    try:
        load_mfusepy()
    except FuseMissing as e:
        return str(e)
    if shutil.which("fusermount3") is None:
        return "fusermount3 is not installed (Debian's fuse3)"
    if shutil.which("lsmem") is None:
        return "util-linux lsmem is not installed"
    return None


pytestmark = pytest.mark.skipif(_fuse_missing() is not None, reason=str(_fuse_missing()))


@pytest.fixture(scope="module")
def mounted(tmp_path_factory):
    """One mount for the module; the tests run in file order on it (lsmem sees the boot state)."""
    base = tmp_path_factory.mktemp("mnt")
    root = base / "root"
    root.mkdir()
    sc = base / "m.toml"
    sc.write_text(SCENARIO)
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from tui.cli import main; "
                             "sys.exit(main(sys.argv[1:]))", "mount", str(root), "--scenario", str(sc)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    marker = root / "sys/devices/system/memory/block_size_bytes"
    deadline = time.monotonic() + 20
    while not marker.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            out = proc.stdout.read()
            if any(s in out for s in ("fuse: device not found", "Operation not permitted",
                                      "fusermount3: mount failed", "Permission denied")):
                pytest.skip(f"this machine does not let us mount FUSE: {out.strip().splitlines()[-1]}")
            pytest.fail(f"mount did not come up: {out}")
        time.sleep(0.05)
    yield root, proc
    subprocess.run(["fusermount3", "-u", str(root)], check=False)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    if str(root) in Path("/proc/mounts").read_text():
        subprocess.run(["fusermount3", "-uz", str(root)], check=False)   # never leave a dead mount


def _run(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60, **kw)


def test_lsmem_reads_the_mount(mounted):
    root, _ = mounted
    out = _run("lsmem", "--sysroot", str(root), "-o", "RANGE,STATE,BLOCK,ZONES")
    assert out.returncode == 0, out.stderr
    assert "0x0000000100000000-0x000000013fffffff offline 32-39 Normal/Movable" in " ".join(out.stdout.split())
    assert "Total offline memory: 1G" in " ".join(out.stdout.split())


def test_writes_return_the_kernels_errno(mounted):
    root, _ = mounted
    mem = root / "sys/devices/system/memory"
    (mem / "memory39/state").write_text("online_movable\n")
    assert (mem / "memory39/valid_zones").read_text() == "Movable\n"
    # the mount serves /proc/kpageflags too: a live view of it sees the self-hosted memmap
    from bridge import pageclass as PC
    from bridge.live import LiveMachine
    from engine import states as S
    live = LiveMachine(root)
    lo = 39 * live.geometry.pages_per_block
    assert live.rule == PC.RULE_OWNER and live.has_page_flags       # 6.12: per-block altmaps
    assert (live.pfn_states(lo, lo + 512) == S.MEMMAP_SELF).all()
    assert live.pfn_states(lo + 512, lo + 513).tolist() == [S.FREE]
    assert live.block(39)["nr_vmemmap_pages"] == 512
    live.close()
    with pytest.raises(OSError) as e:
        (mem / "memory39/state").write_text("online\n")
    assert e.value.errno == 22
    with pytest.raises(OSError) as e:
        (mem / "probe").write_text("0x12345\n")
    assert e.value.errno == 22
    (mem / "memory39/state").write_text("offline\n")


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("chmem") is None,
                    reason="chmem needs root, unshare and util-linux's chmem")
def test_unmodified_chmem_in_a_private_namespace(mounted):
    root, _ = mounted
    script = (f"mount --bind {root}/sys/devices/system/memory /sys/devices/system/memory && "
              f"chmem -e 256M && chmem -d -b 32")
    out = _run("unshare", "-m", "--propagation", "private", "sh", "-c", script)
    assert out.returncode == 0, out.stderr
    states = [(root / f"sys/devices/system/memory/memory{b}/state").read_text().strip() for b in (32, 33, 34)]
    assert states == ["offline", "online", "offline"]     # enabled 32-33, then disabled 32
    # the real /sys was never touched
    assert not Path("/sys/devices/system/memory/memory33").exists() or \
        Path("/sys/devices/system/memory/memory33/state").read_text().strip() == "online"


def test_our_mem_on_off_selftest_passes(mounted):
    root, proc = mounted
    out = _run("bash", str(HERE / "mem_on_off.sh"), str(root / "sys"), "10", "7")
    assert out.returncode == 0, out.stdout + out.stderr
    offlined = int(out.stdout.split("offlined ")[1].split()[0])
    assert offlined > 0
    assert "notifier error injection" in out.stdout
    states = {(p / "state").read_text().strip() for p in (root / "sys/devices/system/memory").glob("memory*")}
    assert states == {"online"}
