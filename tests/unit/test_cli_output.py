"""Text from the chain is shown literally: never as Rich markup, never with control characters."""

from __future__ import annotations

from rich.console import Console

from fedfabric.cli.common import safe, table


def render(renderable) -> str:
    console = Console(record=True, width=200, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_chain_text_in_a_table_is_literal():
    out = render(table("datasets", ["id", "name"], [["d1", "x [/]"],
                                                    ["d2", "[green]VERIFIED[/green]"],
                                                    ["d3", "bell\x07 and \x1b[31mred"]]))
    assert "x [/]" in out and "[green]VERIFIED[/green]" in out
    assert "\x07" not in out and "\x1b" not in out


def test_chain_text_interpolated_into_markup_is_literal():
    out = render(f"name: {safe('[bold red]fake[/bold red] [/]')}")
    assert "[bold red]fake[/bold red] [/]" in out
