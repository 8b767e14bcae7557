#!/usr/bin/env python3
"""Prints a gang's attempts and where each rank ran, from `berth gang --json`
on stdin, for run.sh. Arguments: INSTANCE_ARN=NODE_NAME pairs."""

import json
import sys
import time


def main():
    node_of = dict(arg.split("=", 1) for arg in sys.argv[1:])
    g = json.load(sys.stdin)["gang"]
    head = f"gang {g['gangName']}: {g['status']}, attempt {g['attempt']}"
    if g.get("queue"):
        head += f" (queued: {json.dumps(g['queue'])})"
    print(head)
    if g["status"] == "RESTARTING" and g.get("restartAt"):
        due = g["restartAt"] - time.time()
        print(f"  attempt {g['attempt'] + 1}: " + (
            f"due in {due:.0f} s (backoff)" if due > 0 else
            f"due {-due:.0f} s ago; waiting until {g['size']} instances can take it"))
    for a in g["attempts"]:
        state = a.get("reason") or ("running" if g["status"] == "RUNNING" else "")
        print(f"  attempt {a['attempt']}: {state}")
        for r in sorted(a["ranks"], key=lambda r: r["rank"]):
            node = node_of.get(r.get("containerInstanceArn", ""), "-")
            exit_code = r.get("exitCode", "-")
            print(f"    rank {r['rank']} on {node:6} {r.get('lastStatus', ''):8} exit {exit_code!s:3} "
                  f"{r.get('stoppedReason', '')}".rstrip())


if __name__ == "__main__":
    main()
