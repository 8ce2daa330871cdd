"""Load CIFAR-10 as NumPy arrays, without Keras.

``load_cifar10()`` looks for the data in this order:

1. A local copy: the ``data_dir`` argument, else the folder in the environment
   variable ``CNNCOURSE_DATA_DIR``. When either is given, only that folder is
   used (nothing is downloaded). It may hold, in order of preference, an
   extracted ``cifar-10-batches-bin/`` or ``cifar-10-batches-py/`` folder, or
   the archive ``cifar-10-binary.tar.gz`` or ``cifar-10-python.tar.gz``; or it
   may itself be a ``cifar-10-batches-bin`` / ``cifar-10-batches-py`` folder.
2. The cache: ``cache_dir``, else ``$XDG_CACHE_HOME/cnncourse`` or
   ``~/.cache/cnncourse``, holding ``cifar-10-batches-bin/``.
3. A download of the official binary archive into the cache (checked against
   its published size and SHA-256 before it is used), when ``download=True``.

Every problem a user can cause or fix raises ``DataError``, whose message names
the file or folder involved and says what to do next.
"""
from __future__ import annotations

import hashlib
import http.client
import importlib
import io
import os
import pickle
import posixpath
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from tqdm.auto import tqdm

__all__ = ["CLASS_NAMES", "DATA_DIR_ENV", "BINARY_ARCHIVE", "Archive", "Cifar10",
           "DataError", "download", "load_cifar10"]

CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer",
               "dog", "frog", "horse", "ship", "truck")
DATA_DIR_ENV = "CNNCOURSE_DATA_DIR"
RECORDS_PER_BATCH = 10_000  # every batch file, train or test; tests shrink it
IMAGE_BYTES = 3 * 32 * 32
RECORD_BYTES = 1 + IMAGE_BYTES  # binary layout: one label byte, then the pixels
DOWNLOAD_TIMEOUT_S = 30
CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class Archive:
    """Where an archive is published and what it must look like."""
    url: str
    sha256: str
    size: int
    filename: str


BINARY_ARCHIVE = Archive(
    url="https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
    sha256="c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
    size=170_052_171,
    filename="cifar-10-binary.tar.gz",
)


class DataError(RuntimeError):
    """CIFAR-10 could not be found, downloaded or read; the message says why and what to do."""


class _CorruptFile(DataError):
    """A file's contents are wrong; the caller adds advice on how to replace it."""


@dataclass(frozen=True, eq=False, repr=False)
class Cifar10:
    """CIFAR-10 as arrays: images uint8 (N, 32, 32, 3), labels int64 (N,)."""
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple = CLASS_NAMES

    def __repr__(self):
        fields = ", ".join(f"{name}={getattr(self, name).dtype}{getattr(self, name).shape}"
                           for name in ("x_train", "y_train", "x_test", "y_test"))
        return f"Cifar10({fields}, {len(self.class_names)} classes)"


# ---------------------------------------------------------------- decoding batches

def _hwc_images(planes: np.ndarray) -> np.ndarray:
    """Rows of 3072 bytes (R, G and B planes of 32x32) -> images (N, 32, 32, 3)."""
    return planes.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)


def _checked_labels(labels: np.ndarray, source: str) -> np.ndarray:
    bad = np.flatnonzero((labels < 0) | (labels >= len(CLASS_NAMES)))
    if bad.size:
        raise _CorruptFile(f"{source}: record {bad[0]} has label {labels[bad[0]]}, "
                           f"but CIFAR-10 labels are 0-9, so the file is corrupt.")
    return labels.astype(np.int64)


def _decode_bin_batch(raw: bytes, source: str):
    expected = RECORDS_PER_BATCH * RECORD_BYTES
    if len(raw) != expected:
        raise _CorruptFile(f"{source} holds {len(raw):,} bytes instead of {expected:,} "
                           f"({RECORDS_PER_BATCH:,} records of {RECORD_BYTES} bytes): "
                           f"the copy is truncated or corrupt.")
    records = np.frombuffer(raw, dtype=np.uint8).reshape(RECORDS_PER_BATCH, RECORD_BYTES)
    return _hwc_images(records[:, 1:]), _checked_labels(records[:, 0], source)


# Official pickles name NumPy 1's path; NumPy 2 moved it (the old one warns).
_RECONSTRUCT = importlib.import_module(
    "numpy._core.multiarray" if np.lib.NumpyVersion(np.__version__) >= "2.0.0"
    else "numpy.core.multiarray")._reconstruct


class _BatchUnpickler(pickle.Unpickler):
    """Builds NumPy arrays and nothing else: a pickle can otherwise run any code."""

    def __init__(self, file, source: str):
        super().__init__(file, encoding="bytes")
        self.source = source

    def find_class(self, module, name):
        if name == "_reconstruct" and module in ("numpy.core.multiarray", "numpy._core.multiarray"):
            return _RECONSTRUCT
        if module == "numpy" and name in ("ndarray", "dtype"):
            return getattr(np, name)
        raise _CorruptFile(f"refusing to unpickle {module}.{name} from {self.source}: "
                           f"not a CIFAR-10 batch.")


def _decode_py_batch(raw: bytes, source: str):
    try:
        batch = _BatchUnpickler(io.BytesIO(raw), source).load()
    except _CorruptFile:
        raise
    except Exception as exc:  # a broken pickle can fail in many ways; all mean the same here
        raise _CorruptFile(f"{source} is not a readable CIFAR-10 pickle "
                           f"({type(exc).__name__}: {exc}).") from None
    data = batch.get(b"data") if isinstance(batch, dict) else None
    labels = batch.get(b"labels") if isinstance(batch, dict) else None
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and isinstance(labels, list)
            and data.shape == (RECORDS_PER_BATCH, IMAGE_BYTES) and len(labels) == len(data)
            and all(isinstance(label, int) for label in labels)):
        raise _CorruptFile(f"{source} is not a CIFAR-10 batch of {RECORDS_PER_BATCH:,} images "
                           f"(expected a dict with b'data' uint8 ({RECORDS_PER_BATCH}, "
                           f"{IMAGE_BYTES}) and {RECORDS_PER_BATCH} b'labels').")
    return _hwc_images(data), _checked_labels(np.asarray(labels), source)


# ---------------------------------------------------------------- the two layouts

@dataclass(frozen=True)
class _Layout:
    folder: str
    archive: str
    train: tuple
    test: str
    decode: Callable

    @property
    def batches(self):
        return self.train + (self.test,)


_BIN = _Layout("cifar-10-batches-bin", "cifar-10-binary.tar.gz",
               tuple(f"data_batch_{i}.bin" for i in range(1, 6)), "test_batch.bin",
               _decode_bin_batch)
_PY = _Layout("cifar-10-batches-py", "cifar-10-python.tar.gz",
              tuple(f"data_batch_{i}" for i in range(1, 6)), "test_batch", _decode_py_batch)
_BIN_MEMBERS = _BIN.batches + ("batches.meta.txt",)
_TAR_ERRORS = (tarfile.TarError, EOFError, zlib.error, OSError)


def _assemble(batches: dict, layout: _Layout, where) -> Cifar10:
    missing = [name for name in layout.batches if name not in batches]
    if missing:
        raise _CorruptFile(f"{where} lacks {', '.join(missing)}: the copy is incomplete.")
    x_test, y_test = batches[layout.test]
    x_train = [batches[name][0] for name in layout.train]
    # The images are transposed views: concatenating into a fresh array makes one C-ordered copy.
    x_train = np.concatenate(x_train, out=np.empty((sum(map(len, x_train)), 32, 32, 3), np.uint8))
    return Cifar10(x_train=x_train,
                   y_train=np.concatenate([batches[name][1] for name in layout.train]),
                   x_test=np.ascontiguousarray(x_test), y_test=y_test)


def _read_folder(folder: Path, layout: _Layout) -> Cifar10:
    batches = {name: layout.decode((folder / name).read_bytes(), str(folder / name))
               for name in layout.batches if (folder / name).is_file()}
    return _assemble(batches, layout, folder)


def _read_archive(path: Path, layout: _Layout) -> Cifar10:
    """Reads the batches straight from the compressed tar stream, extracting nothing."""
    batches = {}
    try:
        with tarfile.open(path, "r|gz") as tar:
            for member in tar:
                name = posixpath.basename(member.name)
                if member.isfile() and name in layout.batches and name not in batches:
                    raw = tar.extractfile(member).read()
                    batches[name] = layout.decode(raw, f"{path} (member {member.name})")
    except _TAR_ERRORS as exc:
        raise _CorruptFile(f"{path} is not a readable .tar.gz archive ({exc}): "
                           f"it is truncated or corrupt.") from None
    return _assemble(batches, layout, path)


@contextmanager
def _advice_if_unreadable(advice: str):
    try:
        yield
    except _CorruptFile as exc:
        raise DataError(f"{exc} {advice}") from None
    except PermissionError as exc:
        raise DataError(f"No permission to read {exc.filename}. Make the CIFAR-10 copy readable by you "
                        f"(e.g. chmod -R u+rX on its folder), or: {advice}") from None
    except OSError as exc:  # e.g. a batch file that vanished or sits on a failing disk
        raise DataError(f"Could not read {exc.filename} ({exc.strerror}). {advice}") from None


# ---------------------------------------------------------------- 1. a local copy

def _find_local_copy(folder: Path, origin: str):
    """Returns (reader, path, layout) for the preferred copy in folder."""
    if not folder.is_dir():
        state = "is not a folder" if folder.exists() else "does not exist"
        raise DataError(f"The CIFAR-10 folder {folder} (given by {origin}) {state}. Point "
                        f"{origin} at a folder that holds cifar-10-batches-bin/ (or "
                        f"cifar-10-batches-py/, cifar-10-binary.tar.gz, cifar-10-python.tar.gz), "
                        f"or unset {DATA_DIR_ENV} and pass no data_dir to let load_cifar10() "
                        f"download CIFAR-10.")
    for layout in (_BIN, _PY):
        if (folder / layout.folder).is_dir():
            return _read_folder, folder / layout.folder, layout
    for layout in (_BIN, _PY):
        if (folder / layout.archive).is_file():
            return _read_archive, folder / layout.archive, layout
    for layout in (_BIN, _PY):
        if any((folder / name).is_file() for name in layout.batches):
            return _read_folder, folder, layout
    found = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir())
    listing = ", ".join(found[:10] + ["..."] * (len(found) > 10)) or "nothing (it is empty)"
    raise DataError(f"The CIFAR-10 folder {folder} (given by {origin}) holds no CIFAR-10 copy: "
                    f"it contains {listing}. Expected cifar-10-batches-bin/, cifar-10-batches-py/, "
                    f"cifar-10-binary.tar.gz or cifar-10-python.tar.gz (or the batch files "
                    f"themselves). Put CIFAR-10 there, or point {origin} at the folder that "
                    f"holds it.")


def _load_local_copy(folder: Path, origin: str) -> Cifar10:
    with _advice_if_unreadable(f"Replace it with a good copy of CIFAR-10, or unset {DATA_DIR_ENV} "
                            f"and pass no data_dir to let load_cifar10() download one."):
        reader, path, layout = _find_local_copy(folder, origin)  # listing an unreadable folder fails too
        return reader(path, layout)


# ---------------------------------------------------------------- 3. downloading

def _unreachable(url: str, dest: Path, reason) -> DataError:
    return DataError(f"Could not download {url} ({reason}): this computer is offline or cannot "
                     f"reach the server. Check the connection and run again; or download "
                     f"{dest.name} on a machine with internet and put it in {dest.parent}, or "
                     f"set {DATA_DIR_ENV} to a folder that holds cifar-10-batches-bin/.")


def _open_url(url: str, dest: Path, timeout):
    try:
        return urllib.request.urlopen(url, timeout=timeout)
    except urllib.error.HTTPError as exc:
        raise _unreachable(url, dest, f"the server answered HTTP {exc.code} {exc.reason}") from None
    except (OSError, http.client.HTTPException) as exc:  # URLError is an OSError too
        raise _unreachable(url, dest, getattr(exc, "reason", None) or repr(exc)) from None


def _network_chunks(response, url: str, dest: Path):
    while True:
        try:
            chunk = response.read(CHUNK_BYTES)
        except (OSError, http.client.HTTPException) as exc:
            raise _unreachable(url, dest, f"the connection broke: {exc!r}") from None
        if not chunk:
            return
        yield chunk


def _stream_to_file(response, part: Path, expected, url: str, dest: Path, progress: bool):
    """Writes the body to part; returns (bytes written, sha256 hex digest)."""
    hasher, written = hashlib.sha256(), 0
    with open(part, "wb") as out, tqdm(total=expected, unit="B", unit_scale=True,
                                       unit_divisor=1024, desc=dest.name,
                                       disable=not progress) as bar:
        for chunk in _network_chunks(response, url, dest):
            out.write(chunk)
            hasher.update(chunk)
            written += len(chunk)
            bar.update(len(chunk))
            if expected is not None and written > expected:
                break  # more than announced: no need to fetch the rest
    return written, hasher.hexdigest()


def download(url: str, dest: str | os.PathLike[str], *, sha256: str, size: int | None = None,
             progress: bool = True, timeout: float = DOWNLOAD_TIMEOUT_S) -> Path:
    """Downloads url to dest, which appears only once its size and SHA-256 are right.

    The body streams into ``dest + ".part"``, which is removed whatever happens.
    """
    dest = Path(dest)
    part = dest.with_name(dest.name + ".part")
    try:
        with _open_url(url, dest, timeout) as response:
            announced = response.headers.get("Content-Length")
            expected = size if size is not None else (int(announced) if announced else None)
            written, digest = _stream_to_file(response, part, expected, url, dest, progress)
        if expected is not None and written != expected:
            raise DataError(f"The download of {url} was cut short or changed: expected "
                            f"{expected:,} bytes, got {written:,}. Run again.")
        if digest != sha256:
            raise DataError(f"The download of {url} was corrupted or changed: expected sha256 "
                            f"{sha256}, got {digest}. Run again.")
        os.replace(part, dest)
    except OSError as exc:  # network errors are DataErrors by now: this is the disk
        raise DataError(f"Could not write {part} ({exc}). Free some disk space, or choose "
                        f"another cache_dir, or set {DATA_DIR_ENV} to a local copy.") from None
    finally:
        part.unlink(missing_ok=True)
    return dest


def _check_official(path: Path, archive: Archive) -> None:
    """An archive someone put in the cache is trusted only if it is the official one."""
    hasher = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK_BYTES), b""):
            hasher.update(chunk)
    size, digest = path.stat().st_size, hasher.hexdigest()
    if (size, digest) != (archive.size, archive.sha256):
        raise DataError(f"{path} is not the official {archive.filename} (expected {archive.size:,} "
                        f"bytes with sha256 {archive.sha256}, got {size:,} bytes with sha256 "
                        f"{digest}). Delete it and run again to download it, or set "
                        f"{DATA_DIR_ENV}={path.parent} to use it as it is.")


def _safe_member_name(name: str, archive: Path) -> str:
    parts = name.split("/")
    if name.startswith("/") or ".." in parts:
        raise DataError(f"{archive} contains the unsafe member {name!r}; refusing to extract it. "
                        f"Delete {archive} and run again.")
    return parts[-1]


def _install_bin_layout(archive: Path, target: Path) -> None:
    """Extracts the batch files into a temporary folder, then renames it to target."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        with tarfile.open(archive, "r|gz") as tar:
            for member in tar:
                name = _safe_member_name(member.name, archive)
                if member.isfile() and name in _BIN_MEMBERS and not (tmp / name).exists():
                    with tar.extractfile(member) as src, open(tmp / name, "wb") as dst:
                        shutil.copyfileobj(src, dst, CHUNK_BYTES)
        missing = [name for name in _BIN_MEMBERS if not (tmp / name).exists()]
        if missing:
            raise DataError(f"{archive} lacks {', '.join(missing)}. Delete it and run again.")
        if target.exists():  # an incomplete leftover of an older layout
            shutil.rmtree(target)
        os.replace(tmp, target)
    except _TAR_ERRORS as exc:
        raise DataError(f"Could not extract {archive} into {target.parent} ({exc}). Delete "
                        f"{archive} and run again.") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------- 2. the cache

def default_cache_dir() -> Path:
    """The course's cache folder: $XDG_CACHE_HOME/cnncourse, or ~/.cache/cnncourse."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "cnncourse"


def _load_from_cache(cache: Path, allow_download: bool, progress: bool) -> Cifar10:
    target = cache / _BIN.folder
    if not all((target / name).is_file() for name in _BIN.batches):
        archive = BINARY_ARCHIVE  # looked up now, so tests can point it elsewhere
        archive_path = cache / archive.filename
        if archive_path.is_file():
            _check_official(archive_path, archive)
        elif allow_download:
            try:
                cache.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DataError(f"Could not create the cache folder {cache} ({exc}). Pass "
                                f"cache_dir= a writable folder, or set {DATA_DIR_ENV}.") from None
            download(archive.url, archive_path, sha256=archive.sha256, size=archive.size,
                     progress=progress)
        else:
            raise DataError(f"No CIFAR-10 in the cache folder {cache} and download=False. Call "
                            f"load_cifar10() with download=True on a machine with internet, put "
                            f"{archive.filename} in {cache}, or set {DATA_DIR_ENV} to a folder "
                            f"that holds cifar-10-batches-bin/.")
        _install_bin_layout(archive_path, target)
        archive_path.unlink()
    with _advice_if_unreadable(f"Delete {target} and call load_cifar10() again to download a "
                            f"fresh copy."):
        return _read_folder(target, _BIN)


def load_cifar10(data_dir: str | os.PathLike[str] | None = None, *,
                 cache_dir: str | os.PathLike[str] | None = None, download: bool = True,
                 progress: bool = True) -> Cifar10:
    """Returns CIFAR-10 as arrays, from a local copy, the cache, or a download.

    See the module docstring for where it looks; raises DataError when it cannot.
    """
    if data_dir is not None:
        return _load_local_copy(Path(data_dir).expanduser(), "data_dir")
    if os.environ.get(DATA_DIR_ENV):
        return _load_local_copy(Path(os.environ[DATA_DIR_ENV]).expanduser(), DATA_DIR_ENV)
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    return _load_from_cache(cache, download, progress)
