# SPDX-License-Identifier: BSD-2-Clause
"""min / median / max triples and their formatting."""
import math
import statistics


def mmm(values):
    """(min, median, max) of the values that are not None; None if none."""
    v = [x for x in values if x is not None]
    if not v:
        return None
    return (min(v), statistics.median(v), max(v))


def med(values):
    t = mmm(values)
    return t[1] if t else None


def fmt_num(x, digits=3):
    """A number with `digits` significant digits, no exponent below 1e7."""
    if x is None:
        return "–"
    if x == 0:
        return "0"
    ax = abs(x)
    if ax >= 10 ** digits or (ax >= 1 and float(x).is_integer()):
        return "%d" % round(x)
    decimals = max(0, digits - 1 - int(math.floor(math.log10(ax))))
    return "%.*f" % (decimals, x)


def fmt_mmm(t, digits=3, scale=1.0, suffix=""):
    """'median (min–max)'."""
    if t is None:
        return "–"
    lo, mid, hi = (x * scale for x in t)
    if lo == hi:
        return fmt_num(mid, digits) + suffix
    return "%s%s (%s–%s)" % (fmt_num(mid, digits), suffix, fmt_num(lo, digits),
                             fmt_num(hi, digits))


def fmt_count(t):
    """A triple of counts: integers, medians of an even number of runs
    rounded."""
    if t is None:
        return "–"
    lo, mid, hi = (int(round(x)) for x in t)
    if lo == hi:
        return str(mid)
    return "%d (%d–%d)" % (mid, lo, hi)


def fmt_pct_ratio(t):
    """A ratio triple as a signed percentage change: '+0.4% (−0.2…+1.1)'."""
    if t is None:
        return "–"
    lo, mid, hi = ((x - 1.0) * 100 for x in t)
    return "%+.1f%% (%+.1f…%+.1f)" % (mid, lo, hi)
