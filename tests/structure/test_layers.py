"""The layering of src/ as src/README.md states it, checked against the tree.

Two checks: each library's CMake target links exactly the berth libraries its
row of the README's table names, and each source file includes headers only
from its own library and from the libraries its library links, directly or
through them. A new include across a layer fails here with the file, the
include and the libraries it could have come from.
"""

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SRC = ROOT / "src"


def readme_table():
    """{library: (folder, {direct berth dependencies})} from src/README.md."""
    rows = {}
    for line in (SRC / "README.md").read_text().splitlines():
        m = re.match(r"\| `berth_(\w+)` \| `([\w/]+)/`[^|]*\|\s*([^|]*?)\s*\|", line)
        if m:
            deps = {d.strip() for d in m.group(3).split(",") if d.strip()}
            rows[m.group(1)] = (m.group(2), deps)
    return rows


def cmake_links():
    """{library: {direct berth dependencies}} from every CMakeLists.txt under src/."""
    links = {}
    for cmake in SRC.rglob("CMakeLists.txt"):
        text = cmake.read_text()
        for m in re.finditer(r"add_library\(berth_(\w+)", text):
            links.setdefault(m.group(1), set())
        for m in re.finditer(r"target_link_libraries\(berth_(\w+)(.*?)\)", text, re.S):
            links.setdefault(m.group(1), set()).update(re.findall(r"\bberth_(\w+)", m.group(2)))
    return links


def owner(path, table):
    """The library a source file belongs to: the one whose folder is the deepest prefix."""
    rel = path.relative_to(SRC).as_posix()
    if rel.startswith("awsjson/client"):
        return "awsjson_client"
    best = None
    for library, (folder, _) in table.items():
        if library == "awsjson_client":
            continue
        if rel.startswith(folder + "/") and (best is None or len(folder) > len(table[best][0])):
            best = library
    return best


def is_test_source(path):
    name = path.name
    return (name.endswith("_test.cc") or name.endswith("_testing.h") or
            name.endswith("_test_util.h") or name.startswith("test_"))


def reachable(library, table):
    seen, todo = set(), [library]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        todo.extend(table[current][1])
    return seen


def test_readme_table_matches_cmake_targets():
    table, links = readme_table(), cmake_links()
    assert set(table) == set(links), "libraries in src/README.md and in CMake differ"
    for library, (folder, deps) in table.items():
        assert links[library] == deps, (
            f"berth_{library}: CMake links {sorted(links[library])}, "
            f"src/README.md says {sorted(deps)}")


def test_every_include_stays_within_the_layers_below():
    table = readme_table()
    folders = {library: folder for library, (folder, _) in table.items()}
    problems = []
    for path in sorted(SRC.rglob("*")):
        if path.suffix not in (".cc", ".h") or is_test_source(path):
            continue
        library = owner(path, table)
        if library is None:
            continue  # main.cc: the binary links everything
        allowed = reachable(library, table)
        for line in path.read_text().splitlines():
            m = re.match(r'#include "([\w/]+)/[\w.]+"', line)
            if not m:
                continue
            include = m.group(1) + "/" + line.split("/")[-1].rstrip('"')
            target = owner(SRC / m.group(1) / line.split("/")[-1].rstrip('"'), table)
            if target is not None and target not in allowed:
                problems.append(f"{path.relative_to(ROOT)}: #include \"{include}\" is "
                                f"berth_{target}'s; berth_{library} may reach only "
                                f"{', '.join(sorted('berth_' + a for a in allowed))}")
    assert not problems, "\n".join(problems)


def test_the_check_sees_a_forbidden_include():
    # The check itself: a registry file including the ECS API would be caught.
    table = readme_table()
    allowed = reachable("registry", table)
    assert owner(SRC / "server/api/ecs_api.h", table) == "server_api"
    assert "server_api" not in allowed
    assert "awsjson" in allowed
    assert owner(SRC / "awsjson/client.h", table) == "awsjson_client"
    assert "awsjson" not in reachable("agent", table)
