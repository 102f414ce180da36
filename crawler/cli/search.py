"""`newsingest search`: ranked full-text search over stored articles."""

from __future__ import annotations

from datetime import datetime

import click

from crawler.cli.export import article_filter, check_source_known, filter_options
from crawler.cli.main import config_of, main, read_database_url


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("words", nargs=-1, required=True)
@filter_options
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
@click.pass_context
def search(
    ctx: click.Context,
    words: tuple[str, ...],
    source_key: str | None,
    language: str | None,
    since: datetime | None,
    until: datetime | None,
    credit: str | None,
    full_only: bool,
    limit: int,
) -> None:
    """Search articles: words, "quoted phrases", OR, -excluded (web-search syntax).

    The words may be given as one argument or several (`search Hafen -Streik`,
    `search '"Hafen Streik"'`); `--` ends the options.

    Without --language each article is matched in its own language; with it, only
    articles in that language, and the query is stemmed for it. Best match first.
    """
    from storage import db, queries

    query = " ".join(words)

    filters = article_filter(source_key, language, since, until, credit, full_only)
    engine = db.make_engine(read_database_url(config_of(ctx)), pool_size=1)
    try:
        with db.make_session_factory(engine)() as session:
            check_source_known(session, source_key)
            hits = queries.search(session, query, filters, limit=limit)
    finally:
        engine.dispose()
    for hit in hits:
        date = f"{hit.published_at:%Y-%m-%d}" if hit.published_at else "----------"
        click.echo(
            f"{hit.id}  {date}  {hit.source_key or '-'}  {hit.language or '-'}  "
            f"rank={hit.rank:.3f}  {hit.url}"
        )
        if hit.title:
            click.echo(f"    {hit.title}")
        click.echo(f"    {hit.headline}")
        click.echo("")
    if not hits:
        click.echo("no matching articles", err=True)
