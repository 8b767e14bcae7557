#!/usr/bin/env python3
"""Fake device trees for `berth agent --device-root ROOT`: what the agent's
device discovery (src/agent/devices/) reads, laid out under ROOT.

    ROOT/sys/devices/system/cpu/online        "0-N"        (this machine's CPU count by default)
    ROOT/proc/meminfo                         MemTotal     (this machine's by default)
    ROOT/dev/neuronN                          character device 1:3
    ROOT/sys/class/neuron_device/neuronN/     core_count, connected_devices ("1, 3, 4, 12")
    ROOT/dev/nvidiaN, nvidiactl, nvidia-uvm   character devices 1:3
    ROOT/proc/driver/nvidia/gpus/<pci>/information
    ROOT/dev/infiniband/uverbsN, rdma_cm      character devices 1:3 (EFA)

The device nodes are 1:3, the numbers of /dev/null: a task that maps
/dev/neuron0 gets a node that opens, reads nothing and swallows writes, so a
training container can open its "devices" on a machine without any.
Making them needs root (mknod); everything else is plain files.

Command line (the example and the e2e suites use it):
    python3 tests/agent/fake_devices.py neuron ROOT [COUNT=16] [--cores 2]
                                        [--cpus N] [--memory-mib M]
    python3 tests/agent/fake_devices.py gpu ROOT [COUNT=1] [--cpus N] [--memory-mib M]
    python3 tests/agent/fake_devices.py efa ROOT [COUNT=8] [--cpus N] [--memory-mib M]
    python3 tests/agent/fake_devices.py trn1 ROOT     a trn1.32xlarge: 16 Neuron devices
                                                      and 8 EFA devices
"""

import argparse
import os
import stat
import sys

NULL_DEVICE = os.makedev(1, 3)


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def _char_device(path):
    """A character device 1:3 at path; an existing one is kept, anything else replaced."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        st = os.lstat(path)
        if stat.S_ISCHR(st.st_mode) and st.st_rdev == NULL_DEVICE:
            return
        os.unlink(path)
    except FileNotFoundError:
        pass
    os.mknod(path, 0o666 | stat.S_IFCHR, NULL_DEVICE)
    os.chmod(path, 0o666)  # mknod's mode is cut by the umask


def _host_mem_kib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1])
    raise RuntimeError("/proc/meminfo has no MemTotal")


def make_basics(root, cpus=None, memory_mib=None):
    """CPU and memory files: this machine's values unless given. Existing files are kept
    only when no value is given."""
    online = os.path.join(root, "sys/devices/system/cpu/online")
    meminfo = os.path.join(root, "proc/meminfo")
    if cpus is not None or not os.path.exists(online):
        n = cpus if cpus is not None else (os.cpu_count() or 1)
        _write(online, f"0-{n - 1}\n" if n > 1 else "0\n")
    if memory_mib is not None or not os.path.exists(meminfo):
        kib = memory_mib * 1024 if memory_mib is not None else _host_mem_kib()
        _write(meminfo, f"MemTotal:       {kib} kB\nMemFree:        {kib // 2} kB\n"
                        f"MemAvailable:   {kib // 2} kB\n")


def torus_links(index, count):
    """The devices `index` links to: trn1.32xlarge's 16 devices form a 4x4 torus (each device
    linked to its row and column neighbours, wrapping round), so each has 4 links. Other
    counts are laid out in rows of 4 the same way; fewer than 4 devices make a ring."""
    if count <= 1:
        return []
    if count < 4:
        return sorted({(index - 1) % count, (index + 1) % count} - {index})
    cols = 4
    rows = (count + cols - 1) // cols
    r, c = divmod(index, cols)
    links = set()
    up, down, left, right = (r - 1) % rows, (r + 1) % rows, (c - 1) % cols, (c + 1) % cols
    neighbours = ((up, c), (down, c), (r, left), (r, right))
    for rr, cc in neighbours:
        j = rr * cols + cc
        if j < count and j != index:
            links.add(j)
    return sorted(links)


def make_neuron_tree(root, count=16, cores=2, cpus=None, memory_mib=None):
    """ROOT with `count` Neuron devices of `cores` NeuronCores each, linked as on a
    trn1.32xlarge (count=16: each device to 4 others), plus CPU and memory files.
    Returns the list of device paths inside the tree (/dev/neuron0, ...)."""
    make_basics(root, cpus, memory_mib)
    paths = []
    for i in range(count):
        _char_device(os.path.join(root, f"dev/neuron{i}"))
        sysfs = os.path.join(root, f"sys/class/neuron_device/neuron{i}")
        _write(os.path.join(sysfs, "core_count"), f"{cores}\n")
        # The driver's format: "1, 3, 4, 12".
        _write(os.path.join(sysfs, "connected_devices"),
               ", ".join(str(j) for j in torus_links(i, count)) + "\n")
        paths.append(f"/dev/neuron{i}")
    return paths


def make_gpu_tree(root, count=1, model="NVIDIA A10G", cpus=None, memory_mib=None):
    """ROOT with `count` NVIDIA GPUs: /dev/nvidiaN, the control devices, and the driver's
    information files (UUIDs GPU-00000000-0000-0000-0000-00000000000N). Returns the device
    paths inside the tree (/dev/nvidia0, ...)."""
    make_basics(root, cpus, memory_mib)
    for name in ("nvidiactl", "nvidia-uvm", "nvidia-uvm-tools"):
        _char_device(os.path.join(root, "dev", name))
    paths = []
    for i in range(count):
        _char_device(os.path.join(root, f"dev/nvidia{i}"))
        pci = f"0000:00:{0x1b + i:02x}.0"
        _write(os.path.join(root, "proc/driver/nvidia/gpus", pci, "information"),
               f"Model: \t\t {model}\n"
               f"IRQ:   \t\t {72 + i}\n"
               f"GPU UUID: \t GPU-00000000-0000-0000-0000-{i:012d}\n"
               f"Video BIOS: \t 94.02.75.00.01\n"
               f"Bus Type: \t PCIe\n"
               f"Bus Location: \t {pci}\n"
               f"Device Minor: \t {i}\n"
               f"GPU Excluded:\t No\n")
        paths.append(f"/dev/nvidia{i}")
    return paths


def make_efa_tree(root, count=8, rdma_cm=True, cpus=None, memory_mib=None):
    """ROOT with `count` EFA devices (/dev/infiniband/uverbsN; a trn1.32xlarge has 8) and,
    unless rdma_cm is False, the shared /dev/infiniband/rdma_cm, plus CPU and memory files.
    Returns the uverbs paths inside the tree (/dev/infiniband/uverbs0, ...)."""
    make_basics(root, cpus, memory_mib)
    if rdma_cm:
        _char_device(os.path.join(root, "dev/infiniband/rdma_cm"))
    paths = []
    for i in range(count):
        _char_device(os.path.join(root, f"dev/infiniband/uverbs{i}"))
        paths.append(f"/dev/infiniband/uverbs{i}")
    return paths


def make_trn1_tree(root, cpus=None, memory_mib=None):
    """A trn1.32xlarge: 16 linked Neuron devices of 2 cores and 8 EFA devices. Returns
    (neuron paths, EFA paths)."""
    neuron = make_neuron_tree(root, 16, 2, cpus, memory_mib)
    return neuron, make_efa_tree(root, 8, cpus=cpus, memory_mib=memory_mib)


def main(argv=None):
    p = argparse.ArgumentParser(
        description="Make a fake device tree for berth agent --device-root.")
    p.add_argument("kind", choices=["neuron", "gpu", "efa", "trn1"])
    p.add_argument("root")
    p.add_argument("count", type=int, nargs="?")
    p.add_argument("--cores", type=int, default=2, help="NeuronCores per Neuron device")
    p.add_argument("--cpus", type=int, help="CPU count (default: this machine's)")
    p.add_argument("--memory-mib", type=int, help="MemTotal in MiB (default: this machine's)")
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        sys.exit("fake_devices.py: making device nodes needs root")
    if args.kind == "neuron":
        count = 16 if args.count is None else args.count
        make_neuron_tree(args.root, count, args.cores, args.cpus, args.memory_mib)
        print(f"fake device tree {args.root}: {count} Neuron devices, {args.cores} cores each")
    elif args.kind == "gpu":
        count = 1 if args.count is None else args.count
        make_gpu_tree(args.root, count, cpus=args.cpus, memory_mib=args.memory_mib)
        print(f"fake device tree {args.root}: {count} NVIDIA GPUs")
    elif args.kind == "efa":
        count = 8 if args.count is None else args.count
        make_efa_tree(args.root, count, cpus=args.cpus, memory_mib=args.memory_mib)
        print(f"fake device tree {args.root}: {count} EFA devices")
    else:
        make_trn1_tree(args.root, cpus=args.cpus, memory_mib=args.memory_mib)
        print(f"fake device tree {args.root}: trn1.32xlarge, 16 Neuron devices, 8 EFA devices")


if __name__ == "__main__":
    main()
