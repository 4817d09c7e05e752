"""The HTML report as a file: self-contained, escaped, one copy button per SQL block."""

from __future__ import annotations

import re

from factories import make_model

from pgsage.analyzer.model.findings import Action, Category, Recommendation, Severity
from pgsage.analyzer.output.render import Format, render
from pgsage.analyzer.output.report import build


def _html() -> str:
    rec = Recommendation("IX002", Category.INDEX, Severity.MEDIUM,
                         'Drop duplicate index "a<b>" on orders', "why <script>alert(1)</script>",
                         action=Action(sql='DROP INDEX CONCURRENTLY "a<b>";',
                                       undo_sql='CREATE INDEX "a<b>" ON t (c);'))
    return render(build(make_model(), [rec], []), Format.HTML)


def test_the_page_loads_nothing_from_elsewhere() -> None:
    text = _html()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert "<link" not in text and "@import" not in text and "url(" not in text


def test_names_and_details_are_escaped() -> None:
    text = _html()
    assert "<script>alert(1)</script>" not in text
    assert "DROP INDEX CONCURRENTLY &quot;a&lt;b&gt;&quot;;" in text


def test_every_sql_block_has_a_copy_button() -> None:
    text = _html()
    assert text.count('class="copy"') == 2
    for target in re.findall(r'data-target="([\w-]+)"', text):
        assert f'id="{target}"' in text
