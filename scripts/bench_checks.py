"""Behavioural tests on a model and its zoo siblings (run from the project root): the time to generate the default
suite from TEACHER's test predictions and to run it on TEACHER (model load counted apart), then the same suite on
every other MODEL, and the failure-rate table side by side (markdown).

    TEXTLAB_ARTIFACTS_DIR=DIR python scripts/bench_checks.py TEACHER [MODEL ...]

The suite is generated fresh (not read from DIR/.checks) and not saved; records are written as by `core check`.
"""
import os
import sys
import time

sys.path.insert(0, ".")
from core.artifacts import load_model  # noqa: E402
from core.checks import api, tables  # noqa: E402
from core.checks.run import Target  # noqa: E402

teacher, others = sys.argv[1], sys.argv[2:]
t0 = time.perf_counter()
text = api.generate_for(teacher)
t_gen = time.perf_counter() - t0
t0 = time.perf_counter()
model = load_model(teacher)
t_load = time.perf_counter() - t0
record = api.check_model(teacher, text, target=Target.of(model))
print(f"{teacher}: generate the default suite {t_gen:.1f} s, load the model {t_load:.1f} s, run "
      f"{record['seconds']:.1f} s ({len(record['results'])} tests, "
      f"{sum(r['cases'] for r in record['results'])} cases); generate + run {t_gen + record['seconds']:.1f} s, "
      f"with the load {t_gen + t_load + record['seconds']:.1f} s", flush=True)
records = [record]
for name in others:
    t0 = time.perf_counter()
    records.append(api.check_model(name, text))
    print(f"{name}: load + run {time.perf_counter() - t0:.1f} s (run {records[-1]['seconds']:.1f} s)", flush=True)
table = tables.side_by_side(records)
for c in table.columns[2:]:
    table[c] = [f"{v:.1%}" if v == v else "n/a" for v in table[c]]
cases = tables.summary(record).set_index("test")["cases"]
table.insert(2, "cases", [int(cases[t]) for t in table["test"]])
print("| " + " | ".join(map(str, table.columns)) + " |")
print("|" + "---|" * len(table.columns))
for row in table.itertuples(index=False):
    print("| " + " | ".join(map(str, row)) + " |")
print(f"load average (1, 5, 15 min): {os.getloadavg()}")
