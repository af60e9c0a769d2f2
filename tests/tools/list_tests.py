#!/usr/bin/env python3
"""Lists the ctest entries of one Python test file, for tests/CMakeLists.txt, read from its
syntax tree (nothing is imported, so listing needs none of the test's dependencies).

One entry per test method, so that a hang or a failure names itself and costs only itself.
A class whose set-up is too costly to repeat per method (a lab of network namespaces, a booted
image) says `CTEST_PER_CLASS = True` and is one entry. `CTEST_TIMEOUT = seconds` in a class
or at module level sets the per-entry timeout (default 300 s).

Output: one line per entry, `<unittest id>|<timeout>`."""
import ast
import sys

DEFAULT_TIMEOUT = 300


def constant(body, name):
    for node in body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                isinstance(node.targets[0], ast.Name) and node.targets[0].id == name and \
                isinstance(node.value, ast.Constant):
            return node.value.value
    return None


def main(path):
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    module_timeout = constant(tree.body, "CTEST_TIMEOUT") or DEFAULT_TIMEOUT
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        methods = [n.name for n in node.body
                   if isinstance(n, ast.FunctionDef) and n.name.startswith("test")]
        if not methods:
            continue
        timeout = constant(node.body, "CTEST_TIMEOUT") or module_timeout
        if constant(node.body, "CTEST_PER_CLASS"):
            print(f"{node.name}|{timeout}")
        else:
            for m in methods:
                print(f"{node.name}.{m}|{timeout}")


if __name__ == "__main__":
    main(sys.argv[1])
