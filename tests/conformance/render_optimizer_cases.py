"""Writes optimizers/<name>.optim beside each reference case of an optimizer optimc implements
and each SWALR or AveragedModel case optimc can write (not the documentation's switch loop,
which is no `sequence`): the case's optimizer, groups and schedule in the .optim language (groups named
after the case's groups, each matching the parameter of the same name). Run after
generate_optimizers.py:

    python3 tests/conformance/render_optimizer_cases.py

Only the standard library is needed. The .optim files are checked in; tests/it reads them.
"""
import json
import pathlib

HERE = pathlib.Path(__file__).parent / "optimizers"
NAMES = {"Rprop": "rprop", "ASGD": "asgd", "Lion": "lion", "Lamb": "lamb",
         "Adafactor": "adafactor", "Muon": "muon"}
# The optimizers of the SWA/EMA cases, which are rendered for their schedule and averaging.
OTHERS = {"SGD": "sgd", "Adam": "adam", "AdamW": "adamw"}
SCHEDULES = {"CosineAnnealingLR": ("cosine", {"T_max": "t_max"}), "StepLR": ("step", {}),
             "LinearLR": ("linear", {}), "ExponentialLR": ("exponential", {}),
             "ConstantLR": ("constant", {}), "SWALR": ("swa", {})}
# Bare words of the language (not strings).
WORDS = {"anneal_strategy"}


def num(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "none"
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, list):
        return "(" + ", ".join(num(x) for x in v) + ")"
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(float(v))


def args(options):
    return ", ".join(f"{k} = {num(v)}" for k, v in options.items() if k != "foreach")


def schedule_args(kwargs):
    out = []
    for k, v in kwargs.items():
        if k in WORDS:
            out.append(f"{k} = {v}")
        elif isinstance(v, list):
            out.append(f"{k} = [" + ", ".join(num(x) for x in v) + "]")
        else:
            out.append(f"{k} = {num(v)}")
    return ", ".join(out)


def schedule(s):
    if s["type"] == "SequentialLR":
        children = "".join(f"  {schedule(c)},\n" for c in s["children"])
        return f"sequence(\n{children}  {schedule_args(s['kwargs'])},\n)"
    name, renames = SCHEDULES[s["type"]]
    return f"{name}({schedule_args({renames.get(k, k): v for k, v in s['kwargs'].items()})})"


def renderable(case):
    t = case["optimizer"]["type"]
    if t in NAMES:
        return True
    s = case.get("scheduler") or {}
    return t in OTHERS and s.get("type") != "SWA_switch" and (
        "SWALR" in json.dumps(s) or case.get("averaging") is not None)


def render(case):
    opt = case["optimizer"]
    lines = [f"# {case['name']}: {case['description']}",
             "# rendered from a reference case by render_optimizer_cases.py; see README.md",
             f"optimizer = {({**NAMES, **OTHERS})[opt['type']]}({args(opt['defaults'])})", ""]
    for g in case["groups"]:
        own = args(g["options"])
        lines.append(f'group {g["name"]} {{ params = "{g["name"]}"' + (f", {own}" if own else "") + " }")
    s = case.get("scheduler")
    if s:
        lines += ["", f"schedule = {schedule(s)}"]
    a = case.get("averaging")
    if a:
        decay = f"decay = {num(a['decay'])}, " if a["avg"] == "ema" else ""
        lines += ["", f"average = {a['avg']}({decay}start = {a['start']})"]
    return "\n".join(lines) + "\n"


for path in sorted(HERE.glob("*.json")):
    case = json.loads(path.read_text())
    if renderable(case):
        path.with_suffix(".optim").write_text(render(case))
