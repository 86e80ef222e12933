"""Python source transformations for assay's text corpora (study 2), with Python's own `ast`.

Reads a JSON request on stdin: {"op": OP, "units": "files"|"chunks", "seed": N, "files": [...]}
and writes one JSON object per line: {"path": P, "docs": [{"text": T, "depth": D}]} or
{"path": P, "error": E} for files that do not parse. OP is one of
  none          the source as it is
  comment_free  docstrings (Expr(Constant(str))) removed, unparsed (drops # comments, normalises layout)
  scrambled     every identifier replaced by a random one from the file's own identifier set
                (Name, arg, def/class names, attributes, imports; builtins and keywords excluded
                from the set, but uses of builtins are replaced too)
  randomized    every identifier occurrence replaced by a fresh [A-Za-z_][A-Za-z0-9_]{7}
units = "chunks" cuts each file into its top-level def/class statements.
depth(node, k) = max(depth(child, k + 1) for child in ast.iter_child_nodes(node)), or k without
children; the module has depth 0 (context and operator nodes count as children).
"""
import ast
import builtins
import json
import keyword
import random
import string
import sys

BUILTINS = set(dir(builtins))


def depth(node, k=0):
    children = list(ast.iter_child_nodes(node))
    if not children:
        return k
    return max(depth(c, k + 1) for c in children)


class StripDocstrings(ast.NodeTransformer):
    def generic_visit(self, node):
        super().generic_visit(node)
        for field in ("body", "orelse", "finalbody"):
            body = getattr(node, field, None)
            if isinstance(body, list):
                kept = [s for s in body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant) and isinstance(s.value.value, str))]
                if not kept and body:
                    kept = [ast.Pass()]
                setattr(node, field, kept)
        return node


def identifiers(tree):
    names = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Name):
            names.add(n.id)
        elif isinstance(n, ast.arg):
            names.add(n.arg)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(n.name)
        elif isinstance(n, ast.Attribute):
            names.add(n.attr)
        elif isinstance(n, ast.alias):
            names.add((n.asname or n.name).split(".")[0])
    return sorted(x for x in names if x not in BUILTINS and not keyword.iskeyword(x))


class Rename(ast.NodeTransformer):
    def __init__(self, pick):
        self.pick = pick

    def visit_Name(self, n):
        n.id = self.pick(n.id)
        return n

    def visit_arg(self, n):
        n.arg = self.pick(n.arg)
        return self.generic_visit(n)

    def visit_FunctionDef(self, n):
        n.name = self.pick(n.name)
        return self.generic_visit(n)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, n):
        n.name = self.pick(n.name)
        return self.generic_visit(n)

    def visit_Attribute(self, n):
        n.attr = self.pick(n.attr)
        return self.generic_visit(n)


def transform(tree, op, rng):
    if op == "comment_free":
        return StripDocstrings().visit(tree)
    if op == "scrambled":
        pool = identifiers(tree)
        if pool:
            Rename(lambda _old: rng.choice(pool)).visit(tree)
        return tree
    if op == "randomized":
        first = string.ascii_letters + "_"
        rest = first + string.digits
        Rename(lambda _old: rng.choice(first) + "".join(rng.choice(rest) for _ in range(7))).visit(tree)
        return tree
    return tree


def main():
    req = json.load(sys.stdin)
    op, units = req.get("op", "none"), req.get("units", "files")
    rng = random.Random(req.get("seed", 0))
    for path in req["files"]:
        try:
            with open(path, encoding="utf-8") as f:
                source = f.read()
            tree = ast.parse(source)
            pieces = [tree]
            if units == "chunks":
                pieces = [ast.Module(body=[s], type_ignores=[]) for s in tree.body
                          if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
            docs = []
            for piece in pieces:
                d = depth(piece)
                if op == "none" and units == "files":
                    text = source
                else:
                    text = ast.unparse(ast.fix_missing_locations(transform(piece, op, rng)))
                docs.append({"text": text, "depth": d})
            print(json.dumps({"path": path, "docs": docs}))
        except (SyntaxError, ValueError, UnicodeDecodeError, RecursionError, OSError) as e:
            print(json.dumps({"path": path, "error": f"{type(e).__name__}: {e}"}))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--depth":
        print(depth(ast.parse(sys.argv[2])))
    else:
        main()
