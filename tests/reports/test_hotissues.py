"""Hot issues on small hand-made sets: grouping by topic and place, and the 热度 index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reports.hotissues import Doc, HotIssueFinder, district_of

NOW = datetime(2026, 5, 10, 12, tzinfo=UTC)
WEEK = timedelta(days=7)


def _docs() -> list[Doc]:
    water = ["龙华区金盘路幸福小区停水两天了没人管", "龙华区金盘路幸福小区又停水了", "幸福小区停水好几天，龙华区金盘路",
             "龙华区金盘路幸福小区停水严重影响生活", "龙华区金盘路幸福小区自来水停水"]
    lamps = ["美兰区白龙街道路灯坏了晚上很黑", "美兰区白龙街道的路灯不亮", "美兰区白龙街道路灯坏了好几天"]
    other = ["公司拖欠工资三个月", "孩子入学积分怎么算", "公交车司机态度差", "医院挂号难"]
    docs = [Doc(id=f"W{i}", text=t, at=NOW - timedelta(hours=2 + i)) for i, t in enumerate(water)]
    docs += [Doc(id=f"L{i}", text=t, at=NOW - timedelta(days=5, hours=i)) for i, t in enumerate(lamps)]
    docs += [Doc(id=f"O{i}", text=t, at=NOW - timedelta(days=i)) for i, t in enumerate(other)]
    return docs


def test_groups_by_topic_and_place_and_ranks_by_heat() -> None:
    issues = HotIssueFinder().find(_docs(), now=NOW, window=WEEK)
    assert [sorted(h.members) for h in issues] == [[f"W{i}" for i in range(5)], ["L0", "L1", "L2"]]
    water, lamps = issues
    assert water.rank == 1 and water.district == "龙华区" and "停水" in water.terms
    assert lamps.district == "美兰区" and "路灯" in lamps.terms
    assert water.heat > lamps.heat and water.growth > 1 > lamps.growth and water.recency > lamps.recency
    assert len(water.examples) == 3 and all(e.id.startswith("W") for e in water.examples)
    assert water.as_json()["label"].startswith("龙华区")


def test_different_districts_never_share_a_group() -> None:
    docs = [Doc(id="a", text="龙华区停水了", at=NOW), Doc(id="b", text="美兰区停水了", at=NOW),
            Doc(id="c", text="龙华区停水了很久", at=NOW)]
    grouping = HotIssueFinder().group(docs)
    labels = dict(zip([d.id for d in grouping.docs], grouping.labels.tolist(), strict=True))
    assert labels["a"] == labels["c"] != labels["b"]


def test_support_raises_heat_and_old_texts_are_outside_the_window() -> None:
    base = [Doc(id=f"x{i}", text="秀英区某小区门口垃圾站臭气熏天", at=NOW - timedelta(days=1)) for i in range(2)]
    liked = [Doc(id=f"y{i}", text="秀英区某小区门口垃圾站臭气熏天", at=NOW - timedelta(days=1), support=300)
             for i in range(2)]
    finder = HotIssueFinder()
    plain = finder.find(base, now=NOW, window=WEEK)[0].heat
    assert finder.find(liked, now=NOW, window=WEEK)[0].heat > plain
    old = [Doc(id=f"z{i}", text="秀英区垃圾站", at=NOW - timedelta(days=30)) for i in range(3)]
    assert finder.find(old, now=NOW, window=WEEK) == []


def test_district_of() -> None:
    assert district_of("龙华区金盘路18号") == "龙华区"
    assert district_of("A市A3区联丰路") == "A3区"
    assert district_of("我们小区门口") == "" and district_of("社区医院") == ""
    assert district_of("") == ""
