# The python3 workload of bench/malloc: dicts, lists, strings, sets and
# JSON, seeded, so every run does the same work.  "work.py [SCALE]".
import collections
import json
import random
import sys

scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
n = max(1, int(300000 * scale))
r = random.Random(42)
d = {}
for i in range(n):
    d["k%d" % r.randrange(n // 4 + 1)] = [i] * (i % 7)
words = [("%x" % r.getrandbits(40)) * (i % 5 + 1) for i in range(n // 3)]
words.sort()
c = collections.Counter(w[:3] for w in words)
text = " ".join(words[:20000])
s = set(range(0, 3 * n, 3)) & set(range(0, 3 * n, 5))
blob = json.dumps(d, sort_keys=True)
back = json.loads(blob)
print(len(d), len(back), c.most_common(3), len(s), len(text.split()))
