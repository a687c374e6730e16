#!/usr/bin/env python3
"""Regenerates the bundled demo: context.txt (a month of door-badge logs,
about 1.1 MB, deterministic) and trajectory.jsonl (the recorded model
replies of one RLM run over it, written by hand below).

Run from anywhere: python3 examples/demo/make_demo.py
"""
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
CHUNK = 200_000

FIRST = ["Ada", "Ben", "Chloe", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas",
         "Keira", "Luis", "Mara", "Nikhil", "Olga", "Pavel", "Quinn", "Rosa", "Sami", "Tomas"]
LAST = ["Alvarez", "Brooks", "Chen", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito",
        "Jensen", "Kowalski", "Larsen", "Moreau", "Novak", "Okafor", "Petrov", "Rossi", "Silva"]
DOORS = ["A-%02d" % i for i in range(1, 21)] + ["B-%02d" % i for i in range(1, 21) if i != 17] + ["C-%02d" % i for i in range(1, 11)]


def make_context():
    rng = random.Random(20250314)
    staff = {}
    while len(staff) < 240:
        staff[rng.randint(1000, 9999)] = "%s %s" % (rng.choice(FIRST), rng.choice(LAST))
    badges = sorted(staff)
    lines = []
    for day in range(1, 32):
        # Office hours only, except the night of the 13th to the 14th.
        for _ in range(460):
            t = rng.randint(7 * 3600, 19 * 3600)
            b = rng.choice(badges)
            door = rng.choice(DOORS)
            if rng.random() < 0.004:
                door = "B-17"  # the server room, by day
            result = "GRANTED" if rng.random() > 0.03 else "DENIED"
            lines.append((day, t, "door=%s badge=%d holder=%s result=%s" % (door, b, staff[b], result)))
    lines.append((14, 2 * 3600 + 47 * 60 + 13, "door=B-17 badge=7731 holder=Dana Whitfield result=GRANTED"))
    lines.append((14, 2 * 3600 + 31 * 60 + 2, "door=A-03 badge=7731 holder=Dana Whitfield result=GRANTED"))
    lines.sort()
    out = []
    for day, t, rest in lines:
        out.append("2025-03-%02dT%02d:%02d:%02dZ %s\n" % (day, t // 3600, t // 60 % 60, t % 60, rest))
    return "".join(out)


ROOT_1 = """I'll start by looking at the size and shape of the context.

```repl
print(len(context))
first = context.lines(0, 3)
print([len(l) for l in first])
print(first[0][:24], '...')
print(len(context.search(r"\\n", max_results=100000)))
```"""

ROOT_2 = """The context is a log with one event per line and about %(chunks)d chunks of 200 kB. I'll have a sub-model read each chunk and report night-time entries to the server room.

```repl
chunk = 200_000
n = (len(context) + chunk - 1) // chunk
question = ("Below is part {i} of {n} of a building's door-badge log (one event per line: "
            "time, door, badge, holder, result). Room B-17 is the server room. If this part records "
            "anyone opening door B-17 between 22:00 on 2025-03-13 and 06:00 on 2025-03-14, answer with "
            "the badge, the holder and the time. Otherwise answer exactly NONE.\\n\\n")
answers = []
for i in range(n):
    answers.append(llm_query(question.format(i=i + 1, n=n) + context[i * chunk:(i + 1) * chunk]))
for i, a in enumerate(answers):
    print(i, a[:200])
```"""

ROOT_3 = """One chunk reports a night entry. I'll check it against the log itself before answering.

```repl
hits = context.search(r"door=B-17 badge=\\d+", max_results=1000)
night = []
for off, m in hits:
    stamp = context.read(off - 21, 20)
    if stamp.startswith("2025-03-14T0") or stamp.startswith("2025-03-13T2"):
        line = context.read(off - 21, 160).split("\\n")[0]
        badge = line.split("badge=")[1].split(" ")[0]
        holder = line.split("holder=")[1].split(" result=")[0]
        night.append((stamp, badge, holder))
print(len(hits), "B-17 entries;", len(night), "at night")
stamp, badge, holder = night[0]
answer = "Badge %s (%s) opened the server room B-17 at %s UTC on 2025-03-14, the only night-time entry; the same badge opened door A-03 sixteen minutes earlier." % (badge, holder, stamp[11:19])
print(answer)
FINAL_VAR("answer")
```"""

SUB_NONE = "NONE"
SUB_HIT = "Badge 7731 (holder Dana Whitfield) opened door B-17 at 02:47:13 on 2025-03-14 (GRANTED)."


def usage(i, o):
    return {"input_tokens": i, "output_tokens": o}


def main():
    ctx = make_context()
    with open(os.path.join(HERE, "context.txt"), "w") as f:
        f.write(ctx)
    data = ctx.encode()
    n = (len(data) + CHUNK - 1) // CHUNK
    needle = data.index(b"door=B-17 badge=7731")
    hit_chunk = needle // CHUNK
    events = [{"event": "run_start", "query": open(os.path.join(HERE, "question.txt")).read().strip(),
               "context_bytes": len(data), "model": "gpt-4o-mini", "sub_model": "gpt-4o-mini",
               "provider": "recorded by hand"}]
    idx = 0

    def call(kind, reply, u):
        nonlocal idx
        events.append({"event": "llm_call", "session": "root", "index": idx, "kind": kind,
                       "model": "gpt-4o-mini", "reply": reply, "usage": u})
        idx += 1

    call("root", ROOT_1, usage(1100, 90))
    call("root", ROOT_2 % {"chunks": n}, usage(1350, 260))
    for i in range(n):
        call("sub", SUB_HIT if i == hit_chunk else SUB_NONE, usage(CHUNK // 4, 30 if i == hit_chunk else 2))
    call("root", ROOT_3, usage(1800, 330))
    with open(os.path.join(HERE, "trajectory.jsonl"), "w") as f:
        for e in events:
            f.write(json.dumps(e) + "\n")
    print("context.txt: %d bytes, %d chunks, needle in chunk %d" % (len(data), n, hit_chunk))


if __name__ == "__main__":
    main()
