"""`memmap-tui lessons [--json] [--check [NAME ...]]`: the built-in lessons.

Without options: one line per lesson, its name and a one-line summary (open one with
`memmap-tui --lesson NAME`, or play it headless with `memmap-tui run`).
`--check` plays lessons headless and verifies every `expect` of their steps.
"""

from __future__ import annotations

import argparse
import json
import sys


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="memmap-tui lessons",
                                description="List the built-in lessons (open one with "
                                            "`memmap-tui --lesson NAME`).")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument("--check", nargs="*", metavar="NAME", default=None,
                   help="play the named lessons (default: all) headless and check every expect")
    return p


class _Usage(Exception):
    pass


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    parser.error = lambda message: (_ for _ in ()).throw(_Usage(message))  # type: ignore[method-assign]
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except _Usage as e:
        print(f"memmap-tui lessons: {e}", file=sys.stderr)
        return 2
    from engine.lessons import LessonError, find_lesson, list_lessons, load_lesson, play
    lessons = list_lessons()
    if args.check is not None:
        names = args.check or [n for n, _, _ in lessons]
        failed = 0
        report = []
        for name in names:
            try:
                sc = load_lesson(name)
            except LessonError as e:
                print(f"memmap-tui lessons: {e}", file=sys.stderr)
                return 2
            problems = [(i, p) for i, _st, _res, probs in play(sc) for p in probs]
            failed += bool(problems)
            report.append({"name": str(find_lesson(name).stem), "ok": not problems,
                           "problems": [{"step": i, "problem": p} for i, p in problems]})
        if args.json:
            json.dump(report, sys.stdout, indent=1)
            sys.stdout.write("\n")
        else:
            for r in report:
                print(f"{r['name']}: {'ok' if r['ok'] else 'FAILED'}")
                for p in r["problems"]:
                    print(f"  step {p['step']}: {p['problem']}")
        return 1 if failed else 0
    if args.json:
        docs = []
        for name, title, line in lessons:
            sc = load_lesson(name)
            docs.append({"name": name, "title": title, "summary": line,
                         "description": sc.meta.get("description", ""), "order": sc.meta.get("order"),
                         "profile": sc.config.profile, "arch": sc.config.arch, "steps": len(sc.steps),
                         "path": str(find_lesson(name))})
        json.dump(docs, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    if not lessons:
        print("memmap-tui lessons: no built-in lessons found", file=sys.stderr)
        return 2
    width = max(len(n) for n, _, _ in lessons)
    for name, title, line in lessons:
        print(f"{name:<{width}}  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
