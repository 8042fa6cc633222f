"""dvc.lock as untrusted data: each malformed shape is a LockError in words, never a crash."""

from __future__ import annotations

import pytest

from mlops_ci.lockfile import LockError, decode_lock, parse_lock

GOOD_ENTRY = "    - path: model.pkl\n      md5: ddd\n      size: 50\n"


def outs(entry: str) -> str:
    return f"schema: '2.0'\nstages:\n  train:\n    cmd: python train.py\n    outs:\n{entry}"


# (dvc.lock text, what the reason must say): every shape the lineage cannot read.
BAD_LOCKS = {
    "a list": ("- a\n- b\n", "holds a list, not a mapping"),
    "a string": ("just text\n", "holds a string"),
    "stages a string": ("stages: x\n", "`stages:` as a string"),
    "stages a list": ("stages: [a, b]\n", "`stages:` as a list"),
    "a stage a list": ("stages:\n  train: [1]\n", "stage 'train' as a list"),
    "a numeric stage name": ("stages:\n  1: {}\n", "stage named 1"),
    "outs a mapping": ("stages:\n  train:\n    outs: {a: 1}\n", "'train' `outs` as a mapping"),
    "deps a string": ("stages:\n  train:\n    deps: x\n", "`deps` as a string"),
    "an entry a string": (outs("    - model.pkl\n"), "entry 1 as a string"),
    "an entry without path": (outs("    - md5: x\n"), "no `path`"),
    "a numeric path": (outs("    - path: 12\n"), "`path` that is a number"),
    "size not a number": (outs("    - path: m\n      size: abc\n"), "`size` 'abc'"),
    "size negative": (outs("    - path: m\n      size: -1\n"), "`size` -1"),
    "size a float": (outs("    - path: m\n      size: 1.5\n"), "`size` 1.5"),
    "size a boolean": (outs("    - path: m\n      size: true\n"), "`size` True"),
    "size huge": (outs(f"    - path: m\n      size: {10**400}\n"), "not a whole number"),
    "size of 5000 digits": (outs(f"    - path: m\n      size: {'9' * 5000}\n"), "digits"),
    "nfiles not a number": (outs("    - path: d\n      nfiles: many\n"), "`nfiles` 'many'"),
    "md5 a list": (outs("    - path: m\n      md5: [1]\n"), "`md5` as a list"),
    "md5 a number": (outs("    - path: m\n      md5: 12345\n"), "`md5` as a number"),
    "etag a mapping": (outs("    - path: m\n      etag: {a: 1}\n"), "`etag` as a mapping"),
    "md5 binary": (outs("    - path: m\n      md5: !!binary aGk=\n"), "`md5` as a bytes"),
    "invalid YAML": ("stages: [\n", "is not valid YAML (line 2"),
    "a duplicate stage": ("stages:\n  a: {}\n  a: {}\n", "is not valid YAML (line 3"),
    "a python tag": ("!!python/object:os.system x\n", "is not valid YAML"),
    "replacement characters": ("stages:\n  tr\ufffdin: {}\n", "not UTF-8"),
}


@pytest.mark.parametrize(("text", "reason"), BAD_LOCKS.values(), ids=BAD_LOCKS.keys())
def test_a_malformed_lock_is_a_lock_error_that_says_what_is_wrong(text: str, reason: str):
    with pytest.raises(LockError) as caught:
        parse_lock(text)
    assert reason in caught.value.reason
    assert len(caught.value.reason) < 400


def test_invalid_yaml_is_described_without_quoting_the_file():
    secret = "password=hunter2"
    with pytest.raises(LockError) as caught:
        parse_lock(f"stages:\n  - {secret}\n  bad: [\n")
    assert secret not in caught.value.reason


def test_bytes_that_are_not_utf8_are_named():
    with pytest.raises(LockError, match=r"not UTF-8 text \(byte 0xff at offset 8\)"):
        decode_lock(b"stages: \xff\n")


@pytest.mark.parametrize(
    "text",
    ["", "# nothing yet\n", "schema: '2.0'\n", "stages:\n", "stages:\n  train:\n"],
    ids=["empty", "a comment", "no stages", "null stages", "a null stage"],
)
def test_a_lock_that_records_nothing_is_harmless(text: str):
    assert [s.deps + s.outs for s in parse_lock(text).stages] in ([], [()])


def test_keys_the_lineage_does_not_use_are_ignored():
    lock = parse_lock(
        outs("    - path: model.pkl\n      hash: md5\n      md5: ddd\n      cloud: {x: 1}\n")
        + "    params:\n      params.yaml:\n        C: 1\n"
    )
    (stage,) = lock.stages
    assert (stage.name, stage.outs[0].path, stage.outs[0].md5) == ("train", "model.pkl", "ddd")


def test_a_utf8_byte_order_mark_is_fine():
    assert parse_lock("\ufeff" + outs(GOOD_ENTRY)).stages[0].outs[0].size == 50
