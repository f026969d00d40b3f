"""Training, saving, loading, evaluating; the CLI functions and their errors."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest

from routing.catalog import Catalog
from routing.classify import Router
from routing.cli import accuracy_macro_f1, cmd_classify, cmd_eval, cmd_train
from routing.data import DataError, read_labelled_csv
from routing.features import FeatureConfig
from routing.model import CategoryModel, ModelError
from routing.train import TrainConfig, load_model, save_model, train
from tests.routing.conftest import read_split, toy_rows

SMALL = TrainConfig(features=FeatureConfig(bits=(16, 15, 15)))  # small files for fast tests


def write_csv(path: Path, texts: list[str], labels: list[str], cols: tuple[str, str] = ("text", "label")) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        w.writerows(zip(texts, labels, strict=True))
    return path


@pytest.fixture(scope="module")
def toy_model() -> CategoryModel:
    return train(*toy_rows(), SMALL)


def test_toy_model_learns_its_training_data(toy_model: CategoryModel) -> None:
    texts, labels = toy_rows()
    assert toy_model.classes == ["劳动和社会保障", "城乡建设", "环境保护"]
    assert np.mean(np.array(toy_model.predict(texts)) == np.array(labels)) >= 0.9
    assert toy_model.predict(["老板拖欠工资不给"]) == ["劳动和社会保障"]
    p = toy_model.predict_proba(["小区路灯不亮"])
    assert p.shape == (1, 3) and abs(p.sum() - 1) < 1e-5
    assert toy_model.info["n_train"] == 30 and toy_model.info["cv_accuracy"] is not None


def test_save_load_round_trip(toy_model: CategoryModel, tmp_path: Path) -> None:
    path = tmp_path / "models" / "router.joblib"  # the directory is created
    save_model(toy_model, path)
    loaded = load_model(path)
    texts = ["工厂排污", "工资不发", "路灯坏了", "一段完全无关的话"]
    assert loaded.predict(texts) == toy_model.predict(texts)
    assert np.allclose(loaded.predict_proba(texts), toy_model.predict_proba(texts), atol=1e-5)


def test_router_uses_a_trained_model(toy_model: CategoryModel, tmp_path: Path, catalog: Catalog) -> None:
    path = tmp_path / "router.joblib"
    save_model(toy_model, path)
    router = Router.load(path, catalog)
    c = router.classify("化工厂晚上偷偷排放废水")
    assert c.source == "trained" and c.category == "环境保护" and c.departments[0].id == "eco_env"
    assert len(c.departments) == 3 and 0 < c.category_confidence <= 1
    assert Router.load(tmp_path / "absent.joblib", catalog).source == "keywords"


def test_department_labels_train_a_department_model(tmp_path: Path, catalog: Catalog) -> None:
    # Operators' dispatch corrections label requests with department ids.
    texts, labels = toy_rows()
    ids = {"城乡建设": "urban_mgmt", "劳动和社会保障": "hrss", "环境保护": "eco_env"}
    router = Router(catalog, train(texts, [ids[x] for x in labels], SMALL))
    c = router.classify("老板欠了三个月工钱")
    assert c.departments[0].id == "hrss" and c.category == "劳动和社会保障"


def test_binary_labels_and_tiny_data(tmp_path: Path) -> None:
    model = train(["路灯坏了", "工资不发", "路灯不亮", "欠薪"], ["a", "b", "a", "b"], SMALL)
    assert model.predict(["路灯坏了好久"]) == ["a"]
    with pytest.raises(ValueError, match="two distinct labels"):
        train(["a", "b"], ["x", "x"], SMALL)


def test_corrupt_or_foreign_model_file(tmp_path: Path, catalog: Catalog) -> None:
    bad = tmp_path / "bad.joblib"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="cannot read"):
        Router.load(bad, catalog)
    import joblib

    joblib.dump({"format": "something else"}, tmp_path / "other.joblib")
    with pytest.raises(ModelError, match="not a router model"):
        load_model(tmp_path / "other.joblib")


def test_cli_train_eval_classify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    texts, labels = toy_rows()
    data = write_csv(tmp_path / "train.csv", texts, labels, ("留言", "类别"))
    model = tmp_path / "m" / "router.joblib"
    assert cmd_train(data, "留言", "类别", model) == 0
    assert model.exists() and "model saved" in capsys.readouterr().out
    assert cmd_eval(data, "留言", "类别", model) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert re.fullmatch(r"accuracy=\d\.\d{3} macro_f1=\d\.\d{3}", out[-1])
    assert float(out[-1].split()[0].split("=")[1]) >= 0.9
    assert cmd_classify("公司拖欠工资三个月了", model, dialed_number="12333") == 0
    result = json.loads(capsys.readouterr().out)
    assert {"type", "category", "departments", "place", "summary", "emergency"} <= set(result)
    assert result["departments"][0]["id"] == "hrss" and len(result["departments"]) == 3
    assert set(result["departments"][0]) == {"id", "name", "confidence"}


def test_cli_eval_without_model_uses_keywords(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_csv(tmp_path / "d.csv", ["路灯坏了", "拖欠工资"], ["城乡建设", "劳动和社会保障"])
    assert cmd_eval(data, "text", "label", tmp_path / "none.joblib") == 0
    captured = capsys.readouterr()
    assert captured.out.strip().splitlines()[-1] == "accuracy=1.000 macro_f1=1.000"
    assert "keyword router" in captured.err


def test_cli_classify_prints_chinese_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert cmd_classify("我家厨房着火了", tmp_path / "none.joblib") == 0
    out = capsys.readouterr().out
    assert "着火" in out and "\\u" not in out  # ensure_ascii=False
    assert json.loads(out)["emergency"] == "fire"


@pytest.mark.parametrize(("content", "message"), [
    (None, "file not found"),
    ("text,label\n", "no rows"),
    ("words,label\n路灯坏了,城乡建设\n", "no column 'text' (columns: words, label)"),
    ("text,category\n路灯坏了,城乡建设\n", "no column 'label'"),
    ("text,label\n路灯坏了,城乡建设\n", "fewer than two distinct labels"),
])
def test_cli_errors_are_clear(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    path = tmp_path / "data.csv"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert cmd_train(path, "text", "label", tmp_path / "m.joblib") == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    if "fewer than" not in message:
        assert cmd_eval(path, "text", "label", tmp_path / "m.joblib") == 2
        assert message in capsys.readouterr().err


def test_cli_errors_on_bad_bytes_and_bad_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    latin = tmp_path / "gbk.csv"
    latin.write_bytes(b"text,label\n" + "路灯".encode("gbk") + b",x\n")
    assert cmd_train(latin, "text", "label", tmp_path / "m.joblib") == 2
    assert "not UTF-8" in capsys.readouterr().err
    data = write_csv(tmp_path / "d.csv", ["路灯坏了"], ["城乡建设"])
    bad = tmp_path / "bad.joblib"
    bad.write_bytes(b"junk")
    assert cmd_eval(data, "text", "label", bad) == 2
    assert cmd_classify("路灯坏了", bad) == 2
    assert "cannot read model file" in capsys.readouterr().err


def test_read_labelled_csv_skips_empty_rows(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", ["路灯坏了", "", "欠薪"], ["城乡建设", "x", ""])
    assert read_labelled_csv(path, "text", "label") == (["路灯坏了"], ["城乡建设"])
    with pytest.raises(DataError, match="is a directory"):
        read_labelled_csv(tmp_path, "text", "label")


def test_accuracy_macro_f1() -> None:
    acc, f1, per = accuracy_macro_f1(["a", "a", "b", "b"], ["a", "b", "b", "b"])
    assert acc == 0.75 and per["a"] == (2 / 3, 2) and per["b"] == (0.8, 2)
    assert abs(f1 - (2 / 3 + 0.8) / 2) < 1e-9


def test_training_on_a_subset_of_the_real_data() -> None:
    """A quick check that the full pipeline learns the real categories; the full run is bench/router.py."""
    texts, labels = read_split("titles9210_train")
    test_texts, test_labels = read_split("titles9210_test")
    model = train(texts[:2500], labels[:2500], TrainConfig(features=FeatureConfig(bits=(18, 17, 17))))
    acc, _, _ = accuracy_macro_f1(test_labels[:600], model.predict(test_texts[:600]))
    assert acc >= 0.75
    # Confidences mean what they say: over unseen texts the mean top probability is close to the accuracy,
    # and the confident half is right more often than the rest.
    top = model.predict_proba(test_texts[:600]).max(axis=1)
    assert abs(float(top.mean()) - acc) < 0.06
    right = np.array(model.predict(test_texts[:600])) == np.array(test_labels[:600])
    confident = top >= np.median(top)
    assert right[confident].mean() > right[~confident].mean() + 0.1
