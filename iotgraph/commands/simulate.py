"""``iotgraph simulate``: write a labelled Zeek conn.log of a simulated IoT network."""

from __future__ import annotations

from pathlib import Path

import typer

from iotgraph.commands.common import console, fail


def simulate(
    out: Path = typer.Option(Path("conn.log"), "--out", "-o", help="Zeek conn.log to write (IoT-23 label columns)."),
    devices: int = typer.Option(60, "--devices", min=3, help="Internal devices in the network."),
    hours: float = typer.Option(6.0, "--hours", min=0.1, help="Length of the capture in hours."),
    attack: list[str] = typer.Option(["mirai"], "--attack", help="Attack scenario; repeat for several: mirai, beacon, ddos, lateral, none."),
    seed: int = typer.Option(7, "--seed", help="Random seed; the same seed writes the same file."),
    start: float = typer.Option(1_700_000_000.0, "--start", help="Epoch seconds of the first flow."),
) -> None:
    """Simulate cameras, plugs, thermostats, hubs and phones, with attacks that spread over time."""
    from ingest.simulate import ATTACKS, SimulationConfig
    from ingest.simulate import simulate as run_simulation

    attacks = tuple(a for a in attack if a != "none")
    unknown = sorted(set(attacks) - set(ATTACKS))
    if unknown:
        fail(f"unknown attack scenario {', '.join(unknown)}: choose from {', '.join(ATTACKS)} or none")
    config = SimulationConfig(devices=devices, hours=hours, seed=seed, attacks=attacks, start=start)
    result = run_simulation(config, out)
    console.print(
        f"wrote {out}: {result.flows} flows, {result.devices} devices, {result.malicious_flows} malicious flows, "
        f"{len(result.infected)} infected device(s)"
    )


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate)
