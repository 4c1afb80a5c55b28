"""Date arithmetic in the style of BIG-bench Date Understanding: multiple choice, MM/DD/YYYY.

A question states a day (today, yesterday or tomorrow) and asks for the date some days, weeks,
months or years away. The forward reasoning shows the day arithmetic month by month; the
backward question gives the resulting date and asks for the stated date or for the offset. The
hard split moves 125-160 days (or 18-23 weeks), so its reasoning crosses at least four month
ends where a regular problem crosses at most two.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from revthink.synthetic.draw import Draw
from revthink.synthetic.item import Family, Rendering
from revthink.synthetic.lexicon import capitalize, people

MONTHS = tuple(calendar.month_name)[1:]
FORMATS = {  # name shown to the reader -> how a date is written
    "YYYY-MM-DD": "{y:04d}-{m:02d}-{d:02d}", "MM/DD/YYYY": "{m:02d}/{d:02d}/{y:04d}",
    "Month D, YYYY": "{month} {d}, {y}", "D Month YYYY": "{d} {month} {y}",
}
ANCHOR_WORD = {-1: "yesterday", 0: "today", 1: "tomorrow"}
AMOUNTS = {"day": (2, 45), "week": (1, 6), "month": (1, 11), "year": (1, 5)}  # inclusive ranges
# 123 days is the longest four months (July to October): any longer move crosses four month ends
HARD_AMOUNTS = {"day": (125, 160), "week": (18, 23)}


@dataclass(frozen=True)
class DateFacts:
    today: date
    anchor: int  # the stated day relative to today: -1 yesterday, 0 today, 1 tomorrow
    unit: str  # "day" | "week" | "month" | "year"
    amount: int  # how many units away, >= 1
    sign: int  # +1 later, -1 earlier
    named: bool  # the offset is "tomorrow" / "yesterday" (one day)
    options: tuple[date, ...]
    answer: int  # index of the right option
    ask_amount: bool  # the backward question asks for the offset instead of the stated date

    @property
    def stated(self) -> date:
        return self.today + timedelta(days=self.anchor)

    @property
    def target(self) -> date:
        return shift(self.today, self.unit, self.sign * self.amount)


def shift(day: date, unit: str, n: int) -> date:
    """``day`` moved by ``n`` units; a month or year move keeps the day, clamped to the month."""
    if unit in ("day", "week"):
        return day + timedelta(days=n * (7 if unit == "week" else 1))
    months = day.month - 1 + n * (12 if unit == "year" else 1)
    year, month = day.year + months // 12, months % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def write(day: date, fmt: str) -> str:
    return FORMATS[fmt].format(y=day.year, m=day.month, d=day.day, month=MONTHS[day.month - 1])


def long(day: date) -> str:
    return write(day, "Month D, YYYY")


def units(n: int, unit: str) -> str:
    return f"{n} {unit}" + ("s" if n != 1 else "")


def _distractors(today: date, unit: str, offset: int, target: date) -> list[date]:
    """Dates a careless reader would pick: off by one, wrong direction, month or year slips."""
    near = [target + timedelta(days=1), target - timedelta(days=1), shift(today, unit, -offset),
            shift(target, "month", 1), shift(target, "month", -1), shift(target, "year", 1), today]
    if target.day <= 12:
        near.append(date(target.year, target.day, target.month))  # month and day swapped
    return list(dict.fromkeys(d for d in near if d != target))


def sample(draw: Draw) -> DateFacts:
    unit = draw.choice(("day", "day", "week", "month", "year"))
    named = unit == "day" and draw.chance(0.25)
    return _around(draw, unit, 1 if named else draw.between(*AMOUNTS[unit]), named)


def sample_hard(draw: Draw) -> DateFacts:
    unit = draw.choice(("day", "day", "week"))
    return _around(draw, unit, draw.between(*HARD_AMOUNTS[unit]), named=False)


def _around(draw: Draw, unit: str, amount: int, named: bool) -> DateFacts:
    """Facts for a move of ``amount`` units: direction, stated day, today and the options."""
    sign = draw.choice((1, -1))
    # "Tomorrow is X. What is the date tomorrow?" would be no question at all
    anchor = draw.choice((0, 0, -sign) if named else (0, 0, -1, 1))
    year, month = draw.between(1995, 2030), draw.between(1, 12)
    last = 28 if unit in ("month", "year") else calendar.monthrange(year, month)[1]
    today = date(year, month, draw.between(1, last))
    target = shift(today, unit, sign * amount)
    options = [target, *draw.sample(_distractors(today, unit, sign * amount, target),
                                    draw.between(3, 4))]
    options = draw.shuffled(options)
    return DateFacts(today, anchor, unit, amount, sign, named, tuple(options),
                     options.index(target), ask_amount=not named and draw.chance(0.5))


def steps(facts: DateFacts) -> int:
    """Lines of the forward move: a month or year move is one; a day move is its sum plus one
    line per month end crossed, and a week move also converts weeks to days."""
    if facts.named or facts.unit in ("month", "year"):
        return 1
    today, target = facts.today, facts.target
    crossed = abs((target.year - today.year) * 12 + target.month - today.month)
    return 1 + crossed + (facts.unit == "week")


# --- question wording -----------------------------------------------------------------------

STATED = {
    0: ("Today is {D}.", "It is {D} today.", "{name} checks the calendar: today is {D}."),
    -1: ("Yesterday was {D}.", "{name} says that yesterday was {D}."),
    1: ("Tomorrow will be {D}.", "{name} knows that tomorrow is {D}."),
}
ASK_NAMED = {
    1: ("What is the date tomorrow?", "What date will it be tomorrow?",
        "{name}'s {event} is tomorrow. On what date is it?"),
    -1: ("What was the date yesterday?", "What date was it yesterday?",
         "{name}'s {event} was yesterday. On what date was it?"),
}
ASK = {
    1: ("What is the date {n} from today?", "What date is {n} after today?",
        "What will the date be in {n}?", "{name}'s {event} is {n} from today. On what date is it?"),
    -1: ("What was the date {n} ago?", "What date was it {n} before today?",
         "{name}'s {event} was {n} ago. On what date was it?"),
}
EVENTS = ("birthday party", "trip", "exam", "concert", "dentist visit", "wedding", "match")
ANSWER_IN = ("Answer in MM/DD/YYYY.", "Give the date as MM/DD/YYYY.", "")
GIVEN_NAMED = {1: "Tomorrow will be {X}.", -1: "Yesterday was {X}."}
GIVEN = {
    1: ("{N} from today, the date will be {X}.", "The date {n} after today is {X}."),
    -1: ("{N} ago, the date was {X}.", "The date {n} before today was {X}."),
}
ASK_STATED = {0: "What is today's date?", -1: "What was the date yesterday?",
              1: "What will the date be tomorrow?"}
SOME = {1: "Some {u} from today, the date will be {X}. How many {u} from today is that?",
        -1: "Some {u} ago, the date was {X}. How many {u} ago was that?"}


@dataclass(frozen=True)
class Wording:
    """The forward question templates of one group of splits (``ASK_NAMED`` is the regular
    splits' alone: the hard split never asks for tomorrow or yesterday)."""

    stated: dict[int, tuple[str, ...]]
    ask: dict[int, tuple[str, ...]]
    answer_in: tuple[str, ...]


REGULAR = Wording(STATED, ASK, ANSWER_IN)
HELD_OUT = Wording(  # the hard split's only: a student cannot pass it on memorised phrasing
    stated={0: ("The calendar on the wall shows {D} as the current date.",
                "As of today, the date is {D}."),
            -1: ("The day before today was {D}.",
                 "{name} remembers that the previous day was {D}."),
            1: ("The day after today will be {D}.", "{name} notes that the coming day is {D}.")},
    ask={1: ("Which date falls {n} after today?",
             "{name}'s {event} is coming up in {n}. Which date is that?"),
         -1: ("Which date was exactly {n} earlier than today?",
              "{name}'s {event} took place {n} earlier. What was its date?")},
    answer_in=("Use the MM/DD/YYYY format.", "Reply with a date in MM/DD/YYYY form."),
)


def _questions(facts: DateFacts, q: Draw, fmt: str, templates: Wording) -> tuple[str, str]:
    """The forward question and the backward one, with every date written in ``fmt``."""
    slots = {"name": q.choice(people()).name, "event": q.choice(EVENTS),
             "n": units(facts.amount, facts.unit), "D": write(facts.stated, fmt),
             "X": write(facts.target, fmt), "u": facts.unit + "s"}
    stated = q.choice(templates.stated[facts.anchor]).format(**slots)
    asks = ASK_NAMED if facts.named else templates.ask
    ask = q.choice(asks[facts.sign]).format(**slots)
    question = " ".join(filter(None, [stated, ask, q.choice(templates.answer_in)]))
    if facts.ask_amount:
        backward = f"{stated} {SOME[facts.sign].format(**slots)}"
    else:
        given = (GIVEN_NAMED[facts.sign] if facts.named else q.choice(GIVEN[facts.sign]))
        given = capitalize(given.format(**slots, N=slots["n"]))
        backward = f"{given} {ASK_STATED[facts.anchor]} Write it as {fmt}."
    return question, backward


# --- reasoning wording ----------------------------------------------------------------------


def _month_label(year: int, month: int) -> str:
    return f"{MONTHS[month - 1]} {year}"


def _next_month(year: int, month: int, step: int) -> tuple[int, int]:
    months = year * 12 + month - 1 + step
    return months // 12, months % 12 + 1


def day_steps(start: date, days: int) -> str:
    """Move ``days`` (signed) from ``start``, carrying over month ends as a person would."""
    op = "+" if days > 0 else "-"
    n, year, month = start.day + days, start.year, start.month
    parts = [f"{start.day} {op} {abs(days)} = {n}."]
    while n > calendar.monthrange(year, month)[1]:
        length = calendar.monthrange(year, month)[1]
        year, month = _next_month(year, month, 1)
        parts.append(f"{_month_label(*_next_month(year, month, -1))} has {length} days, "
                     f"so it is day {n} - {length} = {n - length} of {_month_label(year, month)}.")
        n -= length
    while n < 1:
        year, month = _next_month(year, month, -1)
        length = calendar.monthrange(year, month)[1]
        parts.append(f"{_month_label(year, month)} has {length} days, "
                     f"so it is day {n} + {length} = {n + length} of {_month_label(year, month)}.")
        n += length
    parts.append(f"That is {long(date(year, month, n))}.")
    return " ".join(parts)


def move(start: date, unit: str, n: int) -> str:
    """Reasoning that moves ``n`` (signed) units from ``start``."""
    if unit == "week":
        return f"{units(abs(n), 'week')} is {abs(n)} * 7 = {abs(n) * 7} days. " + day_steps(
            start, n * 7)
    if unit == "day":
        return day_steps(start, n)
    end = shift(start, unit, n)
    word = "after" if n > 0 else "before"
    if unit == "year":
        return f"{units(abs(n), 'year')} {word} {start.year} is {end.year}, so {long(end)}."
    return (f"{units(abs(n), 'month')} {word} {_month_label(start.year, start.month)} is "
            f"{_month_label(end.year, end.month)}, so {long(end)}.")


def _today_line(facts: DateFacts) -> str:
    if facts.anchor == 0:
        return f"Today is {long(facts.today)}."
    verb = "was" if facts.anchor < 0 else "will be"
    return (f"{capitalize(ANCHOR_WORD[facts.anchor])} {verb} {long(facts.stated)}, so today is "
            f"{long(facts.today)}.")


def _forward_reasoning(facts: DateFacts, r: Draw) -> str:
    letter = chr(ord("A") + facts.answer)
    if facts.named:
        offset = ("Tomorrow is one day after today" if facts.sign > 0 else
                  "Yesterday was one day before today") + f": {long(facts.target)}."
    else:
        offset = move(facts.today, facts.unit, facts.sign * facts.amount)
    close = r.choice(("In MM/DD/YYYY that is {us}, option ({L}).",
                      "Written as MM/DD/YYYY: {us}, which is option ({L})."))
    close = close.format(us=write(facts.target, "MM/DD/YYYY"), L=letter)
    return f"{_today_line(facts)} {offset} {close} The answer is ({letter})."


def count_days(early: date, late: date) -> str:
    """Days from ``early`` to ``late``, month by month."""
    total = (late - early).days
    if (early.year, early.month) == (late.year, late.month):
        return f"From {long(early)} to {long(late)} is {late.day} - {early.day} = {total} days."
    length = calendar.monthrange(early.year, early.month)[1]
    terms = [length - early.day]
    parts = [f"From {long(early)} to the end of {MONTHS[early.month - 1]} is {length} - "
             f"{early.day} = {units(terms[0], 'day')}."]
    year, month = _next_month(early.year, early.month, 1)
    while (year, month) != (late.year, late.month):
        terms.append(calendar.monthrange(year, month)[1])
        parts.append(f"{_month_label(year, month)} adds {terms[-1]} days.")
        year, month = _next_month(year, month, 1)
    terms.append(late.day)
    parts.append(f"Then {units(late.day, 'day')} more reach {long(late)}.")
    parts.append(f"In total {' + '.join(map(str, terms))} = {total} days.")
    return " ".join(parts)


def count(early: date, late: date, unit: str) -> str:
    """Reasoning for how many ``unit``s lie between two dates."""
    if unit == "day":
        return count_days(early, late)
    if unit == "week":
        days = (late - early).days
        return f"{count_days(early, late)} {days} / 7 = {days // 7} weeks."
    if unit == "year":
        return f"{late.year} - {early.year} = {late.year - early.year} years."
    if early.year == late.year:
        return (f"{MONTHS[late.month - 1]} is month {late.month} and {MONTHS[early.month - 1]} is "
                f"month {early.month}: {late.month} - {early.month} = {late.month - early.month} "
                "months.")
    rest = 12 - early.month
    return (f"From {_month_label(early.year, early.month)} to the end of {early.year} is 12 - "
            f"{early.month} = {rest} months, and {MONTHS[late.month - 1]} is month {late.month} "
            f"of {late.year}, so {rest} + {late.month} = {rest + late.month} months.")


def _backward_reasoning(facts: DateFacts, fmt: str) -> tuple[str, str]:
    """Reasoning for the backward question and its answer (the offset or the stated date)."""
    if facts.ask_amount:
        early, late = sorted((facts.today, facts.target))
        text = f"{_today_line(facts)} {count(early, late, facts.unit)}"
        return f"{text} The answer is {facts.amount}.", str(facts.amount)
    lines = [f"The later date is {long(facts.target)}." if facts.sign > 0
             else f"The earlier date is {long(facts.target)}."]
    if facts.named:
        lines.append(f"It is {ANCHOR_WORD[facts.sign]}, so today is {long(facts.today)}.")
    else:
        back = move(facts.target, facts.unit, -facts.sign * facts.amount)
        lines.append(f"Going back the other way: {back}")
        lines.append(f"So today is {long(facts.today)}.")
    if facts.anchor:
        verb = "was" if facts.anchor < 0 else "will be"
        lines.append(f"So {ANCHOR_WORD[facts.anchor]} {verb} {long(facts.stated)}.")
    answer = write(facts.stated, fmt)
    lines.append(f"As {fmt}: {answer}. The answer is {answer}.")
    return " ".join(lines), answer


def render(facts: DateFacts, q: Draw, r: Draw, held_out: bool) -> Rendering:
    fmt = q.choice(tuple(FORMATS))
    question, backward_question = _questions(facts, q, fmt, HELD_OUT if held_out else REGULAR)
    backward_reasoning, backward_answer = _backward_reasoning(facts, fmt)
    options = tuple(write(d, "MM/DD/YYYY") for d in facts.options)
    return Rendering(
        question=question, answer=chr(ord("A") + facts.answer), answer_type="choice",
        forward_reasoning=_forward_reasoning(facts, r), backward_question=backward_question,
        backward_reasoning=backward_reasoning, backward_answer=backward_answer, options=options,
    )


def key(facts: DateFacts) -> str:
    return repr((facts.today, facts.anchor, facts.unit, facts.amount, facts.sign, facts.named))


FAMILY = Family("dates", sample, render, key, sample_hard, steps)
