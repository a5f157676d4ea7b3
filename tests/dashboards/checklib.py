"""PASS/FAIL lines for the dashboards layer's Python checks (tests/run.sh counts them)."""

failures = 0


def check(name, ok, why=""):
    """Print "PASS: name" or "FAIL: name: why"; a failure is counted in `failures`."""
    global failures
    if ok:
        print(f"PASS: {name}")
    else:
        failures += 1
        print(f"FAIL: {name}" + (f": {why}" if why else ""))
