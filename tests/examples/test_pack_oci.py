"""examples/neuron-training/pack_oci.py: the training image's packer, one
layer or several. A small root file system is packed and the layers are
read back as a puller would (in order, each over the ones below)."""

import gzip
import hashlib
import json
import os
import pathlib
import subprocess
import sys
import tarfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACK = ROOT / "examples" / "neuron-training" / "pack_oci.py"


@pytest.fixture
def rootfs(tmp_path):
    """A tree with files of many sizes (two big ones), folders with their own
    modes, a hard-linked pair, a symlink and a symlink to a folder."""
    root = tmp_path / "rootfs"
    (root / "usr" / "lib" / "big").mkdir(parents=True)
    (root / "usr" / "share" / "small").mkdir(parents=True)
    (root / "etc").mkdir()
    (root / "var" / "empty").mkdir(parents=True)
    (root / "usr" / "lib" / "big" / "libtorch.so").write_bytes(os.urandom(300_000))
    (root / "usr" / "lib" / "big" / "libllvm.so").write_bytes(os.urandom(280_000))
    for i in range(40):
        (root / "usr" / "share" / "small" / f"f{i:02}.py").write_bytes(os.urandom(5_000 + 97 * i))
    (root / "etc" / "hostname").write_text("train\n")
    os.link(root / "usr" / "lib" / "big" / "libllvm.so", root / "usr" / "lib" / "big" / "libllvm.so.1")
    os.symlink("libtorch.so", root / "usr" / "lib" / "big" / "libtorch.so.1")
    os.symlink("usr/lib", root / "lib")
    os.chmod(root / "var" / "empty", 0o700)
    os.chmod(root / "usr" / "share", 0o750)
    return root


def pack(rootfs, out, *args):
    subprocess.run([sys.executable, str(PACK), str(rootfs), str(out), "--tag", "v1", *args],
                   check=True, capture_output=True)
    index = json.loads((out / "index.json").read_text())
    blobs = out / "blobs" / "sha256"
    manifest = json.loads((blobs / index["manifests"][0]["digest"][7:]).read_text())
    config = json.loads((blobs / manifest["config"]["digest"][7:]).read_text())
    return manifest, config, blobs


def layer_members(blobs, layer):
    with tarfile.open(blobs / layer["digest"][7:], "r:gz") as tar:
        return tar.getmembers()


def unpack_in_order(manifest, blobs, dest):
    """The layers one over the other, as overlay shows them."""
    dest.mkdir()
    for layer in manifest["layers"]:
        with tarfile.open(blobs / layer["digest"][7:], "r:gz") as tar:
            tar.extractall(dest, numeric_owner=True)


def tree(root):
    """path -> (kind, mode, content or link target) for everything under root."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = pathlib.Path(dirpath) / name
            rel = str(path.relative_to(root))
            st = path.lstat()
            if path.is_symlink():
                out[rel] = ("link", None, os.readlink(path))
            elif path.is_dir():
                out[rel] = ("dir", st.st_mode & 0o7777, None)
            else:
                out[rel] = ("file", st.st_mode & 0o7777, hashlib.sha256(path.read_bytes()).hexdigest())
    return out


def test_several_layers_unpack_to_the_same_tree(rootfs, tmp_path):
    manifest, config, blobs = pack(rootfs, tmp_path / "oci", "--layers", "3")
    assert len(manifest["layers"]) == 3
    assert len(config["rootfs"]["diff_ids"]) == 3
    assert len(config["history"]) == 3
    for layer, diff_id in zip(manifest["layers"], config["rootfs"]["diff_ids"]):
        data = (blobs / layer["digest"][7:]).read_bytes()
        assert layer["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"
        assert layer["size"] == len(data)
        assert "sha256:" + hashlib.sha256(data).hexdigest() == layer["digest"]
        assert "sha256:" + hashlib.sha256(gzip.decompress(data)).hexdigest() == diff_id
    unpack_in_order(manifest, blobs, tmp_path / "unpacked")
    assert tree(tmp_path / "unpacked") == tree(rootfs)


def test_the_big_files_land_in_different_layers_of_about_the_same_size(rootfs, tmp_path):
    manifest, _, blobs = pack(rootfs, tmp_path / "oci", "--layers", "3")
    holder = {}
    tar_bytes = []
    for i, layer in enumerate(manifest["layers"]):
        members = layer_members(blobs, layer)
        tar_bytes.append(sum(m.size for m in members if m.isfile()))
        for m in members:
            if m.name in ("usr/lib/big/libtorch.so", "usr/lib/big/libllvm.so"):
                holder[m.name] = i
    assert len(set(holder.values())) == 2, holder
    # The small files fill the third layer: no layer is more than the
    # biggest file heavier than the lightest.
    assert max(tar_bytes) - min(tar_bytes) <= 300_000, tar_bytes


def test_each_layer_lists_the_folders_above_its_entries(rootfs, tmp_path):
    manifest, _, blobs = pack(rootfs, tmp_path / "oci", "--layers", "3")
    for layer in manifest["layers"]:
        members = layer_members(blobs, layer)
        folders = {m.name: m.mode for m in members if m.isdir()}
        for m in members:
            parts = m.name.split("/")
            for depth in range(1, len(parts)):
                assert "/".join(parts[:depth]) in folders, (m.name, layer["digest"])
        if "usr/share" in folders:
            assert folders["usr/share"] == 0o750


def test_a_hard_link_split_from_its_first_name_is_a_whole_file(tmp_path):
    # a/x and b/z weigh the same: the cut falls between a/x and its second
    # name b/y (sorted order: a, a/x, b, b/y, b/z).
    root = tmp_path / "rootfs"
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    data = os.urandom(100_000)
    (root / "a" / "x").write_bytes(data)
    os.link(root / "a" / "x", root / "b" / "y")
    (root / "b" / "z").write_bytes(os.urandom(100_000))
    manifest, _, blobs = pack(root, tmp_path / "oci", "--layers", "2")
    assert len(manifest["layers"]) == 2
    lower, upper = ({m.name: m for m in layer_members(blobs, layer)}
                    for layer in manifest["layers"])
    assert lower["a/x"].isfile() and "b/y" not in lower
    assert upper["b/y"].isfile() and upper["b/y"].size == len(data)
    unpack_in_order(manifest, blobs, tmp_path / "unpacked")
    assert (tmp_path / "unpacked" / "b" / "y").read_bytes() == data
    assert tree(tmp_path / "unpacked") == tree(root)


def test_the_cut_is_the_same_every_time(rootfs, tmp_path):
    first, _, _ = pack(rootfs, tmp_path / "a", "--layers", "3")
    second, _, _ = pack(rootfs, tmp_path / "b", "--layers", "3")
    assert [layer["digest"] for layer in first["layers"]] == \
        [layer["digest"] for layer in second["layers"]]


def test_one_layer_by_default(rootfs, tmp_path):
    manifest, config, blobs = pack(rootfs, tmp_path / "oci")
    assert len(manifest["layers"]) == 1
    assert len(config["rootfs"]["diff_ids"]) == 1
    unpack_in_order(manifest, blobs, tmp_path / "unpacked")
    assert tree(tmp_path / "unpacked") == tree(rootfs)


def test_more_layers_than_entries_gives_one_layer_per_entry_at_most(rootfs, tmp_path):
    manifest, _, blobs = pack(rootfs, tmp_path / "oci", "--layers", "500")
    assert 1 < len(manifest["layers"]) <= 500
    unpack_in_order(manifest, blobs, tmp_path / "unpacked")
    assert tree(tmp_path / "unpacked") == tree(rootfs)


def test_zero_layers_is_refused(rootfs, tmp_path):
    out = subprocess.run([sys.executable, str(PACK), str(rootfs), str(tmp_path / "oci"),
                          "--layers", "0"], capture_output=True, text=True)
    assert out.returncode == 2
    assert "--layers must be at least 1" in out.stderr
    assert not (tmp_path / "oci").exists()
