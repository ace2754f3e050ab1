"""Writes optimizers/<name>.optim beside each reference case of an optimizer optimc implements:
the case's optimizer, groups and schedule in the .optim language (groups named after the case's
groups, each matching the parameter of the same name). Run after generate_optimizers.py:

    python3 tests/conformance/render_optimizer_cases.py

Only the standard library is needed. The .optim files are checked in; tests/it reads them.
"""
import json
import pathlib

HERE = pathlib.Path(__file__).parent / "optimizers"
NAMES = {"Rprop": "rprop", "ASGD": "asgd", "Lion": "lion", "Lamb": "lamb",
         "Adafactor": "adafactor", "Muon": "muon"}
SCHEDULES = {"CosineAnnealingLR": ("cosine", {"T_max": "t_max"}), "StepLR": ("step", {}),
             "LinearLR": ("linear", {}), "ExponentialLR": ("exponential", {})}


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


def render(case):
    opt = case["optimizer"]
    lines = [f"# {case['name']}: {case['description']}",
             "# rendered from a reference case by render_optimizer_cases.py; see README.md",
             f"optimizer = {NAMES[opt['type']]}({args(opt['defaults'])})", ""]
    for g in case["groups"]:
        own = args(g["options"])
        lines.append(f'group {g["name"]} {{ params = "{g["name"]}"' + (f", {own}" if own else "") + " }")
    s = case.get("scheduler")
    if s:
        name, renames = SCHEDULES[s["type"]]
        kwargs = {renames.get(k, k): v for k, v in s["kwargs"].items()}
        lines += ["", f"schedule = {name}({args(kwargs)})"]
    return "\n".join(lines) + "\n"


for path in sorted(HERE.glob("*.json")):
    case = json.loads(path.read_text())
    if case["optimizer"]["type"] in NAMES:
        path.with_suffix(".optim").write_text(render(case))
