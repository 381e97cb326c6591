"""Same input, same outputs across a refactor: run ``voc run`` on the shipped sample with an
older commit and with the working tree, and compare every output file byte for byte.

    python benchmarks/identity.py 9f56291        # compare with that commit (default: HEAD~1)

``run.json`` holds timings and the clock (``seconds``, ``created_at``): those two fields are left
out, every other one is compared. Exit status 1 when anything differs.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "voc" / "data" / "sample_feedback.csv"
VOLATILE = {"seconds", "created_at"}  # timings and the clock


def run(tree: Path, out: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(tree), "HF_HUB_OFFLINE": "1"}
    subprocess.run([sys.executable, "-m", "voc", "run", str(SAMPLE), "--out", str(out)], check=True, env=env,
                   cwd=tree, stdout=subprocess.DEVNULL)


def digest(out: Path) -> dict[str, str]:
    files = {}
    for f in sorted(p for p in out.rglob("*") if p.is_file()):
        name = str(f.relative_to(out))
        if f.name == "run.json":
            data = {k: v for k, v in json.loads(f.read_text()).items() if k not in VOLATILE}
            files[name] = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
        else:
            files[name] = hashlib.sha256(f.read_bytes()).hexdigest()
    return files


def main(rev: str = "HEAD~1") -> int:
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "old"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(old), rev], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            run(old, Path(tmp) / "out-old")
            run(ROOT, Path(tmp) / "out-new")
            a, b = digest(Path(tmp) / "out-old"), digest(Path(tmp) / "out-new")
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], check=False)
    differ = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
    for k in sorted(a.keys() | b.keys()):
        print(f"{'same  ' if k not in differ else 'DIFFER'} {k}")
    print(f"{len(a.keys() | b.keys()) - len(differ)} files identical, {len(differ)} differ ({rev} vs working tree)")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
