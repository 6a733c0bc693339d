"""The project's legal lexicons: statutory charges, apps and platforms, and institution patterns.

Data lives in ``resources/lexicons/`` as plain text a lawyer can review (``charges.txt``,
``apps.txt``); this module parses it once and exposes immutable entries and lookup tables.
It also holds the surface patterns of courts, procuratorates, case numbers and law citations,
because those are knowledge about how judgments are written, not about any one rule.

Left out: matching charge *selections* (贩卖毒品罪 within 走私、贩卖、运输、制造毒品罪) and the
parsing of numbers, dates and penalties, which are in ``normalize/``; finding spans in
running text, which is ``prelabel.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

LEXICON_DIR = Path(__file__).resolve().parents[1] / "resources" / "lexicons"


@dataclass(frozen=True)
class ChargeEntry:
    """One statutory charge: its canonical name, where it sits in the Criminal Law, other names."""

    name: str
    chapter: str
    aliases: tuple[str, ...] = ()
    # Former statutory names and the day each stopped being one (ISO date): 生产、销售假药罪 until 2021-03-01.
    former: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class AppEntry:
    """One app or platform: canonical name, kind, aliases, and which surfaces need app context."""

    name: str
    kind: str
    aliases: tuple[str, ...] = ()
    ambiguous: frozenset[str] = frozenset()

    @property
    def surfaces(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


def _parse_line(line: str) -> tuple[str, list[str]]:
    head, _, rest = line.partition("=")
    aliases = [a.strip() for a in rest.split("|") if a.strip()] if rest else []
    return head.strip(), aliases


@lru_cache(maxsize=None)
def load_charges(path: Path = LEXICON_DIR / "charges.txt") -> tuple[ChargeEntry, ...]:
    """Parse the charge lexicon; raise ``ValueError`` on a duplicate name or alias.

    >>> next(c for c in load_charges() if c.name == "强制猥亵、侮辱罪").aliases[0]
    '强制猥亵、侮辱妇女罪'
    """
    entries: list[ChargeEntry] = []
    seen: dict[str, str] = {}
    chapter = ""
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if line.startswith("##"):
            chapter = line.lstrip("#").strip()
            continue
        if not line or line.startswith("#"):
            continue
        name, aliases = _parse_line(line)
        former = tuple((a.partition("@")[0], a.partition("@")[2]) for a in aliases if "@" in a)
        aliases = [a.partition("@")[0] for a in aliases]
        for surface in (name, *aliases):
            if not surface.endswith("罪"):
                raise ValueError(f"{path}:{lineno}: charge {surface!r} must end in 罪")
            if surface in seen:
                raise ValueError(f"{path}:{lineno}: {surface!r} already listed under {seen[surface]!r}")
            seen[surface] = name
        entries.append(ChargeEntry(name, chapter, tuple(aliases), former))
    return tuple(entries)


@lru_cache(maxsize=None)
def charge_index() -> dict[str, str]:
    """Every canonical name and alias → canonical name (exact surfaces only)."""
    index: dict[str, str] = {}
    for entry in load_charges():
        index[entry.name] = entry.name
        for alias in entry.aliases:
            index[alias] = entry.name
    return index


@lru_cache(maxsize=None)
def load_apps(path: Path = LEXICON_DIR / "apps.txt") -> tuple[AppEntry, ...]:
    """Parse the app lexicon; a trailing ``!`` marks a surface that needs app context.

    >>> next(a for a in load_apps() if a.name == "美团").aliases[0]
    '美团外卖'
    """
    entries: list[AppEntry] = []
    seen: dict[str, str] = {}
    kind = ""
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if line.startswith("##"):
            kind = line.lstrip("#").split()[0]
            continue
        if not line or line.startswith("#"):
            continue
        name, aliases = _parse_line(line)
        surfaces = [name, *aliases]
        ambiguous = frozenset(s.rstrip("!") for s in surfaces if s.endswith("!"))
        surfaces = [s.rstrip("!") for s in surfaces]
        for s in surfaces:
            if s in seen:
                raise ValueError(f"{path}:{lineno}: app surface {s!r} already listed under {seen[s]!r}")
            seen[s] = surfaces[0]
        entries.append(AppEntry(surfaces[0], kind, tuple(surfaces[1:]), ambiguous))
    return tuple(entries)


@lru_cache(maxsize=None)
def app_index() -> dict[str, tuple[str, bool]]:
    """Every app surface → (canonical name, needs app context)."""
    return {s: (e.name, s in e.ambiguous) for e in load_apps() for s in e.surfaces}


# --- Institutions -----------------------------------------------------------------------------

PROVINCES: tuple[str, ...] = (
    "北京市", "天津市", "上海市", "重庆市", "河北省", "山西省", "辽宁省", "吉林省", "黑龙江省",
    "江苏省", "浙江省", "安徽省", "福建省", "江西省", "山东省", "河南省", "湖北省", "湖南省",
    "广东省", "海南省", "四川省", "贵州省", "云南省", "陕西省", "甘肃省", "青海省", "台湾省",
    "内蒙古自治区", "广西壮族自治区", "西藏自治区", "宁夏回族自治区", "新疆维吾尔自治区",
    "香港特别行政区", "澳门特别行政区",
)
"""Province-level units: a court or procuratorate name never starts left of one of these."""

PROVINCE_ABBREVIATIONS = "京津沪渝冀晋辽吉黑苏浙皖闽赣鲁豫鄂湘粤琼川贵黔云滇陕秦甘陇青藏桂蒙宁新兵"
"""One-character province abbreviations that open court codes (沪0120) and document numbers."""

# Administrative suffixes, longest first so 自治州 wins over 州-less readings.
ADMIN_SUFFIXES: tuple[str, ...] = (
    "特别行政区", "自治区", "自治州", "自治县", "自治旗", "地区", "林区", "矿区", "新区", "开发区", "兵团",
    "实验区", "示范区", "高新区", "园区",
    "省", "市", "县", "区", "旗", "盟",
)

COURT_TAIL = re.compile(
    r"(?:第[一二三四五六七八九十]+)?(?:中级|高级)?人民法院"
    r"|铁路运输(?:中级)?法院|海事法院|知识产权法院|互联网法院|金融法院|(?:林区|农垦)?(?:中级)?法院"
)
"""What a court name ends with; the place part before it is read right to left (see prelabel)."""

PROCURATORATE_TAIL = re.compile(
    r"(?:人民检察院|铁路运输检察院|检察院)(?:第[一二三四五六七八九十]+分院|[\u4e00-\u9fff]{2,4}分院)?"
)

CASE_NO_COURT = re.compile(
    r"[（(〔［\[【﹝]\s*(?P<year>(?:19|20)\d{2})\s*[）)〕］\]】﹞]\s*"
    r"(?P<code>(?:最高法|[" + PROVINCE_ABBREVIATIONS + r"]?\d{0,4}|[\u4e00-\u9fff]{1,3}))"
    r"(?P<proc>(?:刑|民|行|执|赔|司|委赔|法赔|国赔|财保|执保|认|请|协)[\u4e00-\u9fff]{1,3}?)"
    r"(?:字)?(?:第)?(?P<serial>\d+)号"
)
"""A court case number: （2017）沪0120刑初684号, (2012)杭西刑初字第286号, （2019）京01刑终12号."""

CASE_NO_PROCURATORATE = re.compile(
    r"(?P<issuer>[\u4e00-\u9fff]{0,8}检[\u4e00-\u9fff]{0,10}?)\s*"
    r"[（(〔［\[【﹝]\s*(?P<year>(?:19|20)\d{2})\s*[）)〕］\]】﹞]\s*(?:第)?(?P<serial>[A-Za-z]?\d+)号"
)
"""A procuratorate document number: 沪闵检诉刑诉［2019］517号 (the issuer's left edge needs trimming)."""

CN_DIGITS = "零〇○Ｏ0一二两三四五六七八九十百千"

LAW_NAME = re.compile(r"《[^《》\n]{2,60}?(?:法|条例|规定|解释|决定|办法|意见|纪要|通知|批复|规则)[^《》\n]{0,10}》")
"""A law or judicial interpretation in title marks: 《中华人民共和国刑法》."""

LAW_ARTICLE = re.compile(
    r"第[" + CN_DIGITS + r"]+条(?:之[一二三四五六七八九十]+)?"
    r"(?:第[" + CN_DIGITS + r"]+款)?(?:第?[（(][" + CN_DIGITS + r"]+[）)]项|第[" + CN_DIGITS + r"]+项)*"
)
"""One article reference: 第二百五十三条之一第一款第（四）项."""

LAW_ARTICLE_CONT = re.compile(
    r"(?:第[" + CN_DIGITS + r"]+款(?:第?[（(][" + CN_DIGITS + r"]+[）)]项|第[" + CN_DIGITS + r"]+项)*"
    r"|第?[（(][" + CN_DIGITS + r"]+[）)]项|第[" + CN_DIGITS + r"]+项)"
)
"""A paragraph or item continuing the previous article: 、第三款 / 、第（五）项."""
