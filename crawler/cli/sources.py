"""`newsingest sources list|check`: inspect the sources file."""

from __future__ import annotations

from pathlib import Path

import click

from crawler.cli.main import (
    config_of,
    load_sources_or_exit,
    main,
)


@main.group()
def sources() -> None:
    """Inspect the sources file."""


@sources.command("list")
@click.option("--sources", "sources_path", type=click.Path(path_type=Path), help="Sources file.")
@click.pass_context
def sources_list(ctx: click.Context, sources_path: Path | None) -> None:
    """List the configured sources."""
    path = sources_path or config_of(ctx).sources_path
    for s in load_sources_or_exit(path):
        flag = "" if s.enabled else " (disabled)"
        click.echo(f"{s.key:20} {s.language or '--':3} {s.country or '--':3} {s.url}{flag}")


@sources.command("check")
@click.option("--sources", "sources_path", type=click.Path(path_type=Path), help="Sources file.")
@click.pass_context
def sources_check(ctx: click.Context, sources_path: Path | None) -> None:
    """Validate the sources file; exit 2 with a message naming the source and key."""
    path = sources_path or config_of(ctx).sources_path
    found = load_sources_or_exit(path)
    click.echo(f"{path}: {len(found)} sources, {sum(s.enabled for s in found)} enabled: OK")
