"""Tests for cnncourse.data: local copies, the cache, downloads and every error path.

Most tests use tiny fake layouts (N images per batch, via data.RECORDS_PER_BATCH) and a
download server on 127.0.0.1; a few read the full offline copy of CIFAR-10.
"""
import hashlib
import http.server
import io
import os
import pickle
import socket
import tarfile
import threading
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from cnncourse import data
from cnncourse.data import DATA_DIR_ENV, Archive, DataError, download, load_cifar10

REPO = Path(__file__).resolve().parents[1]
N = 10  # images per fake batch
BIN_FILES = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
PY_FILES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]


# ---------------------------------------------------------------- fixtures and fake data

@pytest.fixture(scope="session")
def offline_copy():
    """The full materialized copy: $CNNCOURSE_DATA_DIR (set by conftest) or .cache/cifar10."""
    for folder in (os.environ.get(DATA_DIR_ENV), REPO / ".cache" / "cifar10"):
        if folder and (Path(folder) / "cifar-10-batches-bin").is_dir():
            return Path(folder)
    pytest.skip(f"no offline CIFAR-10 copy: set {DATA_DIR_ENV} or run "
                f"../shared/cifar10/materialize.py .cache/cifar10")


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, tmp_path):
    """No test sees the real data dir or writes to the real ~/.cache."""
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


@pytest.fixture
def small(monkeypatch):
    monkeypatch.setattr(data, "RECORDS_PER_BATCH", N)


def refuse_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("this test must not touch the network")
    monkeypatch.setattr(urllib.request, "urlopen", refuse)


@pytest.fixture
def no_network(monkeypatch):
    refuse_network(monkeypatch)


def fake_arrays(seed=0):
    rng = np.random.default_rng(seed)
    x_train = rng.integers(0, 256, (5 * N, 32, 32, 3), dtype=np.uint8)
    x_test = rng.integers(0, 256, (N, 32, 32, 3), dtype=np.uint8)
    return x_train, np.arange(5 * N) % 10, x_test, (np.arange(N) + seed) % 10


def bin_records(images, labels):
    """The binary format, written independently of the reader: label, then R, G, B planes."""
    return b"".join(bytes([int(label)]) + b"".join(img[:, :, c].tobytes() for c in range(3))
                    for img, label in zip(images, labels))


def batches(arrays):
    x_train, y_train, x_test, y_test = arrays
    for i in range(5):
        yield i + 1, x_train[i * N:(i + 1) * N], y_train[i * N:(i + 1) * N]
    yield None, x_test, y_test


def write_bin_layout(parent, arrays, extras=()):
    folder = Path(parent) / "cifar-10-batches-bin"
    folder.mkdir(parents=True)
    for i, x, y in batches(arrays):
        (folder / (f"data_batch_{i}.bin" if i else "test_batch.bin")).write_bytes(bin_records(x, y))
    (folder / "batches.meta.txt").write_text("\n".join(data.CLASS_NAMES) + "\n\n")
    for name in extras:
        (folder / name).write_text("not CIFAR-10")
    return folder


def write_py_layout(parent, arrays):
    folder = Path(parent) / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for i, x, y in batches(arrays):
        planes = np.ascontiguousarray(x.transpose(0, 3, 1, 2).reshape(len(x), 3072))
        batch = {b"batch_label": b"fake", b"labels": [int(v) for v in y], b"data": planes}
        (folder / (f"data_batch_{i}" if i else "test_batch")).write_bytes(
            pickle.dumps(batch, protocol=4))  # protocol >= 3 pickles bytes without _codecs
    return folder


def tar_gz(folder, archive):
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname=folder.name)
    return archive


def assert_same(result, arrays):
    for name, expected in zip(["x_train", "y_train", "x_test", "y_test"], arrays):
        assert np.array_equal(getattr(result, name), expected), f"{name} differs"
    assert result.x_train.dtype == np.uint8 and result.y_train.dtype == np.int64


def binary_archive_bytes(tmp_path, arrays, extra_members=()):
    folder = write_bin_layout(tmp_path / "src", arrays, extras=["readme.html"])
    archive = tar_gz(folder, tmp_path / "src" / "cifar-10-binary.tar.gz")
    if extra_members:
        with tarfile.open(archive, "w:gz") as tar:  # rebuilt with hostile names added
            tar.add(folder, arcname=folder.name)
            for name in extra_members:
                info = tarfile.TarInfo(name)
                info.size = 4
                tar.addfile(info, io.BytesIO(b"evil"))
    return archive.read_bytes()


class Server:
    """Serves self.files on 127.0.0.1; paths in self.truncated are cut off halfway."""

    def __init__(self):
        self.files, self.truncated, self.requests = {}, set(), []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.path)
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[:len(body) // 2] if self.path in server.truncated else body)
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def url(self, path):
        return f"http://127.0.0.1:{self.httpd.server_port}{path}"


@pytest.fixture
def server():
    s = Server()
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()


def closed_port_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/cifar-10-binary.tar.gz"


# ---------------------------------------------------------------- the full offline copy

def test_offline_copy_has_cifar10_shapes_and_balance(offline_copy):
    d = load_cifar10(offline_copy)
    assert d.x_train.shape == (50000, 32, 32, 3) and d.x_test.shape == (10000, 32, 32, 3)
    assert d.x_train.dtype == d.x_test.dtype == np.uint8
    assert d.y_train.shape == (50000,) and d.y_test.shape == (10000,)
    assert np.bincount(d.y_train).tolist() == [5000] * 10
    assert np.bincount(d.y_test).tolist() == [1000] * 10
    assert d.class_names == data.CLASS_NAMES and d.class_names[0] == "airplane"
    assert d.class_names[9] == "truck"
    assert "(50000, 32, 32, 3)" in repr(d) and len(repr(d)) < 200
    assert d.x_train.flags.c_contiguous and d.x_train[:100].std() > 30  # real pictures


def test_offline_copy_bin_and_py_layouts_agree(offline_copy):
    if not (offline_copy / "cifar-10-batches-py").is_dir():
        pytest.skip(f"{offline_copy} has no cifar-10-batches-py/")
    from_bin = load_cifar10(offline_copy / "cifar-10-batches-bin")
    from_py = load_cifar10(offline_copy / "cifar-10-batches-py")
    assert_same(from_py, (from_bin.x_train, from_bin.y_train, from_bin.x_test, from_bin.y_test))


def test_complete_cache_is_read_without_network_hashing_or_extracting(offline_copy, tmp_path, no_network,
                                                                        monkeypatch):
    (tmp_path / "cifar-10-batches-bin").symlink_to(offline_copy / "cifar-10-batches-bin")

    def must_not_run(*args, **kwargs):
        raise AssertionError("a complete cache must be read as it is")

    for slow in ("download", "_check_official", "_install_bin_layout"):
        monkeypatch.setattr(data, slow, must_not_run)
    d = load_cifar10(cache_dir=tmp_path)
    assert d.x_train.shape == (50000, 32, 32, 3)


# ---------------------------------------------------------------- small local copies

@pytest.mark.parametrize("kind", ["bin-parent", "py-parent", "bin-itself", "py-itself",
                                  "binary-archive", "python-archive"])
def test_local_copy_in_every_accepted_form(kind, small, tmp_path, monkeypatch, no_network):
    arrays = fake_arrays()
    folder = (write_bin_layout if kind.startswith(("bin", "binary")) else write_py_layout)(
        tmp_path / "made", arrays)
    if kind.endswith("archive"):
        tar_gz(folder, tmp_path / f"cifar-10-{kind.split('-')[0]}.tar.gz")
        target = tmp_path
    else:
        target = folder if kind.endswith("itself") else folder.parent
    monkeypatch.setenv(DATA_DIR_ENV, str(target))
    assert_same(load_cifar10(), arrays)


def test_bin_layout_is_preferred_and_data_dir_beats_env(small, tmp_path, monkeypatch):
    write_bin_layout(tmp_path, fake_arrays(seed=1))
    write_py_layout(tmp_path, fake_arrays(seed=2))
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "missing"))
    assert_same(load_cifar10(tmp_path), fake_arrays(seed=1))


# ---------------------------------------------------------------- download()

def test_download_verifies_and_keeps_good_file(server, tmp_path):
    body = os.urandom(3000)
    server.files["/a.tar.gz"] = body
    path = download(server.url("/a.tar.gz"), tmp_path / "a.tar.gz",
                    sha256=hashlib.sha256(body).hexdigest(), size=len(body), progress=False)
    assert path == tmp_path / "a.tar.gz" and path.read_bytes() == body
    assert sorted(os.listdir(tmp_path)) == ["a.tar.gz"]


def test_download_with_wrong_hash_leaves_nothing(server, tmp_path):
    server.files["/a.tar.gz"] = b"x" * 3000
    with pytest.raises(DataError, match="expected sha256 0{64}, got"):
        download(server.url("/a.tar.gz"), tmp_path / "a.tar.gz", sha256="0" * 64, progress=False)
    assert os.listdir(tmp_path) == []


def test_download_cut_short_leaves_nothing(server, tmp_path):
    body = os.urandom(3000)
    server.files["/a.tar.gz"] = body
    server.truncated.add("/a.tar.gz")
    with pytest.raises(DataError, match="1,500"):
        download(server.url("/a.tar.gz"), tmp_path / "a.tar.gz",
                 sha256=hashlib.sha256(body).hexdigest(), progress=False)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("where", ["closed port", "404"])
def test_unreachable_url_says_how_to_work_offline(where, server, tmp_path):
    url = closed_port_url() if where == "closed port" else server.url("/nothing-here")
    with pytest.raises(DataError) as err:
        download(url, tmp_path / "cifar-10-binary.tar.gz", sha256="0" * 64, progress=False)
    message = str(err.value)
    assert DATA_DIR_ENV in message and str(tmp_path) in message and url in message
    assert "cifar-10-binary.tar.gz" in message
    assert os.listdir(tmp_path) == []


def test_interrupted_download_leaves_no_part_file(server, tmp_path, monkeypatch):
    body = os.urandom(3000)
    server.files["/a.tar.gz"] = body

    class Interrupting:
        def update(self, chunk):
            raise KeyboardInterrupt

    monkeypatch.setattr(data.hashlib, "sha256", Interrupting)
    with pytest.raises(KeyboardInterrupt):
        download(server.url("/a.tar.gz"), tmp_path / "a.tar.gz", sha256="0" * 64, progress=False)
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------- load_cifar10() and the cache

def serve_archive(server, monkeypatch, body, sha256=None):
    server.files["/cifar-10-binary.tar.gz"] = body
    monkeypatch.setattr(data, "BINARY_ARCHIVE", Archive(
        url=server.url("/cifar-10-binary.tar.gz"), size=len(body),
        sha256=sha256 or hashlib.sha256(body).hexdigest(), filename="cifar-10-binary.tar.gz"))


def test_download_fills_cache_then_works_offline(small, server, tmp_path, monkeypatch):
    arrays = fake_arrays()
    serve_archive(server, monkeypatch, binary_archive_bytes(tmp_path, arrays))
    cache = tmp_path / "cache"
    assert_same(load_cifar10(cache_dir=cache, progress=False), arrays)
    assert os.listdir(cache) == ["cifar-10-batches-bin"]  # no archive, .part or temp folder
    assert sorted(os.listdir(cache / "cifar-10-batches-bin")) == sorted(
        BIN_FILES + ["batches.meta.txt"])  # readme.html was not extracted
    refuse_network(monkeypatch)
    assert_same(load_cifar10(cache_dir=cache), arrays)
    assert len(server.requests) == 1


def test_default_cache_is_under_xdg_cache_home(small, server, tmp_path, monkeypatch):
    arrays = fake_arrays()
    serve_archive(server, monkeypatch, binary_archive_bytes(tmp_path, arrays))
    assert_same(load_cifar10(progress=False), arrays)
    assert (tmp_path / "xdg" / "cnncourse" / "cifar-10-batches-bin" / "test_batch.bin").is_file()


def test_changed_download_is_rejected_and_cache_left_empty(small, server, tmp_path, monkeypatch):
    serve_archive(server, monkeypatch, binary_archive_bytes(tmp_path, fake_arrays()),
                  sha256="0" * 64)
    with pytest.raises(DataError, match="corrupted or changed"):
        load_cifar10(cache_dir=tmp_path / "cache", progress=False)
    assert os.listdir(tmp_path / "cache") == []


def test_archive_with_unsafe_member_is_not_extracted(small, server, tmp_path, monkeypatch):
    body = binary_archive_bytes(tmp_path, fake_arrays(), extra_members=["../evil.bin"])
    serve_archive(server, monkeypatch, body)
    cache = tmp_path / "cache"
    with pytest.raises(DataError, match=r"unsafe member '\.\./evil\.bin'"):
        load_cifar10(cache_dir=cache, progress=False)
    assert not (tmp_path / "evil.bin").exists()
    assert os.listdir(cache) == ["cifar-10-binary.tar.gz"]  # verified, kept; no half folder


def test_archive_put_in_cache_by_hand_is_verified(small, tmp_path, monkeypatch, no_network):
    arrays = fake_arrays()
    body = binary_archive_bytes(tmp_path, arrays)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "cifar-10-binary.tar.gz").write_bytes(body)
    monkeypatch.setattr(data, "BINARY_ARCHIVE", Archive("http://127.0.0.1:9/x", "0" * 64,
                                                        len(body), "cifar-10-binary.tar.gz"))
    with pytest.raises(DataError, match="not the official cifar-10-binary.tar.gz"):
        load_cifar10(cache_dir=cache)
    monkeypatch.setattr(data, "BINARY_ARCHIVE", Archive(
        "http://127.0.0.1:9/x", hashlib.sha256(body).hexdigest(), len(body),
        "cifar-10-binary.tar.gz"))
    assert_same(load_cifar10(cache_dir=cache), arrays)
    assert os.listdir(cache) == ["cifar-10-batches-bin"]


def test_unreachable_download_from_load_names_cache_and_env(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "BINARY_ARCHIVE", Archive(closed_port_url(), "0" * 64, 10,
                                                        "cifar-10-binary.tar.gz"))
    with pytest.raises(DataError, match=DATA_DIR_ENV) as err:
        load_cifar10(cache_dir=tmp_path / "cache", progress=False)
    assert str(tmp_path / "cache") in str(err.value)
    assert os.listdir(tmp_path / "cache") == []


def test_download_false_with_empty_cache(tmp_path, no_network):
    with pytest.raises(DataError, match="download=False") as err:
        load_cifar10(cache_dir=tmp_path, download=False)
    assert str(tmp_path) in str(err.value) and DATA_DIR_ENV in str(err.value)


def test_truncated_cache_file_says_delete_the_cache(small, tmp_path, no_network):
    folder = write_bin_layout(tmp_path, fake_arrays())
    path = folder / "data_batch_2.bin"
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(DataError, match=f"{path}.*truncated.*Delete {folder}"):
        load_cifar10(cache_dir=tmp_path)


# ---------------------------------------------------------------- local copies that are wrong

def load_from_env(monkeypatch, folder):
    monkeypatch.setenv(DATA_DIR_ENV, str(folder))
    with pytest.raises(DataError) as err:
        load_cifar10()
    return str(err.value)


def test_env_var_pointing_at_missing_folder(tmp_path, monkeypatch, no_network):
    message = load_from_env(monkeypatch, tmp_path / "nope")
    assert f"{tmp_path / 'nope'}" in message and "does not exist" in message
    assert DATA_DIR_ENV in message


def test_env_var_pointing_at_empty_folder(tmp_path, monkeypatch, no_network):
    message = load_from_env(monkeypatch, tmp_path)
    assert str(tmp_path) in message and "empty" in message and "cifar-10-batches-bin/" in message


def test_env_var_pointing_at_unrelated_files(tmp_path, monkeypatch, no_network):
    (tmp_path / "notes.txt").write_text("hi")
    (tmp_path / "photos").mkdir()
    message = load_from_env(monkeypatch, tmp_path)
    assert "notes.txt" in message and "photos/" in message and "cifar-10-python.tar.gz" in message


def test_truncated_batch_is_named(small, tmp_path, monkeypatch):
    folder = write_bin_layout(tmp_path, fake_arrays())
    path = folder / "data_batch_3.bin"
    path.write_bytes(path.read_bytes()[:-100])
    message = load_from_env(monkeypatch, tmp_path)
    assert str(path) in message and "truncated" in message


def test_missing_batch_is_named(small, tmp_path, monkeypatch):
    folder = write_bin_layout(tmp_path, fake_arrays())
    (folder / "test_batch.bin").unlink()
    message = load_from_env(monkeypatch, tmp_path)
    assert str(folder) in message and "test_batch.bin" in message and "incomplete" in message


def test_label_out_of_range(small, tmp_path, monkeypatch):
    folder = write_bin_layout(tmp_path, fake_arrays())
    raw = bytearray((folder / "data_batch_4.bin").read_bytes())
    raw[3 * 3073] = 12  # the label byte of record 3
    (folder / "data_batch_4.bin").write_bytes(bytes(raw))
    message = load_from_env(monkeypatch, tmp_path)
    assert str(folder / "data_batch_4.bin") in message and "label 12" in message


class Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_pickle_calling_os_system_is_refused_not_run(small, tmp_path, monkeypatch):
    folder = write_py_layout(tmp_path / "copy", fake_arrays())
    marker = tmp_path / "pwned"
    (folder / "data_batch_2").write_bytes(pickle.dumps({b"data": Exploit(marker)}, protocol=2))
    message = load_from_env(monkeypatch, tmp_path / "copy")
    assert "refusing to unpickle" in message and "system" in message
    assert str(folder / "data_batch_2") in message
    assert not marker.exists()


def test_garbage_pickle_is_named(small, tmp_path, monkeypatch):
    folder = write_py_layout(tmp_path, fake_arrays())
    (folder / "test_batch").write_bytes(b"\x80\x02}q\x00garbage")
    message = load_from_env(monkeypatch, tmp_path)
    assert str(folder / "test_batch") in message and "not a readable CIFAR-10 pickle" in message


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_corrupt_archive_is_named(damage, small, tmp_path, monkeypatch):
    archive = tar_gz(write_bin_layout(tmp_path / "made", fake_arrays()),
                     tmp_path / "cifar-10-binary.tar.gz")
    raw = archive.read_bytes()
    archive.write_bytes(raw[:len(raw) // 2] if damage == "truncated" else os.urandom(len(raw)))
    message = load_from_env(monkeypatch, tmp_path)
    assert str(archive) in message and "corrupt" in message


@pytest.mark.parametrize("what", ["folder", "batch file"])
def test_unreadable_copy_gets_advice_not_a_bare_permission_error(what, small, tmp_path, monkeypatch):
    """As a non-root user, a folder or file without read permission raises PermissionError; root
    reads everything, so the denial is simulated."""
    folder = write_bin_layout(tmp_path, fake_arrays())
    denied = tmp_path if what == "folder" else folder / "data_batch_3.bin"
    real_is_dir, real_read_bytes = Path.is_dir, Path.read_bytes

    def refuse(path):
        if path == denied or path.parent == denied:
            raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(Path, "is_dir", lambda path: refuse(path) or real_is_dir(path))
    monkeypatch.setattr(Path, "read_bytes", lambda path: refuse(path) or real_read_bytes(path))
    message = load_from_env(monkeypatch, tmp_path)
    assert "No permission to read" in message and "chmod" in message
