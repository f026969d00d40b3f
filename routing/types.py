"""Request type (咨询 求助 投诉 举报 建议 表扬): cue rules blended with a small character n-gram
model trained on handwritten example requests (routing/catalog/type_examples.csv, our own words).

No labelled data exists for request types. Rules alone scored 0.60 on fresh handwritten requests
(they fit the phrasings they were written from); the n-gram model generalises better, and the rules
keep explicit cues ('我要举报', '建议', '表扬') decisive. tests/routing/type_cases.csv, written after
this design was frozen and never used for training, measures the blend.
"""

from __future__ import annotations

import csv
import logging
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from routing.emergency import emergency_of

log = logging.getLogger(__name__)

TYPE_EXAMPLES_FILE = Path(__file__).resolve().parent / "catalog" / "type_examples.csv"
_RULE_WEIGHT = 0.5  # rule scores are added to the model's log-probabilities (chosen on held-out sets)
_TYPE_CHARS = 300  # callers say what they want early; long written details bury it in narrative

TYPES: tuple[str, ...] = ("咨询", "求助", "投诉", "举报", "建议", "表扬")
DEFAULT_TYPE = "投诉"  # most calls report a problem; an operator corrects the rest

# (pattern, weight) per type. Weights: 3 = the caller names the type, 2 = a strong cue, 1 = a hint.
_TYPE_RULES: dict[str, tuple[tuple[str, float], ...]] = {
    "咨询": (
        (r"咨询|请问|问一下|问下|问问|想问|想了解|想知道|了解一下|告诉我", 2.5),
        (r"怎么(办理|申请|报名|补办|提取|领|交|缴|查|备案|弄)|如何(办理|申请)|在哪(里|儿)?(办|交|领|申请)", 2.0),
        (r"需要(带)?(什么|哪些)(材料|手续|证件|条件)|什么条件|有什么条件|(什么|哪些)手续|流程(是|怎么)", 1.5),
        # Question forms: A-not-A (限不限行, 有没有), a trailing 不/没 (能考驾照不), alternatives (归A还是归B).
        (r"(.)[不没]\1|[不没有][？?]?$|还是", 1.5),
        (r"是否|可以吗|能否|吗[？?]?$|呢[？?]?$|多少|什么时候|几点|哪(个|一|种|些)|属于哪|去哪|在哪|哪里|"
         r"多久|多长时间|怎么", 1.0),
        (r"政策|规定|标准是", 0.5),
    ),
    "求助": (
        (r"求助|求救|求求|救助|请求帮助|帮帮(我|忙)|帮我|帮忙", 2.5),
        (r"困难|没钱|凑不齐|无家可归|没地方住|不敢住|走丢|回不了|找不到(家|人|孩子|老人)|被困|困在|卡在|受不了|"
         r"养不活|过不下去|(吃饭|看病|治病)的钱|不知道(该)?(找谁|怎么办)", 1.5),
        (r"急需|尽快(恢复|派人|来)|请派人|派人来|救救|怎么办$|瘫痪|生病|重病|残疾|自闭症|欺负", 1.0),
        (r"停水|停电|断电|没水|没电|暖气不热|进水|堵了|漫出来|爆了|塌了|埋了|往下掉", 0.75),
        # Inability ("扶不动", "修不起", "关不上") and someone vulnerable: the caller needs a hand.
        (r"[扶搬抬换修回出进叫过走动关上养赶][不](动|了|去|醒|起|上|回去|下去)|没办法|请找人|找人来|被偷", 1.25),
        (r"一个人|老人|老两口|八十|七十|孩子(发烧|生病|被)|病人|发高烧|孤寡", 0.75),
    ),
    "投诉": (
        # "上次/之前反映的问题" refers to an earlier complaint, not a new one.
        (r"(?<![次前回])投诉", 2.5),
        (r"(?<![次前回])反映", 1.5),
        (r"拖欠|不发|不给(退|赔|办|换)|不退|退不出|乱收费|态度(特别|很|非常)?(差|恶劣|不好)|骂人|推来推去|不作为|"
         r"没人(管|修|处理|清理)|不理人|不管", 2.0),
        (r"太(吵|臭|贵|脏|乱|差|低|慢|高)|又贵|难吃|扰民|吵得|臭气|睡不着|坏了|不亮|坑坑洼洼|一直|好几天|好几次|"
         r"几个月|经常|老是|总是|拖了|还没|没修|涨|绕路|多收|出问题|弄漏|排了", 1.0),
        (r"不听|说了也|根本|严重|影响", 0.5),
        # Wrongdoing aimed at the caller is a complaint, even when it is against the rules.
        (r"给我|坑我|骗我|骗了我|我被(?!困)|我们被(?!困)|扣我", 1.0),
    ),
    "举报": (
        (r"举报|揭发|检举", 3.0),
        (r"违法|违规|非法|无证|没有(执照|手续|资质|资格|(生产|经营|营业)?许可证)|偷偷|私自|不是正规", 1.5),
        (r"贪污|受贿|行贿|优亲厚友|给了自己|关系户|私分|截留|克扣|吃空饷|挪用|收红包|公车|包过", 2.0),
        (r"黑作坊|地沟油|假(药|油|货|发票)|假账|冒领|童工|未成年人|传销|赌(场|博)|吸毒|高利贷|放贷|色情|不正经|"
         r"挂羊头|逃税|漏税|群租|超载|偷排|排污|直接排|排到|排进|倒垃圾|烧电线|电鱼|盗伐|砍树|采砂|违章搭建|违建|"
         r"基本农田|过期的药|重新贴|老鼠", 1.5),
        (r"发现有人|有人(在|把)|有辆|有个|有几个人|有家|某个|某某|我怀疑", 0.75),
    ),
    "建议": (
        (r"建议|提议|提个(意见|想法)|有个想法|呼吁", 3.0),
        (r"希望(能|可以|政府|在|把|多|增)?.{0,8}"
         r"(增设|增加|开通|设置|修建|建|安装|延长|改成|改为|多放|多设|错开|开个|加)", 2.0),
        (r"希望(?!.{0,6}(尽快|赶紧|早日|有关部门|相关部门|政府部门))", 1.0),
        (r"能否考虑|可以考虑|可否|是否可以|应该(增加|多|搞|建|设)|最好(能)?|就好了|(要是|如果).{1,16}就", 1.5),
        (r"(能不能|可不可以|可以|应该).{0,6}(多|都|再|增|加|开|装|延|晚|早|改|设|修|划|组织|统一|搬|调整)", 1.75),
        (r"我觉得|我认为|个人认为|以后", 1.0),
    ),
    "表扬": (
        (r"表扬|点(个)?赞|锦旗|称赞|赞扬|好评", 3.0),
        (r"感谢|感激|谢谢|谢他|谢你", 2.0),
        (r"满意|解决了|处理了|修好了|办好了|办完了|回音|及时|很快|也快|很好|负责|耐心|主动送回|救回来|救了|多了", 1.0),
        (r"特别好|非常好|暖心|感动|热情|贴心|(很|特别|非常)方便|高兴|干干净净|给力|辛苦|有耐心|用心|漂亮|"
         r"喜欢|效率很高", 2.0),
    ),
}

_COMPILED = {t: tuple((re.compile(p), w) for p, w in rules) for t, rules in _TYPE_RULES.items()}

# Politeness, not praise: "麻烦处理一下，谢谢" ends many requests.
_TRAILING_THANKS = re.compile(r"[，,。\s]*(谢谢|谢谢你们|谢谢了|谢谢啊)[！!。\s]*$")
_GRATITUDE = re.compile(r"感谢|感激|谢谢|谢他|表扬|点(个)?赞|锦旗|有耐心|很负责|特别好|暖心|感动|用心")
_GOOD_OUTCOME = re.compile(
    r"解决了|处理了|修好了|办好了|办完了|回音|及时|很快|也快|帮(了)?(我|我们)|(找|救|送|讨|追)(回|到)|救了|负责|"
    r"耐心|满意|多了|等了|背着|用心|看望|来看"
)


def rule_scores(text: str) -> dict[str, float]:
    """Cue-rule score per type (0 = no cue; 3 = the caller names the type)."""
    body = text.strip()
    grateful = bool(_GRATITUDE.search(body))
    stripped = _TRAILING_THANKS.sub("", body)
    if stripped:
        body = stripped
    scores = {t: sum(w for rx, w in rules if rx.search(body)) for t, rules in _COMPILED.items()}
    scores[DEFAULT_TYPE] += 0.5  # the default when nothing else speaks
    # Gratitude for something already done is praise, even when it recalls the problem or the help.
    if grateful and _GOOD_OUTCOME.search(body):
        scores["表扬"] += 1.5
        scores["投诉"] *= 0.5
        scores["求助"] *= 0.5
    return scores


@dataclass(frozen=True)
class _NgramModel:
    """A fitted TF-IDF + logistic regression, scored by hand: sklearn's per-call validation costs ~1 ms,
    more than the arithmetic for one request."""

    analyzer: Callable[[str], list[str]]
    vocabulary: dict[str, int]
    idf: np.ndarray
    coef: np.ndarray  # (types, features)
    intercept: np.ndarray
    classes: tuple[str, ...]

    def log_proba(self, text: str) -> dict[str, float]:
        counts = Counter(g for g in self.analyzer(text) if g in self.vocabulary)
        logits = self.intercept.copy()
        if counts:
            cols = np.fromiter((self.vocabulary[g] for g in counts), dtype=np.int64, count=len(counts))
            values = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64))) * self.idf[cols]
            logits += self.coef[:, cols] @ (values / np.linalg.norm(values))
        logits -= logits.max()
        logp = logits - np.log(np.exp(logits).sum())
        return dict(zip(self.classes, logp.tolist(), strict=True))


class TypeClassifier:
    """Rules + character 1-2-gram logistic regression, fitted on first use (~0.1 s).

    `learned` are operators' decisions (text, type, weight) from routing.corrections: they join the
    shipped examples with their weight, so a corrected phrasing moves the model towards the operator."""

    def __init__(
        self, examples_file: Path = TYPE_EXAMPLES_FILE, learned: Sequence[tuple[str, str, float]] = ()
    ) -> None:
        self._examples_file = examples_file
        self._learned = [(t, k, w) for t, k, w in learned if k in TYPES and t.strip() and w > 0]
        self._model: _NgramModel | None = None
        self._unavailable = False

    def _fitted(self) -> _NgramModel | None:
        if self._model is None and not self._unavailable:
            try:
                with self._examples_file.open(encoding="utf-8", newline="") as f:
                    rows = [(r["text"], r["type"], 1.0) for r in csv.DictReader(f) if r.get("type") in TYPES]
            except (OSError, KeyError) as e:
                log.warning("type examples unavailable (%s); using cue rules only", e)
                rows = []
            rows += [(t[:_TYPE_CHARS], k, w) for t, k, w in self._learned]
            if len({k for _, k, _ in rows}) < 2:
                self._unavailable = True
                return None
            # Imported here: ivr_flows imports emergency_of from this module and should stay light.
            from sklearn.feature_extraction.text import TfidfVectorizer
            from sklearn.linear_model import LogisticRegression

            vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True)
            x = vec.fit_transform([t for t, _, _ in rows])
            lr = LogisticRegression(C=10.0, max_iter=3000).fit(
                x, [label for _, label, _ in rows], sample_weight=[w for _, _, w in rows]
            )
            coef, intercept = lr.coef_, lr.intercept_
            if coef.shape[0] == 1:  # two types only (no shipped examples): logits [0, w.x + b]
                coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], intercept])
            self._model = _NgramModel(
                analyzer=vec.build_analyzer(),
                vocabulary=dict(vec.vocabulary_),
                idf=vec.idf_,
                coef=coef,
                intercept=intercept,
                classes=tuple(lr.classes_),
            )
        return self._model

    def scores(self, text: str) -> dict[str, float]:
        text = text[:_TYPE_CHARS]
        rules = rule_scores(text)
        model = self._fitted()
        if model is None:
            return rules
        logp = model.log_proba(text)
        return {t: logp.get(t, -20.0) + _RULE_WEIGHT * rules[t] for t in TYPES}

    def classify(self, text: str) -> tuple[str, float]:
        """The request type and a confidence in [0, 1] (softmax over the blended scores)."""
        scores = self.scores(text)
        best = max(TYPES, key=lambda t: (scores[t], t == DEFAULT_TYPE))
        values = np.array([scores[t] for t in TYPES])
        probs = np.exp(values - values.max())
        return best, round(float(probs[TYPES.index(best)] / probs.sum()), 3)


__all__ = ["DEFAULT_TYPE", "TYPES", "TypeClassifier", "emergency_of", "rule_scores"]
