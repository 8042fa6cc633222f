"""How long verifying a downloaded release takes, beside the by-hand check it replaces.

mlops-ci verifies a release before anything is loaded (``fetch`` and ``predict``): every file
against ``SHA256SUMS``, no file missing or extra, and the signature. By hand, a deployer runs
``sha256sum -c --strict SHA256SUMS``, lists the directory, and runs ``model_signing verify``.
This script builds a signed bundle with a model file of ``--mib`` MiB (random bytes: hashing
does not care what they mean), then times both, each ``--runs`` times, and prints the medians.

    python benchmarks/verify_release.py [--mib 256] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def key_pair(directory: Path) -> tuple[Path, Path]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    private, public = directory / "release.pem", directory / "release.pub"
    private.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public


def median_seconds(action: Callable[[], object], runs: int) -> float:
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=256, help="size of the model file")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from mlops_ci.release.bundle import collect_bundle
    from mlops_ci.release.fetch import verify_release_dir
    from mlops_ci.release.sign import sign_bundle

    work = Path(tempfile.mkdtemp(prefix="verify-bench-"))
    try:
        source = work / "source"
        source.mkdir()
        with (source / "model.skops").open("wb") as out:
            for _ in range(args.mib):
                out.write(os.urandom(1 << 20))
        (source / "model-card.md").write_text("# a card\n", encoding="utf-8")
        bundle = work / "bundle"
        collect_bundle({p.name: p for p in source.iterdir()}, bundle)
        private, public = key_pair(work)
        sign_bundle(bundle, private_key=private)

        def by_hand() -> None:
            subprocess.run(["sha256sum", "-c", "--strict", "--quiet", "SHA256SUMS"],
                           cwd=bundle, check=True)
            os.listdir(bundle)  # `ls`: sha256sum -c does not look for extra files
            cli = Path(sys.executable).with_name("model_signing")
            subprocess.run([str(cli), "verify", "key", str(bundle), "--signature",
                            str(bundle / "model.sig"), "--public_key", str(public),
                            "--no-ignore-git-paths"], check=True, capture_output=True)

        def mlops_ci() -> None:
            verify_release_dir(bundle, public_key=public)

        figures = {
            "mlops-ci (SHA256SUMS, extra/missing files, signature)": median_seconds(
                mlops_ci, args.runs),
            "by hand (sha256sum -c, ls, model_signing verify)": median_seconds(
                by_hand, args.runs),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"verifying a signed release with a {args.mib} MiB model "
          f"(median of {args.runs} runs, wall clock)")
    for name, seconds in figures.items():
        rate = args.mib / seconds
        print(f"  {name:<56} {seconds:7.2f} s  {rate:7.0f} MiB/s")


if __name__ == "__main__":
    main()
