"""`newsingest runs`: the crawl-run ledger."""

from __future__ import annotations

import click

from crawler.cli.main import (
    config_of,
    database_url,
    main,
)


@main.command()
@click.option("--source", "source_key", help="Only runs of this source.")
@click.option("--limit", default=20, show_default=True)
@click.pass_context
def runs(ctx: click.Context, source_key: str | None, limit: int) -> None:
    """List recent crawl runs."""
    from storage import db, ledger

    url = database_url(config_of(ctx))
    engine = db.make_engine(url, pool_size=1)
    with db.make_session_factory(engine)() as session:
        for run, key in ledger.recent_runs(session, source_key=source_key, limit=limit):
            stored = run.stats.get("newsingest/store/inserted", 0)
            failed = run.stats.get("newsingest/store/failures", 0)
            click.echo(
                f"{run.id:6} {key or '-':16} {run.status:11} {run.started_at:%Y-%m-%d %H:%M:%S}"
                f"  new={stored} failures={failed}  {run.error or ''}"
            )
    engine.dispose()
