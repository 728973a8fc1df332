"""Property tests: any valid FOCUS rows ingest with exact money and intact tags; re-ingest is a no-op."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costline.workspace import Workspace
from tests.focus_files import focus_row, write_focus_csv

money = st.decimals(
    min_value=Decimal("-1e12"),
    max_value=Decimal("1e12"),
    places=10,
    allow_nan=False,
    allow_infinity=False,
)
tag_key = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12
).filter(lambda k: bool(k.strip()))
tag_value = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20)
rows = st.lists(
    st.tuples(
        money,
        money,
        st.dictionaries(tag_key, tag_value, max_size=4),
        st.sampled_from(["111", "222"]),
    ),
    min_size=1,
    max_size=25,
)


def _trimmed_first_wins(tags: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in tags.items():
        out.setdefault(key.strip(), value)
    return out


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=rows)
def test_any_valid_rows_ingest_exactly(tmp_path_factory, data) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("prop")
    ws = Workspace.init(root / "ws")
    export = write_focus_csv(
        root / "sep.csv",
        [
            focus_row(
                BilledCost=str(b), EffectiveCost=str(e), Tags=json.dumps(t), BillingAccountId=a
            )
            for b, e, t, a in data
        ],
    )
    report = ws.ingest([export])
    assert [o.status for o in report.outcomes] == ["loaded"]
    got = ws.query("select sum(BilledCost), sum(EffectiveCost), count(*) from cost").rows[0]
    assert got == (sum(b for b, *_ in data), sum(e for _, e, *_ in data), len(data))
    per_account = dict(
        ws.query("select BillingAccountId, sum(BilledCost) from cost group by 1").rows
    )
    for acct in {a for *_, a in data}:
        assert per_account[acct] == sum(b for b, _, _, a in data if a == acct)
    stored = ws.query("select Tags from cost").rows
    assert sorted(json.dumps(dict(r[0]), sort_keys=True) for r in stored) == sorted(
        json.dumps(_trimmed_first_wins(t), sort_keys=True) for _, _, t, _ in data
    )
    before = ws.query("select * from cost order by all").rows
    assert [o.status for o in ws.ingest([export]).outcomes] == ["unchanged"]
    assert ws.query("select * from cost order by all").rows == before


def test_tags_with_keys_that_clash_after_trimming(workspace: Workspace, tmp_path: Path) -> None:
    export = write_focus_csv(tmp_path / "t.csv", [focus_row(Tags='{" org": "a", "org": "b"}')])
    assert [o.status for o in workspace.ingest([export]).outcomes] == ["loaded"]
    assert workspace.query("select Tags from cost").rows[0][0] == {"org": "a"}
