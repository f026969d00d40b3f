"""The report as one self-contained HTML page (inline CSS and SVG, no script, no network), and as
PDF printed by headless Chromium from that page."""

from __future__ import annotations

import logging
import subprocess
import tempfile
from html import escape
from pathlib import Path

from foundation.errors import DomainError
from reports.charts import bar_chart, line_chart
from reports.indicators import Indicators, Mean, Rate
from reports.periods import SHANGHAI
from reports.report import ReportData

log = logging.getLogger(__name__)

CSS = """
body{font-family:"WenQuanYi Micro Hei","Noto Sans CJK SC",sans-serif;margin:24px;color:#222;max-width:1000px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;border-bottom:2px solid #1f6fb2;padding-bottom:3px;margin-top:26px}
.sub{color:#666;font-size:12px}
.tiles{display:flex;flex-wrap:wrap;gap:8px}
.tile{border:1px solid #ccd;border-radius:6px;padding:8px 10px;width:140px}
.tile .k{font-size:12px;color:#555} .tile .v{font-size:20px;font-weight:bold} .tile .d{font-size:11px;color:#777}
table{border-collapse:collapse;font-size:12px;width:100%} th,td{border:1px solid #ccd;padding:3px 5px;text-align:right}
th{background:#eef3f8} td.l,th.l{text-align:left}
.ex{color:#555;font-size:11px} .alert{color:#a00}
@media print{body{margin:8mm} h2{break-after:avoid} .chart,table{break-inside:avoid}}
"""


def _pct(r: Rate | None) -> str:
    v = None if r is None else r.value
    return "—" if v is None else f"{v * 100:.1f}%"


def _mean(m: Mean, unit: str) -> str:
    return "—" if m.value is None else f"{m.value:.1f}{unit}"


def _delta(now: Rate | None, before: Rate | None) -> str:
    a, b = (None if now is None else now.value), (None if before is None else before.value)
    if a is None or b is None:
        return "上期 —" if b is None else f"上期 {b * 100:.1f}%"
    return f"较上期 {'+' if a >= b else ''}{(a - b) * 100:.1f} 个百分点"


def _tiles(o: Indicators, p: Indicators) -> str:
    tiles = [
        ("接通率", _pct(o.answer_rate), _delta(o.answer_rate, p.answer_rate)
         + (f" · 呼入 {o.calls.offered}" if o.calls else "")),
        ("受理量", str(o.accepted), f"上期 {p.accepted}"),
        ("办结率", _pct(o.completion_rate), _delta(o.completion_rate, p.completion_rate)),
        ("及时率", _pct(o.on_time_rate), _delta(o.on_time_rate, p.on_time_rate)),
        ("满意率", _pct(o.satisfaction_rate), f"回访答复 {o.satisfaction_rate.denominator} 件"),
        ("回访率", _pct(o.callback_rate), f"无法联系 {o.unreachable} 件"),
        ("平均签收时长", _mean(o.avg_sign_minutes, " 分"), f"{o.avg_sign_minutes.count} 次签收"),
        ("平均办理时长", _mean(o.avg_resolve_hours, " 时"), f"{o.avg_resolve_hours.count} 件反馈"),
        ("退单率", _pct(o.return_rate), f"退单 {o.return_rate.numerator} / 派单 {o.return_rate.denominator}"),
        ("延期", str(o.extensions), f"申请 {o.extension_requests}"),
        ("督办", str(o.supervised), "件"),
    ]
    return '<div class="tiles">' + "".join(
        f'<div class="tile"><div class="k">{escape(k)}</div><div class="v">{escape(v)}</div>'
        f'<div class="d">{escape(d)}</div></div>' for k, v, d in tiles) + "</div>"


def _league(data: ReportData) -> str:
    head = ("部门", "受理", "办结率", "及时率", "满意率", "回访率", "平均签收(分)", "平均办理(时)", "退单率",
            "延期", "督办")
    rows = []
    for i, d in enumerate(data.league(), start=1):
        cells = (f"{i}. {d.department_name}", str(d.accepted), _pct(d.completion_rate), _pct(d.on_time_rate),
                 _pct(d.satisfaction_rate), _pct(d.callback_rate), _mean(d.avg_sign_minutes, ""),
                 _mean(d.avg_resolve_hours, ""), _pct(d.return_rate), str(d.extensions), str(d.supervised))
        rows.append("<tr>" + "".join(f'<td{" class=l" if j == 0 else ""}>{escape(c)}</td>'
                                     for j, c in enumerate(cells)) + "</tr>")
    if not rows:
        rows.append(f'<tr><td class=l colspan="{len(head)}">本期无部门数据</td></tr>')
    return ("<table><tr>" + "".join(f'<th{" class=l" if j == 0 else ""}>{escape(h)}</th>'
                                     for j, h in enumerate(head)) + "</tr>" + "".join(rows) + "</table>")


def _hot(data: ReportData) -> str:
    if not data.hot_issues:
        return "<p>本期未发现热点问题（同一问题至少 2 件）。</p>"
    rows = []
    for h in data.hot_issues:
        examples = "<br>".join(f"{escape(e.id)} {escape(e.display)}" for e in h.examples)
        rows.append(f"<tr><td>{h.rank}</td><td class=l>{escape(h.label)}<div class=ex>{examples}</div></td>"
                    f"<td>{h.volume}</td><td>{h.growth:.1f}</td><td>{h.heat:.2f}</td></tr>")
    return ("<table><tr><th>#</th><th class=l>问题（地点 · 关键词）与示例工单</th><th>件数</th><th>增长</th>"
            "<th>热度</th></tr>" + "".join(rows) + "</table>")


def render_html(data: ReportData) -> str:
    o, period = data.indicators.overall, data.period
    labels = [p.label for p in data.trend]
    trend = line_chart(labels, [("受理", [float(p.accepted) for p in data.trend]),
                                ("办结", [float(p.closed) for p in data.trend])], title="受理与办结趋势")
    answer = line_chart(labels, [("接通率", [p.answer_rate for p in data.trend])], percent=True, title="接通率趋势")
    league_bars = bar_chart([(d.department_name, d.on_time_rate.value or 0.0) for d in data.league()][:15],
                            percent=True, title="各部门及时率")
    cats = bar_chart([(c, float(n)) for c, n in data.categories[:12]], title="诉求分类（件）")
    types = bar_chart([(t, float(n)) for t, n in data.types], title="诉求类型（件）")
    alerts = "".join(f'<li class="alert">{escape(a.first_seen_at.astimezone(SHANGHAI).strftime("%m-%d %H:%M"))} '
                     f"{escape(a.message)}</li>" for a in data.alerts) or "<li>本期无预警</li>"
    b = data.backlog
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(period.title)}</title><style>{CSS}</style></head>
<body>
<h1>{escape(period.title)}</h1>
<div class="sub">统计区间 {escape(period.first_day.isoformat())} 至 {escape(period.last_day.isoformat())}（北京时间）·
生成于 {escape(data.now.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M"))} ·
在办 {b["open"]} 件，其中超期 {b["overdue"]} 件、督办中 {b["supervised_open"]} 件</div>
<h2>核心指标</h2>
{_tiles(o, data.previous)}
<h2>趋势</h2>
{trend}
{answer}
<h2>部门排名</h2>
{league_bars}
{_league(data)}
<h2>分类统计</h2>
{cats}
{types}
<h2>热点问题</h2>
{_hot(data)}
<h2>预警</h2>
<ul>{alerts}</ul>
<p class="sub">口径：接通率=接通/呼入（Asterisk 话单，含放弃呼叫）；办结率=本期受理且已办结/本期受理；
及时率=本期到期且已定论的工单中按期反馈的比例；满意率=(满意+基本满意)/回访答复；回访率=本期办结中已回访的比例；
退单率=退单/派单。并单的重复件不计。详见 reports/indicators.py。</p>
</body></html>
"""


class PdfFailed(DomainError):
    error_id = "reports.pdf_failed"
    http_status = 500


def chromium_args(chromium: str, html: Path, pdf: Path, profile: Path) -> list[str]:
    return [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={profile}", "--no-pdf-header-footer", f"--print-to-pdf={pdf}", html.resolve().as_uri()]


def render_pdf(html: Path, pdf: Path, *, chromium: str = "/usr/bin/chromium", timeout_s: float = 120) -> Path:
    """Print `html` to `pdf` with headless Chromium (an argument list, a throwaway profile)."""
    with tempfile.TemporaryDirectory(prefix="hotline-chromium-") as profile:
        try:
            res = subprocess.run(chromium_args(chromium, html, pdf, Path(profile)), capture_output=True,
                                 timeout=timeout_s, check=False)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise PdfFailed(f"chromium could not print {html}: {e}", chromium=chromium) from e
    if res.returncode != 0 or not pdf.exists() or pdf.stat().st_size == 0:
        tail = res.stderr.decode(errors="replace")[-500:]
        raise PdfFailed(f"chromium exited with {res.returncode} and no PDF: {tail}", chromium=chromium)
    return pdf


def write_report(data: ReportData, out_dir: Path, *, chromium: str = "/usr/bin/chromium",
                 pdf: bool = True) -> tuple[Path, Path | None]:
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path = out_dir / "report.html"
    html_path.write_text(render_html(data), encoding="utf-8")
    pdf_path = render_pdf(html_path, out_dir / "report.pdf", chromium=chromium) if pdf else None
    return html_path, pdf_path
