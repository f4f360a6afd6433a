#!/usr/bin/env python3
"""Count the moves between vmauth's own source files in one run, from a uftrace
replay, the way a reader follows the code (see scripts/walk.sh).

- A file counts when control enters one of vmauth's functions defined there
  (closures and async bodies included). Other crates' functions are passed
  through: a closure of ours that they call counts where it is written.
- Leaving a function returns control to the file of the nearest vmauth caller.
- A call is followed once: when the same function calls the same function
  again (a loop, a helper reached twice, an async body polled again), a
  reader who has read it does not go there again; only the calls made below
  it that were not followed before are followed, from the file they are
  written in (resuming there and coming back are not counted). A function is
  where it is written: the instances of a generic function are one function,
  read once.
- Code a `#[derive]` generated (Clone, PartialEq, serde) is not entered by a
  reader and is passed through like other crates' code, unless --strict.
- A "move" is a change of file; a "return" is a move into a file already left.

    uftrace replay --srcline -d DATA | scripts/walk.py [--root=SRC_DIR] [--strict] [--moves|--verbose]
"""
import re
import sys

LINE = re.compile(r"^\s*(?:[\d.]+ \w+)?\s*\[\s*\d+\]\s\|(\s*)(.*)$")
SRC = re.compile(r"/\* (src/[^:]+):(\d+) \*/")
# The crate that defines a function is the first crate root of its (v0)
# mangled name: generic code of other crates instantiated here names vmauth
# only after its own path.
CRATE = re.compile(r"(?<![NB])C(?:s[0-9a-zA-Z]*_)?(\d+)([A-Za-z_][A-Za-z0-9_]*)")


def ours(symbol):
    if symbol == "main":
        return True
    m = CRATE.search(symbol)
    return bool(m) and m.group(2)[: int(m.group(1))] == "vmauth"


def demangle(symbol):
    """The identifiers of a v0 symbol after the crate, joined (enough to recognise it)."""
    names = re.findall(r"\d+([A-Za-z_][A-Za-z0-9_]*)", symbol)
    return "::".join(n for n in names if n != "vmauth")


def derived(root, file, line, cache={}):
    """Code a `#[derive]` generated: no reader enters it."""
    if file not in cache:
        try:
            with open(f"{root}/{file}", encoding="utf-8") as f:
                cache[file] = f.readlines()
        except OSError:
            cache[file] = []
    lines = cache[file]
    n = int(line) - 1
    return 0 <= n < len(lines) and "#[derive(" in lines[n]


class Frame:
    __slots__ = ("symbol", "file", "children", "sig", "at")

    def __init__(self, symbol, file, at=None):
        self.symbol, self.file, self.children, self.sig = symbol, file, [], None
        # Where the function is written: the instances of a generic function
        # are one function to a reader.
        self.at = at or symbol


LEAVES_PASS = "--no-leaves" in sys.argv


def has_ours(frame):
    return frame.file is not None or any(has_ours(c) for c in frame.children)


MERGE = dict(a[len("--as="):].split(":") for a in sys.argv if a.startswith("--as="))


def parse(lines, root):
    top = Frame("<root>", None)
    stack = [top]
    for raw in lines:
        m = LINE.match(raw)
        if not m:
            continue
        body = m.group(2)
        if body.startswith("}"):
            if len(stack) > 1:
                stack.pop()
            continue
        symbol = body.split("(")[0].strip()
        src = SRC.search(body)
        f = src.group(1) if src and ours(symbol) else None
        if f and root and derived(root, f, src.group(2)):
            f = None
        at = f"{f}:{src.group(2)}" if f else None
        f = MERGE.get(f, f)
        frame = Frame(symbol, f, at)
        stack[-1].children.append(frame)
        if body.split("/*")[0].rstrip().endswith("{"):
            stack.append(frame)
    return top


def signature(frame, table):
    """An id for the vmauth calls below `frame` (and itself, if ours)."""
    if frame.sig is None:
        kids = tuple(signature(c, table) for c in frame.children)
        kids = tuple(k for k in kids if k != 0)
        key = (frame.symbol if frame.file else None, kids)
        if key == (None, ()):
            frame.sig = 0
        elif frame.file is None and len(kids) == 1:
            frame.sig = kids[0]
        else:
            frame.sig = table.setdefault(key, len(table) + 1)
    return frame.sig


def main():
    verbose = "--verbose" in sys.argv
    show = "--moves" in sys.argv or verbose
    root = None if "--strict" in sys.argv else next(
        (a[len("--root="):] for a in sys.argv if a.startswith("--root=")), "."
    )
    sys.setrecursionlimit(100000)
    tree = parse(sys.stdin, root)
    table = {}
    signature(tree, table)
    state = {"current": None, "moves": 0, "returns": 0}
    seen, followed, trail = set(), set(), []

    def go(to, via=""):
        if to is None or to == state["current"]:
            return
        if state["current"] is not None:
            state["moves"] += 1
            back = to in seen
            state["returns"] += back
            trail.append(f"{state['current']} -> {to}{' (return)' if back else ''}{via}")
        seen.add(to)
        state["current"] = to

    def walk(frame, caller):
        # caller: (symbol, file) of the nearest vmauth frame above
        if frame.file:
            if frame.sig == 0:
                return
            edge = (caller[0], frame.at)
            if edge in followed:
                # Read before (a loop, an async body polled again): only the
                # calls it makes that were not followed yet are followed, from
                # where they are written; the reader resumes there and comes
                # back without counting either step.
                back = state["current"]
                state["current"] = frame.file
                for c in frame.children:
                    walk(c, (frame.at, frame.file))
                state["current"] = back
                return
            followed.add(edge)
            if LEAVES_PASS and frame.file != caller[1] and not any(
                has_ours(c) for c in frame.children
            ):
                return
            go(frame.file, f"  [{demangle(frame.symbol)}]" if verbose else "")
            for c in frame.children:
                walk(c, (frame.at, frame.file))
            go(caller[1])
        else:
            for c in frame.children:
                walk(c, caller)

    # Iterative would be kinder to deep traces; recursion depth is the call depth.
    import threading
    threading.stack_size(512 * 1024 * 1024)
    t = threading.Thread(target=walk, args=(tree, (None, None)))
    t.start()
    t.join()
    print(f"files {len(seen)}, moves {state['moves']}, returns {state['returns']}")
    if show:
        print("\n".join(trail))
        for f in sorted(seen):
            print("  ", f)


main()
