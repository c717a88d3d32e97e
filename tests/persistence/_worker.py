"""The child process of the persistence tests: ``python -m persistence._worker CMD DIR ...``.

Each command opens its own controller on the state directory DIR with a
:class:`~persistence._support.RecorderDriver` serving ``rec`` (``create`` and ``use``
for the two-process tests, ``churn`` for the concurrency test, ``crash`` for the
SIGKILL loop) and prints one JSON line when it is done.
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from libnet.errors import NetworkExistsError, StoreBusyError
from persistence._support import KEY, REC, open_controller

# Hundreds of networks outlive a run: more than Docker's 31 default pools could address.
NO_POOLS = {"driver": "null"}


def create(state_dir: str) -> dict[str, Any]:
    """Create network ``alpha`` with endpoints ``web`` (joined to ``ctr-1``) and ``idle``."""
    controller, _ = open_controller(state_dir)
    with controller:
        net = controller.new_network(
            REC, "alpha", options={"mtu": 1400}, labels={"team": "blue"}, internal=True
        )
        web = net.create_endpoint("web", options={"port": 80})
        idle = net.create_endpoint("idle")
        sandbox = controller.new_sandbox("ctr-1", key=KEY)
        web.join(sandbox)
        return {"network": net.id, "web": web.id, "idle": idle.id, "sandbox": sandbox.id}


def use(state_dir: str) -> dict[str, Any]:
    """List what ``create`` made, then leave and delete all of it; report the driver calls."""
    controller, driver = open_controller(state_dir)
    with controller:
        net = controller.network("alpha")
        sandbox = controller.sandbox("ctr-1")
        web = net.endpoint("web")
        seen = {
            "networks": [n.name for n in controller.networks()],
            "endpoints": [e.name for e in net.endpoints()],
            "sandbox_endpoints": [e.id for e in sandbox.endpoints()],
            "web_sandbox": web.info()["sandbox"],
            "options": dict(net.options),
        }
        web.leave(sandbox)
        web.delete()
        net.endpoint("idle").delete()
        sandbox.delete()
        net.delete()
        return {"seen": seen, "calls": driver.calls}


def _retry(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call ``fn``, retrying while the store stays busy (the error is retryable)."""
    while True:
        try:
            return fn(*args, **kwargs)
        except StoreBusyError:
            time.sleep(0.01)


def churn(state_dir: str, prefix: str, rounds: str, go_file: str) -> dict[str, Any]:
    """Endpoint and network lifecycles against the other worker; see test_concurrency.

    Each round: an endpoint on network ``shared`` is created and joined to sandbox
    ``shared-box`` (even rounds) or to this worker's own sandbox, then left and deleted
    (every tenth is kept, joined); a network of this worker is created and deleted (every
    tenth kept); both workers race to create network ``race-<round>``; reads in between.
    """
    controller, _ = open_controller(state_dir)
    shared = controller.network("shared")
    shared_box = controller.sandbox("shared-box")
    own_box = _retry(controller.new_sandbox, f"{prefix}-box")
    while not Path(go_file).exists():
        time.sleep(0.005)
    kept_endpoints: list[str] = []
    kept_networks: list[str] = []
    won: list[int] = []
    saw_other = ops = 0
    for i in range(int(rounds)):
        box = shared_box if i % 2 == 0 else own_box
        ep = _retry(shared.create_endpoint, f"{prefix}-e{i}", options={"i": i})
        _retry(ep.join, box)
        # One read of the records (a handle's name is read later: it may be gone by then).
        names = [e["name"] for e in shared.to_dict()["endpoints"].values()]
        assert names.count(ep.name) == 1, names
        saw_other += any(not n.startswith(f"{prefix}-") for n in names)
        assert ep.info()["sandbox"] == box.id
        assert ep in box.endpoints()
        ops += 5
        if i % 10 == 0:
            kept_endpoints.append(ep.name)
        else:
            _retry(ep.leave, box)
            _retry(ep.delete)
            ops += 2
        net = _retry(
            controller.new_network, REC, f"{prefix}-n{i}", labels={"i": str(i)}, ipam=NO_POOLS
        )
        ops += 1
        if i % 10 == 0:
            kept_networks.append(net.name)
        else:
            _retry(net.delete)
            ops += 1
        try:
            _retry(controller.new_network, REC, f"race-{i}", ipam=NO_POOLS)
            won.append(i)
        except NetworkExistsError:
            pass
        assert controller.network(f"race-{i}").type == REC
        ops += 2
    controller.close()
    return {
        "kept_endpoints": kept_endpoints,
        "kept_networks": kept_networks,
        "won": won,
        "saw_other": saw_other,
        "ops": ops,
    }


def crash(state_dir: str, seed: str) -> None:
    """Random operations until killed; prints ``ready`` once the controller is open."""
    rng = random.Random(int(seed))
    controller, _ = open_controller(state_dir)
    print("ready", flush=True)
    n = 0
    while True:
        n += 1
        tag = f"{seed}-{n}"
        nets = controller.networks()
        boxes = controller.sandboxes()
        eps = [ep for net in nets for ep in net.endpoints()]
        free = [ep for ep in eps if ep.sandbox_id is None]
        joined = [ep for ep in eps if ep.sandbox_id is not None]
        r = rng.random()
        if r < 0.10 and len(nets) < 5:
            controller.new_network(REC, f"n{tag}", options={"n": n}, labels={"seed": seed})
        elif r < 0.16 and nets:
            rng.choice(nets).delete(force=True)
        elif r < 0.34 and nets and len(eps) < 16:
            rng.choice(nets).create_endpoint(f"e{tag}", options={"n": n})
        elif r < 0.42 and len(boxes) < 4:
            controller.new_sandbox(f"c{tag}", key=KEY if n % 2 else None)
        elif r < 0.48 and boxes:
            rng.choice(boxes).delete()
        elif r < 0.70 and free and boxes:
            rng.choice(free).join(rng.choice(boxes), options={"n": n})
        elif r < 0.85 and joined:
            ep = rng.choice(joined)
            sandbox_id = ep.sandbox_id
            assert sandbox_id is not None
            ep.leave(controller.sandbox_by_id(sandbox_id))
        elif eps:
            ep = rng.choice(eps)
            ep.delete(force=ep.sandbox_id is not None)


def main(argv: list[str]) -> int:
    command, *args = argv
    if command == "crash":
        crash(*args)
        return 0
    commands: dict[str, Callable[..., dict[str, Any]]] = {
        "create": create,
        "use": use,
        "churn": churn,
    }
    result = commands[command](*args)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
